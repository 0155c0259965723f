"""Word-vector encoders (CBOW, skip-gram, GloVe): corpus helpers against slow loops, hand-written
updates against autograd, planted co-occurrence structure, pooling, persistence, errors."""

import math
from collections import defaultdict

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import scicmr.encoders as encoders  # noqa: E402
from scicmr.encoders import load_encoder  # noqa: E402
from scicmr.encoders.wordvec import (  # noqa: E402
    CbowEncoder,
    GloveEncoder,
    SkipGramEncoder,
    adagrad_rows,
    build_vocabulary,
    context_windows,
    cooccurrence,
    glove_loss,
    glove_step,
    hidden_vectors,
    idf_weights,
    negative_sampler,
    negative_sampling_loss,
    sgns_step,
    subsample,
)
from scicmr.errors import InputError, NotFittedError  # noqa: E402

torch.set_num_threads(1)

CLASSES = {"skipgram": SkipGramEncoder, "cbow": CbowEncoder, "glove": GloveEncoder}
FAST = {
    "skipgram": dict(vector_size=16, window=2, min_count=1, sample=0.0, epochs=15, batch_size=64, seed=0),
    "cbow": dict(vector_size=16, window=2, min_count=1, sample=0.0, epochs=25, lr=0.05, batch_size=32, seed=0),
    "glove": dict(vector_size=16, window=2, min_count=1, x_max=5.0, epochs=60, batch_size=64, seed=0),
}
TARGETS_A = ["apple", "apricot", "avocado", "almond"]
TARGETS_B = ["brick", "basalt", "bronze", "boulder"]


def planted_corpus(n=240, seed=0):
    """Sentences "c c TARGET c c": group-A targets only ever sit among group-A context words
    (fruit words), group-B targets among group-B ones (stone words). Two targets never meet, so
    any similarity between them comes from the contexts they share."""
    rng = np.random.default_rng(seed)
    contexts = {"a": ["juicy", "sweet", "orchard", "ripe", "peel", "harvest"],
                "b": ["quarry", "granite", "heavy", "masonry", "chisel", "solid"]}
    texts = []
    for i in range(n):
        group = "a" if i % 2 == 0 else "b"
        target = rng.choice(TARGETS_A if group == "a" else TARGETS_B)
        words = list(rng.choice(contexts[group], 4))
        texts.append(" ".join(words[:2] + [str(target)] + words[2:]))
    return texts


def cos(u, v):
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


@pytest.fixture(scope="module")
def fitted():
    texts = planted_corpus()
    return {name: cls(**FAST[name]).fit(texts) for name, cls in CLASSES.items()}


# ----------------------------------------------------------------------------- corpus helpers
def test_build_vocabulary_orders_by_count_then_word():
    words, counts = build_vocabulary([["b", "a", "c", "b"], ["a", "d", "b"]], min_count=2, max_vocab=None)
    assert words == ["b", "a"] and counts.tolist() == [3, 2]
    words, _ = build_vocabulary([["b", "a", "c", "b"], ["a", "d", "b"]], min_count=1, max_vocab=3)
    assert words == ["b", "a", "c"]  # c and d tie at 1: alphabetical


def test_context_windows_match_slow_loop():
    sequences = [np.array([5, 1, 2, 3, 4, 0, 7]), np.array([9]), np.array([6, 8, 6])]
    window = 3
    centres, contexts = context_windows(sequences, window, np.random.default_rng(7))
    # slow reference: the same draws of the dynamic window, then an explicit double loop
    reach = np.random.default_rng(7).integers(1, window + 1, size=11)
    expected_c, expected_ctx, flat_pos = [], [], 0
    for seq in sequences:
        for p in range(len(seq)):
            row = []
            for offset in [o for o in range(-window, window + 1) if o != 0]:
                q = p + offset
                row.append(int(seq[q]) if 0 <= q < len(seq) and abs(offset) <= reach[flat_pos] else -1)
            if any(x >= 0 for x in row):
                expected_c.append(int(seq[p]))
                expected_ctx.append(row)
            flat_pos += 1
    assert centres.tolist() == expected_c and contexts.tolist() == expected_ctx
    assert 9 not in centres  # a one-word text has no context


def test_cooccurrence_matches_slow_loop():
    sequences = [np.array([0, 1, 2, 1]), np.array([2, 0])]
    rows, cols, values = cooccurrence(sequences, 2, 3)
    slow = defaultdict(float)
    for seq in sequences:
        for p in range(len(seq)):
            for q in range(len(seq)):
                if 0 < abs(p - q) <= 2:
                    slow[(int(seq[p]), int(seq[q]))] += 1.0 / abs(p - q)
    got = {(int(i), int(j)): float(x) for i, j, x in zip(rows, cols, values)}
    assert got == pytest.approx(dict(slow))
    # by hand: 0–1 at distance 1 (1) and 0–1 at distance 3 (out of window); 0–2 at distance 2 (½)
    # in text one and distance 1 (1) in text two → X[0, 2] = 1.5
    assert got[(0, 2)] == pytest.approx(1.5) and got[(0, 1)] == pytest.approx(1.0)


