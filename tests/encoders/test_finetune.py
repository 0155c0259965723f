"""CARDL's title ↔ sentence fine-tuning (scicmr.encoders.finetune) on a tiny random BERT.

The base model is a 4-block, 16-wide BertModel with random weights saved as a
sentence-transformers folder in a temporary directory, so every fit takes well under a second.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
if importlib.util.find_spec("sentence_transformers") is None:  # importing it needs the torchvision fix
    pytest.skip("sentence-transformers is not installed", allow_module_level=True)

from scicmr.corpus.record import Record  # noqa: E402
from scicmr.encoders import available_encoders, load_encoder, register_encoder  # noqa: E402
from scicmr.encoders.finetune import (  # noqa: E402
    FinetunedSentenceEncoder,
    build_units,
    pair_features,
    pairs_from_records,
    split_sentences,
)
from scicmr.errors import InputError, LibraryError, NotFittedError  # noqa: E402

TOPICS, WORDS_PER_TOPIC, BLOCKS = 6, 5, 4


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory):
    """A sentence-transformers folder around a tiny randomly initialised BERT."""
    from scicmr.encoders._torchvision_compat import import_torchvision

    import_torchvision(optional=True)
    from sentence_transformers import SentenceTransformer
    from transformers import BertConfig, BertModel, BertTokenizerFast

    root = tmp_path_factory.mktemp("tiny_bert")
    words = [f"w{i}" for i in range(TOPICS * WORDS_PER_TOPIC)] + ["title", "."]
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    tokenizer = BertTokenizerFast(vocab={token: i for i, token in enumerate(tokens)}, do_lower_case=True)
    assert tokenizer("w1 .")["input_ids"] == [2, 6, 5 + len(words) - 1, 3]  # no [UNK]: the vocabulary loaded
    config = BertConfig(vocab_size=len(words) + 5, hidden_size=16, num_hidden_layers=BLOCKS, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)  # dropout noise swamps 16 dims
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(root / "hf")
    tokenizer.save_pretrained(root / "hf")
    SentenceTransformer(str(root / "hf"), device="cpu").save(str(root / "st"))
    return str(root / "st")


def planted_papers(n_per_topic: int = 4, seed: int = 0):
    """Papers of TOPICS fields: the title and 4 body sentences use only the field's words."""
    rng = np.random.default_rng(seed)
    titles, bodies, labels = [], [], []
    for topic in range(TOPICS):
        vocab = [f"w{topic * WORDS_PER_TOPIC + j}" for j in range(WORDS_PER_TOPIC)]
        for _ in range(n_per_topic):
            titles.append("title " + " ".join(rng.choice(vocab, 3)))
            bodies.append(" ".join(" ".join(rng.choice(vocab, 4)) + " ." for _ in range(4)))
            labels.append([f"field{topic}"])
    return titles, bodies, labels


def encoder(base, **params) -> FinetunedSentenceEncoder:
    defaults = {"epochs": 1, "lr": 1e-3, "batch_size": 8, "max_pairs": 40, "max_seq_length": 32}
    return FinetunedSentenceEncoder(path=base, **{**defaults, **params})


def test_pair_features_hand_check():
    u = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    v = torch.tensor([[3.0, 0.0], [-0.5, 2.0]])
    # row 0: u=(1,-2), v=(3,0), |u-v|=(2,2), max=(3,0); row 1: u=(.5,0), v=(-.5,2), |u-v|=(1,2), max=(.5,2)
    expected = torch.tensor([[1.0, -2.0, 3.0, 0.0, 2.0, 2.0, 3.0, 0.0], [0.5, 0.0, -0.5, 2.0, 1.0, 2.0, 0.5, 2.0]])
    assert torch.equal(pair_features(u, v), expected)


