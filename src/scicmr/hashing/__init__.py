"""Binary hash codes: packing, Hamming distances and (in submodules) indexes and methods."""

from scicmr.hashing.codes import hamming_distances, pack_codes, unpack_codes

__all__ = ["hamming_distances", "pack_codes", "unpack_codes"]