def test_subsample_keep_probability_and_off_switch():
    counts = np.array([900, 100])
    seq = [np.array([0] * 900 + [1] * 100)]
    assert subsample(seq, counts, 0.0, np.random.default_rng(0))[0] is seq[0]
    kept = np.concatenate([subsample(seq, counts, 0.01, np.random.default_rng(s))[0] for s in range(40)])
    # keep(w) = (√(f/t) + 1)·t/f: word 0 (f = 0.9) → (√90 + 1)·0.01/0.9 = 0.1165; word 1 (f = 0.1) → 0.4162
    for word, freq in ((0, 0.9), (1, 0.1)):
        expected = (math.sqrt(freq / 0.01) + 1) * 0.01 / freq
        assert (kept == word).sum() / (40 * counts[word]) == pytest.approx(expected, abs=0.02)


def test_negative_sampler_follows_unigram_three_quarters():
    draws = negative_sampler(np.array([16, 1]))(np.random.default_rng(0), 20000)
    # 16^¾ = 8 against 1^¾ = 1 → word 1 with probability 1/9
    assert (draws == 1).mean() == pytest.approx(1 / 9, abs=0.01)


def test_idf_matches_formula():
    idf = idf_weights([np.array([0, 0, 1]), np.array([1]), np.array([2])], 4)
    # N = 3; df = [1, 2, 1, 0]; idf = ln((1 + N)/(1 + df)) + 1
    np.testing.assert_allclose(idf, [math.log(2) + 1, math.log(4 / 3) + 1, math.log(2) + 1, math.log(4) + 1])


# ----------------------------------------------------------------------------- the updates
@pytest.mark.parametrize("mode", ["skipgram", "cbow"])
def test_sgns_step_is_an_sgd_step_on_the_loss(mode):
    rng = np.random.default_rng(1)
    V, d = 7, 5
    in0, out0 = torch.tensor(rng.normal(size=(V, d))), torch.tensor(rng.normal(size=(V, d)))
    if mode == "skipgram":
        inputs = torch.tensor([0, 3, 3, 6])  # a repeated centre: its two updates add up
    else:
        inputs = torch.tensor([[0, 1, -1, 2], [3, -1, -1, -1], [4, 4, 5, 6], [1, -1, 2, -1]])
    targets, negatives = torch.tensor([1, 2, 2, 0]), torch.tensor([[4, 5], [6, 2], [0, 0], [5, 3]])
    in_fast, out_fast = in0.clone(), out0.clone()
    sgns_step(in_fast, out_fast, inputs, targets, negatives, 0.1, mode)
    # reference: autograd gradient of the summed loss and a plain SGD step
    in_ref, out_ref = in0.clone().requires_grad_(True), out0.clone().requires_grad_(True)
    negative_sampling_loss(hidden_vectors(in_ref, inputs, mode), out_ref, targets, negatives).backward()
    np.testing.assert_allclose(in_fast.numpy(), (in0 - 0.1 * in_ref.grad).numpy(), atol=1e-12)
    np.testing.assert_allclose(out_fast.numpy(), (out0 - 0.1 * out_ref.grad).numpy(), atol=1e-12)


def test_glove_step_is_adagrad_on_the_loss():
    rng = np.random.default_rng(2)
    V, d = 6, 4
    init = {"w": rng.normal(size=(V, d)), "c": rng.normal(size=(V, d)), "bw": rng.normal(size=V), "bc": rng.normal(size=V)}
    i, j = torch.tensor([0, 1, 1, 4]), torch.tensor([2, 3, 0, 2])
    log_x, weight = torch.tensor([0.5, 1.0, -0.2, 0.0]), torch.tensor([1.0, 0.3, 0.7, 0.1])
    state = {k: torch.tensor(v) for k, v in init.items()}
    state.update({f"g{k}": torch.ones_like(state[k]) for k in ("w", "c", "bw", "bc")})
    for _ in range(3):
        glove_step(state, i, j, log_x, weight, 0.05)
    # reference: dense AdaGrad (accumulators from 1) on the autograd gradient of the summed loss
    params = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    acc = {k: torch.ones_like(p) for k, p in params.items()}
    for _ in range(3):
        for p in params.values():
            p.grad = None
        glove_loss(params["w"][i], params["c"][j], params["bw"][i], params["bc"][j], log_x, weight).backward()
        with torch.no_grad():
            for k, p in params.items():
                acc[k] += p.grad**2
                p -= 0.05 * p.grad / (acc[k].sqrt() + 1e-10)
    for key in init:
        np.testing.assert_allclose(state[key].numpy(), params[key].detach().numpy(), atol=1e-12)


def test_adagrad_rows_sums_repeated_rows():
    param, acc = torch.zeros(3, 1, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64)
    adagrad_rows(param, acc, torch.tensor([1, 1]), torch.tensor([[1.0], [2.0]], dtype=torch.float64), 0.5)
    # row 1: g = 1 + 2 = 3, acc = 1 + 9 = 10, param = −0.5·3/√10
    assert acc[:, 0].tolist() == [1.0, 10.0, 1.0]
    assert param[1, 0].item() == pytest.approx(-1.5 / math.sqrt(10)) and param[0, 0].item() == 0.0


