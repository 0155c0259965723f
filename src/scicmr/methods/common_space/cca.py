"""Regularised linear CCA in closed form: the baseline every seed paper compares against.

Textbook solution (Hotelling 1936; Hardoon et al. 2004), not scikit-learn's iterative PLS:

1. centre both views with the training means m_x, m_y;
2. C_xx = X_cᵀX_c/(n-1) + r_x I,  C_yy = Y_cᵀY_c/(n-1) + r_y I,  C_xy = X_cᵀY_c/(n-1);
3. whiten: W_x = C_xx^{-1/2}, W_y = C_yy^{-1/2} (symmetric inverse square roots via ``eigh``);
4. SVD of the whitened cross-covariance  W_x C_xy W_y = U diag(ρ) Vᵀ;
5. keep k components: A = W_x U_k, B = W_y V_k; ρ_1 ≥ … ≥ ρ_k are the canonical correlations.

Projections: image → (x - m_x) A · diag(ρ)^power, text → (y - m_y) B · diag(ρ)^power, then
L2-normalised, so the inner product of two outputs is their cosine similarity (the usual
"normalised correlation" retrieval of CCA on the Wikipedia benchmark; Rasiwasia et al. 2010).

Regularisation is relative: r_x = reg · trace(C_xx)/d_x (the mean feature variance), so one
``reg`` suits features of any scale; reg = 1 adds as much to each variance as the average
variance itself. The defaults (``reg=0.5``, ``scale_by_correlation=True``, ``power=1``) were
picked on validation splits carved from the 2,173 Wikipedia training pairs (10 random 80/20
carves, mean of i2t and t2i full mAP: reg 0.5 / power 1 → 0.246, reg 1e-3 / power 1 → 0.234,
reg 1e-3 unscaled → 0.221). Scaling by ρ weights the strongly correlated directions more,
which the cosine of whitened (unscaled) projections ignores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_write_bytes
from scicmr.errors import InputError
from scicmr.methods.base import CrossModalMethod

_STATE_FILE = "cca_state.npz"
_STATE_KEYS = ("image_mean_", "text_mean_", "image_weights_", "text_weights_", "correlations_")


def inverse_sqrt(matrix: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """Symmetric inverse square root of a symmetric positive-definite (d, d) matrix (float64).

    Eigenvalues below ``floor`` (round-off on a singular matrix) are clipped, never inverted.
    """
    values, vectors = np.linalg.eigh(matrix)
    values = np.maximum(values, floor)
    return (vectors / np.sqrt(values)) @ vectors.T


def _regularised_cov(centred: np.ndarray, reg: float) -> np.ndarray:
    n, d = centred.shape
    cov = centred.T @ centred / max(n - 1, 1)
    scale = np.trace(cov) / d
    # A constant view has trace 0; fall back to an absolute ridge so the inverse exists.
    ridge = reg * (scale if scale > 0 else 1.0)
    return cov + ridge * np.eye(d)


def solve_cca(X: np.ndarray, Y: np.ndarray, n_components: int, reg: float) -> dict[str, np.ndarray]:
    """Closed-form regularised CCA.

    Args:
        X: (n, d_x), Y: (n, d_y) paired rows (any float dtype; computed in float64).
        n_components: k ≤ min(d_x, d_y).
        reg: relative ridge (see the module docstring).

    Returns:
        dict with ``image_mean_`` (d_x,), ``text_mean_`` (d_y,), ``image_weights_`` (d_x, k),
        ``text_weights_`` (d_y, k) and ``correlations_`` (k,) descending.
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    mx, my = X.mean(axis=0), Y.mean(axis=0)
    Xc, Yc = X - mx, Y - my
    Wx = inverse_sqrt(_regularised_cov(Xc, reg))
    Wy = inverse_sqrt(_regularised_cov(Yc, reg))
    cross = Xc.T @ Yc / max(len(X) - 1, 1)
    U, rho, Vt = np.linalg.svd(Wx @ cross @ Wy, full_matrices=False)
    k = int(n_components)
    A, B = Wx @ U[:, :k], Wy @ Vt[:k].T
    # SVD signs are arbitrary; pin them (largest |weight| of each image direction positive)
    # so two fits of the same data give the same weights on any LAPACK.
    signs = np.sign(A[np.abs(A).argmax(axis=0), np.arange(k)])
    signs[signs == 0] = 1.0
    return {
        "image_mean_": mx,
        "text_mean_": my,
        "image_weights_": A * signs,
        "text_weights_": B * signs,
        "correlations_": np.clip(rho[:k], 0.0, 1.0),
    }


class CCAMethod(CrossModalMethod):
    """Regularised linear CCA (closed form) mapping both views to k shared dimensions.

    Args:
        n_components: k; None → min(d_img, d_txt, 128).
        reg: relative ridge r = reg · trace(C)/d added to each view's covariance (> 0 keeps
            the whitening stable when d is close to n or features are collinear).
        scale_by_correlation: multiply component j by ρ_j^power before normalising.
        power: exponent of that scaling (0 is the same as no scaling).
        normalize: L2-normalise outputs (inner product = cosine; the retrieval score).

    Learned state: ``image_mean_``, ``text_mean_``, ``image_weights_`` (d_img, k),
    ``text_weights_`` (d_txt, k), ``correlations_`` (k,).
    """

    name = "cca"

    def __init__(
        self,
        n_components: int | None = None,
        reg: float = 0.5,
        scale_by_correlation: bool = True,
        power: float = 1.0,
        normalize: bool = True,
    ):
        self._init_params(locals())

    def _fit(self, X, Y, L, validation, **side) -> None:
        limit = min(X.shape[1], Y.shape[1])
        k = min(limit, 128) if self.n_components is None else int(self.n_components)
        if not 1 <= k <= limit:
            raise InputError(
                f"n_components={self.n_components} is out of range for features of "
                f"{X.shape[1]} and {Y.shape[1]} dimensions",
                fix=f"choose 1 <= n_components <= {limit}, or None for min(dims, 128)",
            )
        if not float(self.reg) >= 0:
            raise InputError(
                f"reg must be >= 0, got {self.reg}", fix="use a non-negative value such as the default 0.5"
            )
        for key, value in solve_cca(X, Y, k, float(self.reg)).items():
            setattr(self, key, value)

    def _project(self, features: np.ndarray, mean: np.ndarray, weights: np.ndarray) -> np.ndarray:
        Z = (np.asarray(features, dtype=np.float64) - mean) @ weights
        if self.scale_by_correlation:
            Z = Z * self.correlations_ ** float(self.power)
        if self.normalize:
            Z = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
        return Z.astype(np.float32)

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        return self._project(X, self.image_mean_, self.image_weights_)

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        return self._project(Y, self.text_mean_, self.text_weights_)

    def _save_state(self, directory: Path) -> list[str]:
        import io

        buffer = io.BytesIO()
        np.savez(buffer, **{key: getattr(self, key) for key in _STATE_KEYS})
        atomic_write_bytes(directory / _STATE_FILE, buffer.getvalue())
        return [_STATE_FILE]

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        with np.load(directory / _STATE_FILE, allow_pickle=False) as state:
            for key in _STATE_KEYS:
                setattr(self, key, state[key])
