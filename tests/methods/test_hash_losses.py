"""Cross-modal hashing losses and helpers against hand-computed values."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scicmr.methods.hashing.losses import (  # noqa: E402
    bit_balance_loss,
    dcmh_objective,
    generator_reward,
    masked_region_loss,
    masked_token_loss,
    pair_similarity,
    pairwise_likelihood_loss,
    policy_gradient_loss,
    quantisation_loss,
    relevance_log_probs,
    squared_distances,
    triplet_hash_score,
)
from scicmr.methods.hashing.base import semi_supervised_labels  # noqa: E402
from scicmr.methods.hashing.mask_hash_transformer import chunk_tokens, kmeans, random_mask  # noqa: E402


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_pairwise_likelihood_by_hand():
    # Θ = ½ F Gᵀ = ½ [1·1 + 1·(−1), 1·1 + 1·1] = [0, 1]
    # S = [0, 1]: log(1 + e⁰) − 0 = log 2;  log(1 + e¹) − 1 = 0.3132617
    F, G, S = t([[1, 1]]), t([[1, -1], [1, 1]]), t([[0, 1]])
    expected = math.log(2) + math.log(1 + math.e) - 1
    assert float(pairwise_likelihood_loss(F, G, S)) == pytest.approx(expected, rel=1e-6)
    # W masks the first (unknown) pair out
    assert float(pairwise_likelihood_loss(F, G, S, t([[0, 1]]))) == pytest.approx(math.log(1 + math.e) - 1, rel=1e-6)


def test_quantisation_balance_and_dcmh_objective_by_hand():
    F, G, B = t([[0.5, -0.5]]), t([[1, -1], [1, 1]]), t([[1, -1]])
    assert float(quantisation_loss(B, F)) == pytest.approx(0.25 + 0.25)
    assert float(bit_balance_loss(t([2, -1]))) == pytest.approx(5.0)
    # Θ = ½ [0.5 + 0.5, 0.5 − 0.5] = [0.5, 0]; S = [1, 0]
    # J₁ = (log(1 + e^0.5) − 0.5) + log 2 = 1.1672236; γ = 2 → +1; η = 0.5 → +2.5
    expected = math.log(1 + math.exp(0.5)) - 0.5 + math.log(2) + 2 * 0.5 + 0.5 * 5
    got = dcmh_objective(F, G, t([[1, 0]]), None, B, t([2, -1]), gamma=2.0, eta=0.5)
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_pairwise_likelihood_against_loop():
    rng = np.random.default_rng(0)
    F, G = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (5, 4))
    S, W = rng.integers(0, 2, (3, 5)), rng.integers(0, 2, (3, 5))
    expected = sum(W[i, j] * (math.log1p(math.exp(0.5 * F[i] @ G[j])) - S[i, j] * 0.5 * F[i] @ G[j])
                   for i in range(3) for j in range(5))
    assert float(pairwise_likelihood_loss(t(F), t(G), t(S), t(W))) == pytest.approx(expected, rel=1e-5)


def test_pair_similarity_semi_supervised_and_unsupervised():
    # query 1 is unlabelled: it knows only its own pair (candidate 1); candidate 2 is unlabelled
    q, c = t([[1, 0], [0, 0]]), t([[1, 1], [0, 1], [0, 0]])
    S, W = pair_similarity(q, c, torch.tensor([0, 1]), torch.tensor([0, 1, 2]))
    assert S.tolist() == [[1, 0, 0], [0, 1, 0]]
    assert W.tolist() == [[1, 1, 0], [0, 1, 0]]
    S, W = pair_similarity(None, None, torch.tensor([0, 1]), torch.tensor([0, 1, 2]))
    assert S.tolist() == [[1, 0, 0], [0, 1, 0]] and W.tolist() == [[1, 1, 1], [1, 1, 1]]


def test_generator_relevance_and_discriminator_scores_by_hand():
    # distances 1 and 4 → log softmax(−1, −4) with τ = 1
    log_p = relevance_log_probs(t([[0, 0]]), t([[1, 0], [2, 0]]), 1.0)
    expected = [-math.log1p(math.exp(-3)), -3 - math.log1p(math.exp(-3))]
    np.testing.assert_allclose(log_p.numpy()[0], expected, rtol=1e-6)
    # per-query candidate sets give the same numbers
    per_query = relevance_log_probs(t([[0, 0]]), t([[[1, 0], [2, 0]]]), 1.0)
    np.testing.assert_allclose(per_query.numpy(), log_p.numpy(), rtol=1e-6)
    # f = max(0, m + ‖q − d⁺‖² − ‖q − d‖²): m = 1, ‖q − d⁺‖² = 1; ‖q − d‖² = 4 → 0, = 1 → 1
    scores = triplet_hash_score(t([[0, 0], [0, 0]]), t([[1, 0], [1, 0]]), t([[2, 0], [0, 1]]), 1.0)
    assert scores.tolist() == [0.0, 1.0]
    np.testing.assert_allclose(generator_reward(scores).numpy(), [math.log(2), math.log(1 + math.e)], rtol=1e-6)
    # rewards [1, 3], baseline 2 → advantages [−1, 1]; −mean(−1·−1, −2·1) = 0.5
    assert float(policy_gradient_loss(t([-1, -2]), t([1, 3]))) == pytest.approx(0.5)


def test_squared_distances_against_loop():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(6, 3))
    expected = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(squared_distances(t(a), t(b)).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_masked_losses_by_hand():
    pred, target = t([[[1, 1], [0, 0]]]), torch.zeros(1, 2, 2)
    # only region 0 masked: (1² + 1²) / (1 region · 2 dims) = 1
    assert float(masked_region_loss(pred, target, torch.tensor([[True, False]]))) == pytest.approx(1.0)
    # both masked: (2 + 0) / (2 · 2) = 0.5
    assert float(masked_region_loss(pred, target, torch.tensor([[True, True]]))) == pytest.approx(0.5)
    assert float(masked_region_loss(pred, target, torch.tensor([[False, False]]))) == 0.0
    # token 1 masked, logits [ln 3, 0], class 0 → −log(3/4)
    logits = t([[[0, 0], [math.log(3), 0]]])
    loss = masked_token_loss(logits, torch.tensor([[0, 0]]), torch.tensor([[False, True]]))
    assert float(loss) == pytest.approx(-math.log(0.75), rel=1e-6)


def test_semi_supervised_labels():
    got = semi_supervised_labels(np.array([2, -1, 0, 2]))
    np.testing.assert_array_equal(got, [[0, 1], [0, 0], [1, 0], [0, 1]])
    np.testing.assert_array_equal(semi_supervised_labels(np.array([1.0, np.nan])), [[1], [0]])
    plain = np.array([0, 1, 1])
    assert semi_supervised_labels(plain) is plain and semi_supervised_labels(None) is None


def test_tokens_masks_and_codebook():
    tokens = chunk_tokens(t([[1, 2, 3, 4, 5]]), 2)
    assert tokens.tolist() == [[[1, 2, 3], [4, 5, 0]]]
    torch.manual_seed(0)
    mask = random_mask(5, 8, 0.25, "cpu")
    assert mask.sum(1).tolist() == [2] * 5
    assert not random_mask(3, 4, 0.0, "cpu").any()
    points = torch.cat([torch.randn(20, 2) * 0.1, torch.randn(20, 2) * 0.1 + 5])
    centres = kmeans(points, 2)
    assert sorted(np.round(centres.numpy().mean(1)).tolist()) == [0.0, 5.0]


@pytest.mark.parametrize("bits", [12, 16, 24, 32])
def test_validation_score_of_signs_is_hamming_ranking_map(bits):
    # The methods validate with cosine full mAP of sign vectors; it must equal Hamming-ranking
    # mAP (cos = 1 − 2·hamming / bits, ties by index in both), for any number of bits.
    from scicmr.evaluation.hashing_metrics import hamming_metrics
    from scicmr.evaluation.metrics import retrieval_metrics
    from scicmr.hashing.codes import pack_codes
    from scicmr.methods.hashing.base import sign_vectors

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(30, bits)), rng.normal(size=(40, bits))
    la, lb = rng.integers(0, 3, 30), rng.integers(0, 3, 40)
    cosine = retrieval_metrics(sign_vectors(a), sign_vectors(b), la, lb, ks=(), dtype=np.float64)["map"]
    hamming = hamming_metrics(pack_codes(a), pack_codes(b), la, lb)["map"]
    assert cosine == hamming