# ----------------------------------------------------------------------------- the encoders
@pytest.mark.parametrize("name", list(CLASSES))
def test_words_sharing_contexts_end_up_closer(fitted, name):
    enc = fitted[name]
    vec = {w: enc.word_vector(w) for w in TARGETS_A + TARGETS_B}
    within = [cos(vec[a], vec[b]) for group in (TARGETS_A, TARGETS_B) for a in group for b in group if a < b]
    across = [cos(vec[a], vec[b]) for a in TARGETS_A for b in TARGETS_B]
    assert np.mean(within) > np.mean(across) + 0.3, (np.mean(within), np.mean(across))
    assert min(within) > max(across)
    assert enc.most_similar("apple", 3)[0][0] in set(TARGETS_A + ["juicy", "sweet", "orchard", "ripe", "peel", "harvest"])


@pytest.mark.parametrize("name", list(CLASSES))
def test_documents_group_by_topic(fitted, name):
    docs = fitted[name].encode(["ripe apple peel", "sweet avocado", "granite quarry boulder", "heavy bronze"])
    assert docs.shape == (4, 16) and docs.dtype == np.float32
    assert cos(docs[0], docs[1]) > cos(docs[0], docs[2]) and cos(docs[2], docs[3]) > cos(docs[1], docs[3])


def test_document_vector_is_weighted_mean_of_word_vectors(fitted):
    enc = fitted["glove"]
    text = "Ripe apple, ripe APPLE and unknownword sweet!"
    tokens = ["ripe", "apple", "ripe", "apple", "sweet"]  # lowercased, stopword and OOV dropped
    for weighting in ("tfidf", "mean"):
        enc.weighting = weighting
        total = np.zeros(16)
        for token in tokens:
            index = enc.vocabulary_.index(token)
            total += (enc.idf_[index] if weighting == "tfidf" else 1.0) * enc.vectors_[index]
        np.testing.assert_allclose(enc.encode([text])[0], total / np.linalg.norm(total), atol=1e-6)
    enc.weighting = "tfidf"
    assert not enc.encode(["nothing known here"]).any()


def test_deterministic_with_seed():
    texts = planted_corpus(60)
    params = {**FAST["skipgram"], "epochs": 2}
    a, b = SkipGramEncoder(**params).fit(texts), SkipGramEncoder(**params).fit(texts)
    c = SkipGramEncoder(**{**params, "seed": 1}).fit(texts)
    assert np.array_equal(a.vectors_, b.vectors_) and not np.array_equal(a.vectors_, c.vectors_)
    assert a.config() == b.config() and a.config() != c.config()
    g1 = GloveEncoder(**{**FAST["glove"], "epochs": 2}).fit(texts)
    g2 = GloveEncoder(**{**FAST["glove"], "epochs": 2}).fit(texts)
    assert np.array_equal(g1.vectors_, g2.vectors_)
    assert torch.get_num_threads() == 1  # the fit restored the caller's thread count


@pytest.mark.parametrize("name", list(CLASSES))
def test_save_load_identity(tmp_path, monkeypatch, fitted, name):
    # the encoder registry is not ours to edit: register for this test only
    monkeypatch.setitem(encoders._ENCODERS, name, (f"scicmr.encoders.wordvec:{type(fitted[name]).__name__}", {}, "text", ""))
    enc = fitted[name]
    enc.save(tmp_path / name)
    loaded = load_encoder(tmp_path / name)
    assert type(loaded) is type(enc) and loaded.config() == enc.config() and loaded.dim == 16
    texts = planted_corpus(20, seed=5) + ["", "unknown words only"]
    assert np.array_equal(loaded.encode(texts), enc.encode(texts))


def test_chinese_goes_through_jieba():
    texts = ["经济发展推动市场增长", "市场经济持续发展", "足球比赛精彩激烈", "足球运动员比赛"] * 5
    enc = CbowEncoder(vector_size=8, min_count=2, sample=0.0, epochs=2).fit(texts)
    assert {"经济", "足球", "比赛"} <= set(enc.vocabulary_)
    assert enc.encode(["足球比赛"]).shape == (1, 8)


def test_errors_name_the_problem():
    with pytest.raises(NotFittedError):
        GloveEncoder().encode(["text"])
    for bad, match in [({"vector_size": 0}, "vector_size"), ({"window": 0}, "window"),
                       ({"weighting": "max"}, "weighting"), ({"negative": 0}, "negative"),
                       ({"sample": -1.0}, "sample"), ({"lr": 0}, "lr"), ({"seed": -1}, "seed")]:
        with pytest.raises(InputError, match=match):
            SkipGramEncoder(**bad)
    with pytest.raises(InputError, match="x_max"):
        GloveEncoder(x_max=0)
    with pytest.raises(InputError, match="min_count"):
        CbowEncoder(min_count=2).fit(["every word different", "nothing repeats here"])
    with pytest.raises(InputError, match="vocabulary"):
        GloveEncoder(**FAST["glove"]).fit(["apple juicy"]).word_vector("zebra")
