"""Binary hash codes: packing, Hamming distances, and the hashing contract (the low layer that
indexes, metrics, cleaning and the hashing methods share).

- :mod:`scicmr.hashing.codes` — pack_codes / unpack_codes / hamming_distances.
- :mod:`scicmr.hashing.base` — what a code-producing model promises (``produces_codes``,
  ``n_bits``, ``codes_image`` / ``codes_text`` / ``codes``) and :class:`HashingMixin`.

The hashing *methods* (CCA-hash, DCMH, ADHN, …) live in :mod:`scicmr.methods.hashing`; Hamming
indexes in :mod:`scicmr.index.hamming`, hashing metrics in
:mod:`scicmr.evaluation.hashing_metrics`.
"""

from scicmr.hashing.base import HashingMixin, model_bits, produces_codes
from scicmr.hashing.codes import hamming_distances, pack_codes, unpack_codes

__all__ = ["HashingMixin", "hamming_distances", "model_bits", "pack_codes", "produces_codes", "unpack_codes"]
