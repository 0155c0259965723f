"""MFCMR: loss terms by hand, side encoders, learning, variants, k, save/load, bad input."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import assert_reloads_identically  # noqa: E402
from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method  # noqa: E402
from scicmr.methods.adversarial import mfcmr_losses as losses  # noqa: E402
from scicmr.methods.adversarial.mfcmr import MFCMR, MFCMRNet  # noqa: E402
from scicmr.methods.adversarial.side_features import AuthorEncoder, SideEncoder, YearEncoder  # noqa: E402
from scicmr.evaluation.metrics import cross_modal_metrics  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), disc_hidden_dims=(16,), embed_dim=16, epochs=8, batch_size=64, lr=3e-3, seed=0)
R2 = math.sqrt(2.0)


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


# ---------------------------------------------------------------- loss terms, by hand


def test_label_prediction_loss_by_hand():
    logits_v = t([[0.0, 0.0], [0.0, 0.0], [5.0, -5.0]])
    logits_w = t([[math.log(3.0), 0.0], [0.0, 0.0], [1.0, 2.0]])
    labels = t([[1, 0], [1, 1], [0, 0]])
    # row 0: p_v = (1/2, 1/2), p_w = (3/4, 1/4); y = (1, 0): -(log 1/2 + log 3/4) = ln 2 + ln 4/3
    # row 1: y = (1/2, 1/2) (normalised), all p = 1/2: -(1/2·2·log 1/2 + 1/2·2·log 1/2) = 2 ln 2
    # row 2: unlabelled, adds 0; eq. (1) still divides by b = 3
    expected = (math.log(2) + math.log(4 / 3) + 2 * math.log(2) + 0.0) / 3  # = 0.789041
    assert losses.label_prediction_loss(logits_v, logits_w, labels).item() == pytest.approx(expected, abs=1e-6)


def test_modality_deviation_loss_by_hand():
    s_v = t([[1, 0], [0, 1]])
    s_w = t([[2, 0], [1, 1]])  # lengths do not matter: cosine
    # Sim_S = [[cos(v1,w1), cos(v1,w2)], [cos(v2,w1), cos(v2,w2)]] = [[1, 1/√2], [0, 1/√2]]
    same = t([[1, 0], [1, 0]])  # Sim_L = all ones
    # (1-1)² + (1-1/√2)² + (1-0)² + (1-1/√2)², averaged over b² = 4 entries
    expected = (0 + 2 * (1 - 1 / R2) ** 2 + 1) / 4  # = 0.292893
    assert losses.modality_deviation_loss(s_v, s_w, same).item() == pytest.approx(expected, abs=1e-6)
    # an unlabelled row has cosine 0 with every row (no 0/0): Sim_L = [[1, 0], [0, 0]]
    # (1-1)² + (0-1/√2)² + (0-0)² + (0-1/√2)² = 1, over 4 entries
    one_unlabelled = t([[1, 0], [0, 0]])
    value = losses.modality_deviation_loss(s_v, s_w, one_unlabelled)
    assert value.item() == pytest.approx(0.25, abs=1e-6)


def test_label_cosine_matrix_against_a_loop():
    rng = np.random.default_rng(0)
    labels = (rng.random((6, 4)) < 0.4).astype(np.float32)
    labels[2] = 0
    fast = losses.cosine_matrix(t(labels), t(labels)).numpy()
    for i in range(6):
        for j in range(6):
            ni, nj = np.linalg.norm(labels[i]), np.linalg.norm(labels[j])
            slow = 0.0 if ni == 0 or nj == 0 else labels[i] @ labels[j] / (ni * nj)
            assert fast[i, j] == pytest.approx(slow, abs=1e-6)


def _centre_case():
    # items 0, 1 in class A; item 2 in class B; class C has no member in the batch (skipped)
    s_v = t([[1, 0], [0, 1], [1, 0]])
    s_w = t([[0, 1], [0, 1], [-1, 0]])
    labels = t([[1, 0, 0], [1, 0, 0], [0, 1, 0]])
    return s_v, s_w, labels


def test_class_centre_distances_by_hand():
    s_v, s_w, labels = _centre_case()
    # centres: c^v_A = (.5, .5), c^w_A = (0, 1), c^v_B = (1, 0), c^w_B = (-1, 0)
    # d1: A: (|c^v_A - (1,0)| + 0 + |c^v_A - (0,1)| + 0) / 2 = 1/√2; B: 0      -> (1/√2 + 0) / 2
    # d2: A: |(0,1) - (.5,.5)| = 1/√2; B: |(-1,0) - (1,0)| = 2                  -> (1/√2 + 2) / 2
    # d3: A: |c^v_A - (0,1)| = 1/√2 twice; B: |(1,0) - (-1,0)| = 2             -> (1/√2 + 2) / 2
    # d4: A: (|(0,1) - (1,0)| + |(0,1) - (0,1)|) / 2 = √2/2; B: 2              -> (1/√2 + 2) / 2
    expected = [(1 / R2) / 2, (1 / R2 + 2) / 2, (1 / R2 + 2) / 2, (1 / R2 + 2) / 2]
    got = [d.item() for d in losses.class_centre_distances(s_v, s_w, labels)]
    assert got == pytest.approx(expected, abs=1e-5)  # 1e-5: zero distances are clamped to 1e-6
    reg = losses.semantic_consistency_loss(s_v, s_w, labels).item()
    assert reg == pytest.approx(sum(expected) / 4, abs=1e-5)  # eq. (12) = 1.103553


def test_centre_terms_use_unit_vectors_and_have_finite_gradients():
    s_v, s_w, labels = _centre_case()
    scaled = losses.semantic_consistency_loss(3.0 * s_v, 0.5 * s_w, labels)
    assert scaled.item() == pytest.approx(losses.semantic_consistency_loss(s_v, s_w, labels).item(), abs=1e-5)
    leaf_v, leaf_w = s_v.clone().requires_grad_(), s_w.clone().requires_grad_()
    losses.semantic_consistency_loss(leaf_v, leaf_w, labels).backward()  # class B has one member
    assert torch.isfinite(leaf_v.grad).all() and torch.isfinite(leaf_w.grad).all()
    nothing = losses.class_centre_distances(s_v, s_w, torch.zeros(3, 2))
    assert [d.item() for d in nothing] == [0.0, 0.0, 0.0, 0.0]


def test_adversarial_loss_by_hand():
    text_logits = t([0.0, math.log(3.0)])  # D = 1/2, 3/4 -> -log D = ln 2, ln 4/3
    image_logits = t([[0.0], [-math.log(3.0)]])  # D = 1/2, 1/4 -> -log(1 - D) = ln 2, ln 4/3
    expected = 2 * (math.log(2) + math.log(4 / 3)) / 2  # both means, summed as in eq. (13)
    assert losses.adversarial_loss(text_logits, image_logits).item() == pytest.approx(expected, abs=1e-6)
    # confident and right: ~0; no log(0) for extreme logits
    assert losses.adversarial_loss(t([50.0]), t([-50.0])).item() == pytest.approx(0.0, abs=1e-6)
    assert math.isfinite(losses.adversarial_loss(t([-200.0]), t([200.0])).item())


def test_embedding_loss_combines_the_terms():
    s_v, s_w, labels = _centre_case()
    logits = t([[1.0, 0.0, 0.0]] * 3)
    parts = losses.embedding_loss(s_v, s_w, labels, logits, logits, 0.3, 0.7)
    imd = losses.label_prediction_loss(logits, logits, labels)
    mod = losses.modality_deviation_loss(s_v, s_w, labels)
    reg = losses.semantic_consistency_loss(s_v, s_w, labels)
    assert parts["emb"].item() == pytest.approx((imd + 0.3 * mod + 0.7 * reg).item(), abs=1e-6)
    no_classifier = losses.embedding_loss(s_v, s_w, labels, None, None, 0.3, 0.7)
    assert no_classifier["imd"].item() == 0.0


# ---------------------------------------------------------------- side encoders


def test_year_encoder_bins_clip_and_unknown():
    encoder = YearEncoder(bin_width=2).fit([2001, 2003, 2005, 0, 2004])
    assert encoder.first_year_ == 2001 and encoder.dim == 3  # bins [2001,2003) [2003,2005) [2005,2007)
    years = [2001, 2002, 2003, 2005, 0, 1990, 2030]
    assert encoder.bins(years).tolist() == [0, 0, 1, 2, -1, 0, 2]  # 1990 / 2030 clip to the edges
    out = encoder.transform(years)
    assert out.dtype == np.float32 and out.shape == (7, 3)
    assert out[4].sum() == 0 and np.all(out.sum(axis=1)[[0, 1, 2, 3, 5, 6]] == 1)


def test_year_encoder_against_a_loop_and_state_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    train = rng.integers(1990, 2021, 50)
    queries = np.concatenate([rng.integers(1980, 2030, 40), [0, 0]])
    encoder = YearEncoder(bin_width=3).fit(train)
    slow = np.zeros((len(queries), encoder.dim), dtype=np.float32)
    for row, year in enumerate(queries):
        if year != 0:
            slow[row, min(max((year - train.min()) // 3, 0), (train.max() - train.min()) // 3)] = 1
    assert np.array_equal(encoder.transform(queries), slow)
    encoder.save(tmp_path / "years.json")
    assert np.array_equal(YearEncoder.load(tmp_path / "years.json").transform(queries), slow)


def test_year_encoder_without_known_years_is_empty():
    encoder = YearEncoder().fit(np.zeros(5, dtype=np.int64))
    assert encoder.dim == 0 and encoder.transform([0, 2020]).shape == (2, 0)


def test_year_encoder_rejects_bad_input():
    with pytest.raises(NotFittedError):
        YearEncoder().transform([2020])
    with pytest.raises(InputError):
        YearEncoder(bin_width=0).fit([2020])
    with pytest.raises(InputError):
        YearEncoder().fit([[2020, 2021]])
    with pytest.raises(InputError):
        YearEncoder().fit([2020.5])


def test_author_encoder_vocabulary_order_and_normalisation():
    authors = [["B. Lee", "A. Kim"], ["a. kim", "C  Wu"], ["B. Lee", "b. lee"], [], ["D. Ng"]]
    encoder = AuthorEncoder(max_authors=3).fit(authors)
    # counts per item: a. kim 2, b. lee 2 (twice in one item counts once), c wu 1, d. ng 1;
    # ties broken by name, then the top 3 kept
    assert encoder.vocabulary_ == ["a. kim", "b. lee", "c wu"]
    out = encoder.transform([["A.  KIM", "Unknown"], [], ["c wu", "b. lee"]])
    assert out.tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 1]]
    assert AuthorEncoder(min_count=2).fit(authors).vocabulary_ == ["a. kim", "b. lee"]
    assert AuthorEncoder().fit([[], []]).dim == 0


def test_author_encoder_against_a_loop_and_state_roundtrip(tmp_path):
    rng = np.random.default_rng(5)
    pool = [f"Author {i}" for i in range(30)]
    items = [list(rng.choice(pool, size=rng.integers(0, 4), replace=False)) for _ in range(60)]
    encoder = AuthorEncoder(max_authors=10).fit(items)
    slow = np.zeros((60, 10), dtype=np.float32)
    for row, names in enumerate(items):
        for name in names:
            if name.casefold() in encoder.vocabulary_:
                slow[row, encoder.vocabulary_.index(name.casefold())] = 1
    assert np.array_equal(encoder.transform(items), slow)
    encoder.save(tmp_path / "authors.json")
    assert np.array_equal(AuthorEncoder.load(tmp_path / "authors.json").transform(items), slow)
    again = AuthorEncoder(max_authors=10).fit(items)
    assert again.vocabulary_ == encoder.vocabulary_  # deterministic


def test_author_encoder_rejects_strings_in_place_of_lists():
    with pytest.raises(InputError, match="list of names"):
        AuthorEncoder().fit(["A. Kim", "B. Lee"])
    with pytest.raises(NotFittedError):
        AuthorEncoder().transform([[]])


def test_side_encoder_concatenates_and_roundtrips(tmp_path):
    years, authors = [2000, 2001, 0], [["x"], ["y", "x"], []]
    encoder = SideEncoder(year_bin=1).fit(years, authors)
    out = encoder.transform(years, authors)
    assert out.tolist() == [[1, 0, 1, 0], [0, 1, 1, 1], [0, 0, 0, 0]]
    encoder.save(tmp_path / "side.json")
    assert np.array_equal(SideEncoder.load(tmp_path / "side.json").transform(years, authors), out)
    assert SideEncoder(use_years=False, use_authors=False).fit(years, authors).transform(years, authors).shape == (3, 0)


# ---------------------------------------------------------------- the method


def side_pairs(n, seed, classes=4, noise=1.0):
    """Pairs whose class shows in noisy image/text features and, independently, in the year
    bin (classes 0/1 vs 2/3 live in different decades) and the author (one pool per class).

    Returns X (n, 20), Y (n, 12) float32, y (n,) int, side dict (years, authors).
    """
    rng = np.random.default_rng(1000)  # class centres shared by every split
    centres_x, centres_y = rng.normal(size=(classes, 20)), rng.normal(size=(classes, 12))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = centres_x[y] + noise * rng.normal(size=(n, 20)) + 3.0
    Y = 5.0 * (centres_y[y] + noise * rng.normal(size=(n, 12)))
    years = np.where(y < 2, 1995, 2015) + rng.integers(0, 10, n)
    authors = [[f"author {c}-{rng.integers(0, 6)}"] for c in y]
    return X.astype(np.float32), Y.astype(np.float32), y, {"years": years.astype(np.int64), "authors": authors}


@pytest.fixture(scope="module")
def clean():
    splits = (("train", 300, 1), ("val", 80, 2), ("test", 150, 3))
    return {name: side_pairs(n, seed, noise=0.5) for name, n, seed in splits}


@pytest.fixture(scope="module")
def noisy():
    splits = (("train", 300, 11), ("val", 80, 12), ("test", 150, 13))
    return {name: side_pairs(n, seed, noise=4.0) for name, n, seed in splits}


def _maps(model, split, with_side=True):
    X, Y, y, side = split
    side = side if with_side else {}
    result = cross_modal_metrics(model.transform_image(X, **side), model.transform_text(Y, **side), y,
                                 ks=(), dtype=np.float64)
    return result["i2t"]["map"], result["t2i"]["map"]


@pytest.mark.parametrize("use_labels", [True, False])
def test_learns_separable_classes_far_above_chance(clean, use_labels):
    X, Y, y, side = clean["train"]
    model = MFCMR(variant="N", use_labels=use_labels, **SMALL).fit(X, Y, y if use_labels else None, **side)
    i2t, t2i = _maps(model, clean["test"])
    assert i2t > 0.8 and t2i > 0.8  # chance is about 0.25 with 4 balanced classes
    img = model.transform_image(clean["test"][0])
    assert img.dtype == np.float32 and img.shape == (150, 16)
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    assert len(model.history_) == SMALL["epochs"]
    assert model.history_[-1]["emb"] < model.history_[0]["emb"]


def test_side_features_help_when_they_carry_the_signal(noisy):
    # features alone barely separate the classes (noise 4 vs unit centres); year bin and author do
    X, Y, y, side = noisy["train"]
    params = {**SMALL, "epochs": 15}
    scores = {}
    for variant in ("full", "N", "T", "A"):
        scores[variant] = np.mean(_maps(MFCMR(variant=variant, **params).fit(X, Y, y, **side), noisy["test"]))
    assert scores["full"] > scores["N"] + 0.2
    assert scores["T"] > scores["N"] + 0.05 and scores["A"] > scores["N"] + 0.1
    assert scores["full"] > 0.75 and scores["N"] < 0.6


def test_without_side_data_full_is_exactly_variant_n(clean):
    X, Y, y, _ = clean["train"]
    empty = {"years": np.zeros(len(X), dtype=np.int64), "authors": [[] for _ in range(len(X))]}
    full = MFCMR(variant="full", **SMALL).fit(X, Y, y, **empty)
    plain = MFCMR(variant="N", **SMALL).fit(X, Y, y)
    assert full.side_encoder_.dim == 0
    Xt = clean["test"][0]
    assert np.array_equal(full.transform_image(Xt), plain.transform_image(Xt))
    assert np.array_equal(full.transform_text(clean["test"][1]), plain.transform_text(clean["test"][1]))


def test_queries_without_metadata_still_map(clean):
    X, Y, y, side = clean["train"]
    model = MFCMR(side_dropout=0.3, **SMALL).fit(X, Y, y, **side)
    assert model.side_encoder_.dim > 0
    bare = model.transform_text(clean["test"][1])  # no years / authors: zero side block
    assert np.isfinite(bare).all()
    assert not np.array_equal(bare, model.transform_text(clean["test"][1], **clean["test"][3]))
    unseen = {"years": np.full(150, 2100), "authors": [["nobody"]] * 150}
    assert np.isfinite(model.transform_image(clean["test"][0], **unseen)).all()


@pytest.mark.parametrize("variant", ["full", "N", "T", "A"])
def test_save_load_bit_identical(tmp_path, clean, variant):
    X, Y, y, side = clean["train"]
    Xv, Yv, yv, side_v = clean["val"]
    model = MFCMR(variant=variant, **{**SMALL, "epochs": 3}).fit(X, Y, y, validation=(Xv, Yv, yv, side_v), **side)
    Xt, Yt, _, side_t = clean["test"]
    loaded = assert_reloads_identically(model, tmp_path / "m", Xt, Yt, side_t)
    assert loaded.variant == variant
    assert loaded.side_encoder_.dim == model.side_encoder_.dim
    assert (model.side_encoder_.dim > 0) == (variant != "N")


def test_same_seed_same_model_and_global_rng_untouched(clean):
    X, Y, y, side = clean["train"]
    torch.manual_seed(123)
    expected = torch.rand(3)
    params = {**SMALL, "epochs": 2}

    def fitted_vectors(**extra):
        model = MFCMR(**{**params, **extra}).fit(X, Y, y, **side)
        return model.transform_image(X[:20], years=side["years"][:20])

    torch.manual_seed(123)
    a = fitted_vectors()
    assert torch.equal(torch.rand(3), expected)
    b, c = fitted_vectors(), fitted_vectors(seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def _count_optimiser_steps(monkeypatch):
    """Patch Adam.step to count calls per optimiser, keyed by the id of its first parameter."""
    calls = {}
    original = torch.optim.Adam.step

    def counting(self, *args, **kwargs):
        key = id(self.param_groups[0]["params"][0])
        calls[key] = calls.get(key, 0) + 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting)
    return calls


@pytest.mark.parametrize("k", [1, 3, 4])
def test_k_generator_steps_per_discriminator_step(monkeypatch, clean, k):
    X, Y, y, side = clean["train"]
    calls = _count_optimiser_steps(monkeypatch)
    model = MFCMR(k=k, **{**SMALL, "epochs": 3, "batch_size": 50}).fit(X, Y, y, **side)
    generator = 3 * 6  # 300 rows / 50 per batch = 6 steps per epoch
    disc_key = id(next(model.net_.discriminator.parameters()))
    gen_key = id(next(model.net_.image_mapper.parameters()))
    assert calls == {gen_key: generator, disc_key: generator // k}
    assert (model.generator_steps_, model.discriminator_steps_) == (generator, generator // k)


def test_discriminator_untouched_until_the_kth_step(clean):
    X, Y, y, side = clean["train"]
    model = MFCMR(variant="N", k=100, **{**SMALL, "epochs": 2}).fit(X, Y, y, **side)
    assert model.discriminator_steps_ == 0
    torch.manual_seed(SMALL["seed"])  # the same initialisation as fit's
    fresh = MFCMRNet(20, 12, 0, 16, (32,), 0.1, 4, (16,))
    for mine, init in zip(model.net_.discriminator.parameters(), fresh.discriminator.parameters()):
        assert torch.equal(mine, init)
    assert not torch.equal(model.net_.image_mapper[0].weight, fresh.image_mapper[0].weight)


def test_adversarial_game_runs_and_discriminator_stays_near_chance(clean):
    X, Y, y, side = clean["train"]
    model = MFCMR(adv_weight=1.0, k=4, **SMALL).fit(X, Y, y, **side)
    adv = [h["adv"] for h in model.history_]
    assert all(math.isfinite(a) for a in adv)
    assert abs(adv[-1] - 2 * math.log(2)) < 0.5  # 2 ln 2 = the discriminator at chance


def test_early_stopping_with_side_validation(noisy):
    X, Y, y, side = noisy["train"]
    Xv, Yv, yv, side_v = noisy["val"]
    model = MFCMR(**{**SMALL, "epochs": 40, "lr": 1e-2, "patience": 3}).fit(
        X, Y, y, validation=(Xv, Yv, yv, side_v), **side)
    scores = [h["val_score"] for h in model.history_]
    assert scores[model.best_epoch_ - 1] == max(scores)
    assert len(scores) == 40 or len(scores) == model.best_epoch_ + 3


def test_not_fitted_and_bad_parameters(clean):
    X, Y, y, side = clean["train"]
    with pytest.raises(NotFittedError):
        MFCMR().transform_image(X)
    for bad in ({"variant": "X"}, {"k": 0}, {"alpha": -1.0}, {"batch_size": 1}, {"year_bin": 0},
                {"side_dropout": 1.0}, {"hidden_dims": "64"}, {"lr": 0}, {"max_authors": -1}):
        with pytest.raises(InputError):
            MFCMR(**{**SMALL, **bad}).fit(X[:20], Y[:20], y[:20])
    with pytest.raises(InputError):
        create_method("mfcmr", no_such_param=1)
    with pytest.raises(InputError, match="list of names"):
        MFCMR(**SMALL).fit(X[:20], Y[:20], y[:20], authors=["solo"] * 20)
    with pytest.raises(InputError):
        MFCMR(**SMALL).fit(X[:20], Y[:20], y[:20], years=np.zeros(5, dtype=np.int64))
    with pytest.raises(InputError, match="whole numbers"):
        MFCMR(**SMALL).fit(X[:20], Y[:20], y[:20], years=np.full(20, 2019.5))
