"""Binary hash codes: packing, Hamming distances, the hashing contract, and image hashers.

- :mod:`scicmr.hashing.codes` — pack_codes / unpack_codes / hamming_distances.
- :mod:`scicmr.hashing.base` — what a code-producing model promises (``produces_codes``,
  ``n_bits``, ``codes_image`` / ``codes_text`` / ``codes``) and :class:`HashingMixin`.
- :mod:`scicmr.methods.hashing.adhn` — ADHN, attention deep hashing of query images (loads torch).
- :mod:`scicmr.hashing.registry` — the image-hasher registry (``adhn``).

Hamming indexes live in :mod:`scicmr.index.hamming`, hashing metrics in
:mod:`scicmr.evaluation.hashing_metrics`.
"""

from scicmr.hashing.base import HashingMixin, model_bits, produces_codes
from scicmr.hashing.codes import hamming_distances, pack_codes, unpack_codes

__all__ = ["HashingMixin", "hamming_distances", "model_bits", "pack_codes", "produces_codes", "unpack_codes"]
