"""CCA hashing: the sign of regularised CCA projections, the linear cross-modal hashing baseline.

Both views are projected on the first b canonical directions (:mod:`scicmr.methods.common_space.cca`, scaled
by their correlations and L2-normalised); those real vectors are the relaxed codes, and their
signs the b-bit binary codes (the "CCA" baseline of the cross-modal hashing literature, e.g.
CCA-ITQ without the ITQ rotation). Training is closed-form, so it is the quick reference a deep
hashing method (DCMH, …) must beat at the same code length, and a fast hashing model for tests.
"""

from __future__ import annotations

from scicmr.hashing.base import HashingMixin, check_bits
from scicmr.methods.common_space.cca import CCAMethod


class CCAHash(HashingMixin, CCAMethod):
    """Args: n_bits (b <= min(d_img, d_txt)); reg: CCA's relative ridge."""

    name = "cca-hash"

    def __init__(self, n_bits: int = 32, reg: float = 0.5):
        self._init_params(locals())

    # CCA's own parameters, fixed for hashing: b components, correlation-scaled, unit length.
    scale_by_correlation = True
    power = 1.0
    normalize = True

    @property
    def n_components(self) -> int:
        return check_bits(self.n_bits)
