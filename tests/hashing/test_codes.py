import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.hashing import hamming_distances, pack_codes, unpack_codes


def test_pack_unpack_round_trip_for_odd_bit_lengths():
    rng = np.random.default_rng(0)
    for bits in (1, 7, 16, 33, 64):
        relaxed = rng.normal(size=(5, bits))
        packed = pack_codes(relaxed)
        assert packed.shape == (5, (bits + 7) // 8) and packed.dtype == np.uint8
        signs = unpack_codes(packed, bits)
        assert np.array_equal(signs, np.where(relaxed >= 0, 1, -1))


def test_zero_maps_to_plus_one_and_msb_first():
    packed = pack_codes(np.array([[0.0, -1, -1, -1, -1, -1, -1, 1.0]]))
    assert packed[0, 0] == 0b10000001


def test_hamming_matches_bitwise_reference():
    rng = np.random.default_rng(1)
    bits = 48
    q_signs = rng.integers(0, 2, size=(6, bits))
    d_signs = rng.integers(0, 2, size=(20, bits))
    reference = (q_signs[:, None, :] != d_signs[None, :, :]).sum(axis=2)
    got = hamming_distances(pack_codes(q_signs - 0.5), pack_codes(d_signs - 0.5))
    assert np.array_equal(got, reference)


def test_width_mismatch_and_wrong_dtype_are_input_errors():
    with pytest.raises(InputError, match="code widths differ"):
        hamming_distances(np.zeros((1, 2), np.uint8), np.zeros((1, 4), np.uint8))
    with pytest.raises(InputError, match="uint8"):
        hamming_distances(np.zeros((1, 2)), np.zeros((1, 2), np.uint8))