def test_sentences_pairs_and_negatives_from_other_fields():
    assert split_sentences("One fact. Two facts!\nThird line 三句。四句？ okay") == [
        "One fact.", "Two facts!", "Third line 三句。", "四句？", "okay"]
    titles = ["t0", "t1", "t2", "t3"]
    bodies = ["a0. b0.", "a1. b1.", "a2. b2.", "a3. b3."]
    labels = [["x"], ["x"], ["y"], ["y"]]
    units = build_units(titles, bodies, labels, titles, max_pairs=100, negatives_per_positive=2,
                        rng=np.random.default_rng(0))
    assert len(units) == 8 and all(len(u.sentences) == 3 for u in units)
    for unit in units:
        i = titles.index(unit.anchor)
        assert unit.sentences[0] in split_sentences(bodies[i])
        field = labels[i][0]
        for negative in unit.sentences[1:]:
            j = next(k for k, b in enumerate(bodies) if negative in split_sentences(b))
            assert labels[j][0] != field  # negatives come from the other field
    capped = build_units(titles, bodies, None, titles, max_pairs=3, negatives_per_positive=1,
                         rng=np.random.default_rng(0))
    assert len(capped) == 3
    with pytest.raises(InputError, match="two different papers"):
        build_units(["t"], ["a b c. d e f."], None, ["t"], max_pairs=5, negatives_per_positive=1,
                    rng=np.random.default_rng(0))


def test_pairs_from_records_one_per_paper_with_abstract_and_context():
    records = [
        Record(id="p1-f1", title="Paper one", text="Figure 1: a plot.", group="p1", labels=["x"],
               extra={"abstract": "First. Second."}),
        Record(id="p1-f2", title="Paper one", text="Figure 2: a map.", group="p1", labels=["z"],
               context="As Figure 2 shows, maps help."),
        Record(id="p2-f1", title="Paper two", text="Figure 1: bars.", group="p2", labels=["y"]),
    ]
    titles, bodies, labels, groups = pairs_from_records(records)
    assert titles == ["Figure 2: a map.", "Paper one", "Paper two"]
    assert bodies == ["As Figure 2 shows, maps help.", "First. Second.", "Figure 1: bars."]
    assert labels == [["z"], ["x", "z"], ["y"]] and groups == ["p1", "p1", "p2"]


def _param_snapshot(model):
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_only_last_two_blocks_and_classifier_change(tiny_base):
    enc = encoder(tiny_base)
    base_model, trainable = enc._base_model()
    before = _param_snapshot(base_model)
    enc.fit_pairs(*planted_papers()[:2])
    after = _param_snapshot(enc._model)
    last = {f"encoder.layer.{BLOCKS - 2}.", f"encoder.layer.{BLOCKS - 1}."}
    assert trainable == enc.trainable_names_ and trainable
    for name in before:
        in_last = any(part in name for part in last)
        assert (name in trainable) == in_last, name
        if in_last:
            assert not torch.equal(before[name], after[name]), f"{name} did not train"
        else:
            assert torch.equal(before[name], after[name]), f"frozen {name} changed"
    assert enc.classifier_.weight.shape == (2, 4 * 16)


def test_loss_decreases_on_planted_pairs(tiny_base):
    titles, bodies, labels = planted_papers()
    enc = encoder(tiny_base, epochs=6, lr=3e-2, classifier_lr=3e-2, max_pairs=96, probe_head=False)
    enc.fit_pairs(titles, bodies, labels)
    loss, accuracy = enc.history_["loss"], enc.history_["accuracy"]
    assert len(loss) == 6 and enc.history_["pairs"] == 96
    assert loss[0] > 0.6  # ln 2 = 0.693: chance at the start
    assert loss[-1] < 0.5 * loss[0], loss
    assert accuracy[-1] > 0.9, accuracy


