"""Closed-form regularised CCA: planted correlations, whitening, retrieval, persistence, errors."""

import numpy as np
import pytest
import scipy.linalg

from scicmr.errors import InputError, NotFittedError
from scicmr.methods import create_method, load_method
from scicmr.methods.common_space.cca import CCAMethod, inverse_sqrt, solve_cca


def planted_views(n, seed=0, noise=0.5, dx=8, dy=6, latent=3):
    """Two views = different random linear maps of a shared latent z, plus isotropic noise.

    Returns X (n, dx), Y (n, dy), z (n, latent), and the population covariances.
    """
    rng = np.random.default_rng(seed)
    A, B = rng.normal(size=(latent, dx)), rng.normal(size=(latent, dy))
    z = rng.normal(size=(n, latent))
    X = z @ A + noise * rng.normal(size=(n, dx)) + 3.0  # offsets: centring must matter
    Y = z @ B + noise * rng.normal(size=(n, dy)) - 1.0
    cov = {
        "xx": A.T @ A + noise**2 * np.eye(dx),
        "yy": B.T @ B + noise**2 * np.eye(dy),
        "xy": A.T @ B,
    }
    return X, Y, z, cov


def reference_correlations(cxx, cyy, cxy):
    """Canonical correlations from the generalised eigenproblem
    C_xy C_yy^{-1} C_yx a = ρ² C_xx a (a different route from whitening + SVD)."""
    M = cxy @ np.linalg.solve(cyy, cxy.T)
    values = scipy.linalg.eigh(M, cxx, eigvals_only=True)[::-1]
    return np.sqrt(np.clip(values, 0, None))


def test_recovers_population_canonical_correlations():
    X, Y, _, cov = planted_views(20000, seed=1)
    truth = reference_correlations(cov["xx"], cov["yy"], cov["xy"])[:6]
    model = CCAMethod(reg=0.0).fit(X, Y)
    assert model.correlations_.shape == (6,)
    # 3 shared dimensions: the planted correlations are recovered; the null ones only carry
    # the sampling bias of ~sqrt(d/n) ≈ 0.02 (the population value is 0).
    np.testing.assert_allclose(model.correlations_[:3], truth[:3], atol=0.01)
    assert truth[:3].min() > 0.5 and np.abs(truth[3:]).max() < 1e-6
    assert model.correlations_[3:].max() < 0.05


def test_matches_generalised_eigen_reference_on_sample_covariances():
    X, Y, _, _ = planted_views(300, seed=2)
    reg = 0.1
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    cxx, cyy = Xc.T @ Xc / 299, Yc.T @ Yc / 299
    cxx += reg * np.trace(cxx) / 8 * np.eye(8)  # the documented relative ridge
    cyy += reg * np.trace(cyy) / 6 * np.eye(6)
    expected = reference_correlations(cxx, cyy, Xc.T @ Yc / 299)[:6]
    np.testing.assert_allclose(solve_cca(X, Y, 6, reg)["correlations_"], expected, atol=1e-10)


def test_projected_train_views_are_whitened_and_uncorrelated_across_components():
    X, Y, _, _ = planted_views(500, seed=3)
    model = CCAMethod(reg=0.0, scale_by_correlation=False, normalize=False).fit(X, Y)
    Zx, Zy = model.transform_image(X).astype(np.float64), model.transform_text(Y).astype(np.float64)
    Zx, Zy = Zx - Zx.mean(0), Zy - Zy.mean(0)
    k = Zx.shape[1]
    np.testing.assert_allclose(Zx.T @ Zx / 499, np.eye(k), atol=1e-4)
    np.testing.assert_allclose(Zy.T @ Zy / 499, np.eye(k), atol=1e-4)
    # cross-covariance is diagonal with the canonical correlations on it
    np.testing.assert_allclose(Zx.T @ Zy / 499, np.diag(model.correlations_), atol=1e-4)
    assert np.all(np.diff(model.correlations_) <= 1e-12)


def test_inverse_sqrt_against_definition():
    rng = np.random.default_rng(4)
    M = rng.normal(size=(5, 5))
    C = M @ M.T + np.eye(5)
    W = inverse_sqrt(C)
    np.testing.assert_allclose(W @ C @ W, np.eye(5), atol=1e-10)
    np.testing.assert_allclose(W, W.T, atol=1e-12)


def _top1_pair_accuracy(q, c):
    """Share of queries whose own pair (same row) is the best-scoring candidate; slow loop."""
    hits = 0
    for i in range(len(q)):
        scores = [float(q[i] @ c[j]) for j in range(len(c))]
        hits += int(max(range(len(c)), key=lambda j: (scores[j], -j)) == i)
    return hits / len(q)


def test_retrieval_on_held_out_planted_pairs_far_above_chance():
    X, Y, _, _ = planted_views(1200, seed=5, noise=0.3)
    model = CCAMethod().fit(X[:1000], Y[:1000])
    img, txt = model.transform_image(X[1000:]), model.transform_text(Y[1000:])
    assert img.dtype == np.float32 and img.shape == (200, 6)
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    chance = 1 / 200
    assert _top1_pair_accuracy(img, txt) > 40 * chance
    assert _top1_pair_accuracy(txt, img) > 40 * chance


def test_defaults_and_n_components():
    X, Y, _, _ = planted_views(100, seed=6)
    assert CCAMethod().fit(X, Y).image_weights_.shape == (8, 6)  # min(dx, dy, 128)
    model = CCAMethod(n_components=2).fit(X, Y)
    assert model.transform_text(Y).shape == (100, 2)
    with pytest.raises(InputError):
        CCAMethod(n_components=7).fit(X, Y)
    with pytest.raises(InputError):
        CCAMethod(reg=-1).fit(X, Y)


def test_scaling_by_correlation_power():
    X, Y, _, _ = planted_views(300, seed=7)
    raw = CCAMethod(normalize=False, scale_by_correlation=False).fit(X, Y)
    scaled = CCAMethod(normalize=False, power=2.0).fit(X, Y)
    np.testing.assert_allclose(
        scaled.transform_image(X), raw.transform_image(X) * raw.correlations_**2, rtol=1e-5, atol=1e-6
    )


def test_deterministic_and_save_load_bit_identical(tmp_path):
    X, Y, _, _ = planted_views(200, seed=8)
    first = CCAMethod(n_components=4).fit(X, Y)
    again = CCAMethod(n_components=4).fit(X, Y)
    assert np.array_equal(first.transform_image(X), again.transform_image(X))
    first.save(tmp_path / "cca")
    loaded = load_method(tmp_path / "cca")
    assert isinstance(loaded, CCAMethod) and loaded.get_params() == first.get_params()
    assert np.array_equal(loaded.transform_image(X), first.transform_image(X))
    assert np.array_equal(loaded.transform_text(Y), first.transform_text(Y))


def test_registry_creates_cca():
    assert isinstance(create_method("cca", reg=0.1), CCAMethod)


def test_errors_name_the_problem():
    X, Y, _, _ = planted_views(50, seed=9)
    with pytest.raises(NotFittedError):
        CCAMethod().transform_image(X)
    with pytest.raises(InputError, match="rows"):
        CCAMethod().fit(X, Y[:-1])
    model = CCAMethod().fit(X, Y)
    with pytest.raises(InputError, match="columns"):
        model.transform_image(Y)
    with pytest.raises(InputError, match="columns"):
        model.transform_text(X)