def test_probe_head_starts_fine_tuning_from_a_fitted_classifier(tiny_base):
    titles, bodies, labels = planted_papers()
    params = {"epochs": 1, "lr": 1e-3, "classifier_lr": 1e-3, "max_pairs": 96}
    cold = encoder(tiny_base, probe_head=False, **params).fit_pairs(titles, bodies, labels)
    warm = encoder(tiny_base, probe_head=True, **params).fit_pairs(titles, bodies, labels)
    assert "probe_loss" not in cold.history_
    assert warm.history_["probe_loss"] < 0.6 and warm.history_["probe_accuracy"] > 0.7
    assert warm.history_["loss"][0] < cold.history_["loss"][0] - 0.05


def _register_names():
    # load_encoder finds classes through the registry; add the entries if the registry lacks them.
    for name in ("minilm-finetuned", "sentence-transformer-finetuned"):
        if name not in available_encoders():
            register_encoder(name, "scicmr.encoders.finetune:FinetunedSentenceEncoder")


def test_save_load_identity_and_base_check(tiny_base, tmp_path):
    _register_names()
    titles, bodies, labels = planted_papers()
    enc = encoder(tiny_base, epochs=2).fit_pairs(titles, bodies, labels)
    queries = titles[:5] + bodies[:3]
    vectors = enc.encode(queries, batch_size=3)
    assert vectors.shape == (8, 16) == (len(queries), enc.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    enc.save(tmp_path / "enc")
    loaded = load_encoder(tmp_path / "enc")
    assert isinstance(loaded, FinetunedSentenceEncoder) and loaded.config() == enc.config()
    assert np.array_equal(loaded.encode(queries, batch_size=3), vectors)
    assert torch.equal(loaded.classifier_.weight, enc.classifier_.weight)
    config = (tmp_path / "enc" / "config.json").read_text().replace(enc.config()["model"], "other-base")
    (tmp_path / "enc" / "config.json").write_text(config)
    with pytest.raises(LibraryError, match="base model"):
        load_encoder(tmp_path / "enc")


def test_deterministic_with_seed_and_rng_untouched(tiny_base):
    titles, bodies, labels = planted_papers()
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = encoder(tiny_base, seed=3).fit_pairs(titles, bodies, labels)
    assert torch.equal(torch.rand(3), expected_next)  # fitting forked the global RNG
    second = encoder(tiny_base, seed=3).fit_pairs(titles, bodies, labels)
    other = encoder(tiny_base, seed=4).fit_pairs(titles, bodies, labels)
    a, b, c = (e.encode(titles) for e in (first, second, other))
    assert np.array_equal(a, b) and first.config() == second.config()
    assert not np.array_equal(a, c)


def test_fit_on_title_body_texts(tiny_base):
    titles, bodies, _ = planted_papers()
    enc = encoder(tiny_base, max_seq_length=8).fit([f"{t}\n{b}" for t, b in zip(titles, bodies)])
    assert enc.is_fitted and enc.history_["pairs"] == 40
    assert enc._model.preprocess(["w1 " * 50])["input_ids"].shape == (1, 8)  # max_seq_length truncates
    with pytest.raises(InputError, match="title line"):
        encoder(tiny_base).fit(["only one line", "another"])


def test_errors(tiny_base, tmp_path):
    with pytest.raises(NotFittedError):
        encoder(tiny_base).encode(["w1 w2"])
    for bad in ({"epochs": 0}, {"lr": 0.0}, {"lr": "fast"}, {"classifier_lr": 2.0}, {"batch_size": 0},
                {"max_pairs": True}, {"negatives_per_positive": 0}, {"seed": -1}, {"max_seq_length": 4}):
        with pytest.raises(InputError):
            encoder(tiny_base, **bad)
    with pytest.raises(InputError, match="does not exist"):
        FinetunedSentenceEncoder(path=str(tmp_path / "missing"))
    with pytest.raises(InputError, match="transformer blocks"):
        encoder(tiny_base, trainable_layers=BLOCKS + 1).fit_pairs(*planted_papers()[:2])
    with pytest.raises(InputError, match="same length"):
        encoder(tiny_base).fit_pairs(["a", "b"], ["c"])
