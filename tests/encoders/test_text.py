"""Text encoders: tokenizer, TF-IDF / BoW / LDA against sklearn, save/load, factory, cache, MiniLM."""

import numpy as np
import pytest

from scicmr.encoders import (
    available_encoders,
    create_encoder,
    encode_cached,
    encoder_info,
    feature_key,
    load_encoder,
)
from scicmr.encoders.text import lda_doc_topics
from scicmr.encoders.tokenize import Tokenizer, tokenize
from scicmr.errors import InputError, LibraryError, NotFittedError

TOPICS = {
    "materials": "graphene lattice electron microscopy crystal nanotube carbon sheet diffraction".split(),
    "biology": "cell protein membrane gene expression tissue microscopy staining".split(),
    "finance": "market stock price trading investor bond yield inflation".split(),
}
CHINESE = ["石墨烯的透射电子显微镜图像", "股票市场价格下跌", "细胞膜蛋白质的表达", "石墨烯薄膜的电子衍射"]


def make_corpus(n, seed):
    """Seeded documents, each mostly drawn from one topic's words plus a few stopwords."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    docs = []
    for i in range(n):
        words = list(rng.choice(TOPICS[names[i % len(names)]], size=12))
        words += list(rng.choice(TOPICS[names[(i + 1) % len(names)]], size=2)) + ["the", "of", "and"]
        rng.shuffle(words)
        docs.append(" ".join(words).capitalize() + ".")
    return docs


@pytest.fixture(scope="module")
def corpus():
    return make_corpus(60, seed=1) + CHINESE * 2, make_corpus(15, seed=2) + CHINESE[:2] + ["", "unknown words only"]


# ---------------------------------------------------------------------------- tokenizer
def test_tokenize_latin_rules():
    assert tokenize("Transmission Electron micrographs of graphene, 2019; state-of-the-art X-ray") == [
        "transmission",
        "electron",
        "micrographs",
        "graphene",
        "state",
        "art",
        "ray",
    ]
    assert tokenize("ＧＲＡＰＨＥＮＥ ｌａｔｔｉｃｅ") == ["graphene", "lattice"]  # NFKC folds full-width
    assert tokenize("the of and", stopwords=False) == ["the", "of", "and"]


def test_tokenize_chinese_with_jieba():
    tokens = tokenize("石墨烯的透射电子显微镜图像 (TEM)")
    assert "的" not in tokens  # stopword
    assert {"透射", "图像"} <= set(tokens)
    assert "tem" in tokens
    assert "".join(t for t in tokens if t != "tem") == "石墨烯透射电子显微镜图像"  # segmentation loses nothing else
    assert tokenize("石墨烯的透射电子显微镜图像 (TEM)") == tokens  # deterministic
    assert Tokenizer()("股票市场") == tokenize("股票市场")


# ---------------------------------------------------------------------------- TF-IDF / BoW
def test_tfidf_matches_sklearn(corpus):
    from sklearn.feature_extraction.text import TfidfVectorizer

    train, test = corpus
    encoder = create_encoder({"name": "tfidf", "max_features": 25, "min_df": 2})
    got = encoder.fit(train).encode(test, batch_size=4)
    reference = TfidfVectorizer(analyzer=tokenize, min_df=2, max_features=25, sublinear_tf=True).fit(train)
    assert encoder.vocabulary_ == list(reference.get_feature_names_out())
    assert got.dtype == np.float32 and got.shape == (len(test), 25) == (len(test), encoder.dim)
    np.testing.assert_allclose(got, reference.transform(test).toarray(), atol=1e-6)
    assert not got[-2].any() and not got[-1].any()  # empty / out-of-vocabulary texts -> zero rows
    chinese = create_encoder({"name": "tfidf", "min_df": 2}).fit(train)
    assert {"透射", "股票市场", "石墨", "蛋白质"} <= set(chinese.vocabulary_)  # Chinese terms, segmented by jieba
    assert chinese.encode(CHINESE[:1])[0, chinese.vocabulary_.index("透射")] > 0


def test_tfidf_svd_matches_sklearn_lsa(corpus):
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    train, test = corpus
    encoder = create_encoder({"name": "tfidf", "svd_dim": 5, "sublinear_tf": False}).fit(train)
    vectorizer = TfidfVectorizer(analyzer=tokenize, min_df=2, max_features=20000, sublinear_tf=False)
    svd = TruncatedSVD(n_components=5, random_state=0).fit(vectorizer.fit_transform(train))
    projected = svd.transform(vectorizer.transform(test))
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    expected = np.divide(projected, norms, out=np.zeros_like(projected), where=norms > 0)
    got = encoder.encode(test)
    assert got.shape == (len(test), 5) and encoder.dim == 5
    np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got[:-2], axis=1), 1.0, atol=1e-5)


def test_tfidf_svd_dim_too_large_is_input_error(corpus):
    with pytest.raises(InputError, match="svd_dim"):
        create_encoder({"name": "tfidf", "svd_dim": 10_000}).fit(corpus[0])


def test_bow_counts_match_sklearn(corpus):
    from sklearn.feature_extraction.text import CountVectorizer

    train, test = corpus
    encoder = create_encoder({"name": "bow", "min_df": 1}).fit(train)
    reference = CountVectorizer(analyzer=tokenize, min_df=1).fit(train)
    assert encoder.vocabulary_ == list(reference.get_feature_names_out())
    np.testing.assert_array_equal(encoder.encode(test), reference.transform(test).toarray().astype(np.float32))


def test_no_terms_left_is_input_error():
    with pytest.raises(InputError, match="min_df"):
        create_encoder({"name": "tfidf", "min_df": 5}).fit(["one graphene", "two lattice"])


# ---------------------------------------------------------------------------- LDA
def test_lda_matches_sklearn_transform(corpus):
    from sklearn.decomposition import LatentDirichletAllocation
    from sklearn.feature_extraction.text import CountVectorizer

    train, test = corpus
    encoder = create_encoder({"name": "lda", "n_topics": 3, "seed": 7}).fit(train)
    counts = CountVectorizer(analyzer=tokenize, min_df=2).fit(train)
    lda = LatentDirichletAllocation(n_components=3, learning_method="batch", max_iter=10, random_state=7)
    lda.fit(counts.transform(train))
    got = encoder.encode(test, batch_size=5)
    assert got.shape == (len(test), 3) and encoder.dim == 3
    np.testing.assert_allclose(got, lda.transform(counts.transform(test)), atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got[-1], 1 / 3, atol=1e-6)  # no known word -> uniform
    assert len(encoder.top_words(4)) == 3 and all(len(t) == 4 for t in encoder.top_words(4))


def test_lda_vectorised_estep_matches_per_document_loop():
    """The batch E-step equals a plain per-document loop (the textbook update)."""
    import scipy.sparse as sp
    from scipy.special import digamma

    rng = np.random.default_rng(0)
    counts = sp.csr_matrix(rng.poisson(0.7, size=(6, 9)).astype(float))
    components = rng.gamma(2.0, 1.0, size=(4, 9))
    beta = np.exp(digamma(components) - digamma(components.sum(1, keepdims=True)))
    expected = []
    for row in counts.toarray():
        gamma = np.ones(4)
        for _ in range(100):
            exp_theta = np.exp(digamma(gamma) - digamma(gamma.sum()))
            phi_norm = exp_theta @ beta + np.finfo(float).eps
            new = exp_theta * ((row / phi_norm) @ beta.T) + 0.25
            done = np.abs(new - gamma).mean() < 1e-3
            gamma = new
            if done:
                break
        expected.append(gamma / gamma.sum())
    np.testing.assert_allclose(lda_doc_topics(counts, components, 0.25), np.array(expected), atol=1e-12)


# ---------------------------------------------------------------------------- contract
@pytest.mark.parametrize("spec", ["tfidf", {"name": "tfidf", "svd_dim": 4}, "bow", {"name": "lda", "n_topics": 4}])
def test_save_load_identical_and_config(spec, corpus, tmp_path):
    train, test = corpus
    encoder = create_encoder(spec)
    with pytest.raises(NotFittedError):
        encoder.encode(test)
    assert encoder.config()["fitted_state"] is None
    encoder.fit(train)
    encoder.save(tmp_path / "enc")
    restored = load_encoder(tmp_path / "enc")
    assert type(restored) is type(encoder) and restored.config() == encoder.config()
    np.testing.assert_array_equal(restored.encode(test), encoder.encode(test))
    refit = create_encoder(spec).fit(train[:-10])
    assert refit.config()["fitted_state"] != encoder.config()["fitted_state"]
    assert feature_key(refit) != feature_key(encoder)


def test_load_detects_tampered_state(corpus, tmp_path):
    encoder = create_encoder({"name": "tfidf", "min_df": 1}).fit(corpus[0])
    encoder.save(tmp_path / "enc")
    np.save(tmp_path / "enc" / "idf.npy", encoder.idf_ * 2)
    with pytest.raises(LibraryError, match="fingerprint"):
        load_encoder(tmp_path / "enc")
    with pytest.raises(LibraryError):
        load_encoder(tmp_path / "nothing")


def test_factory_errors_and_listing():
    assert {"tfidf", "bow", "lda", "minilm", "efficientnet-lite0", "checkpoint"} <= set(available_encoders())
    assert "tfidf" in available_encoders("text") and "tfidf" not in available_encoders("image")
    assert encoder_info()["minilm"]["modality"] == "text"
    with pytest.raises(InputError, match="tfidf") as info:
        create_encoder("word2vec-magic")
    assert "choose one of" in str(info.value)
    with pytest.raises(InputError, match="max_featurez"):
        create_encoder({"name": "tfidf", "max_featurez": 3})
    with pytest.raises(InputError, match="name"):
        create_encoder({"max_features": 3})
    with pytest.raises(InputError, match="min_df"):
        create_encoder({"name": "bow", "min_df": -1})
    encoder = create_encoder({"name": "TFIDF", "max_features": 5000})
    assert encoder.max_features == 5000 and encoder.name == "tfidf" and encoder.modality == "text"


def test_encode_rejects_bad_items(corpus):
    encoder = create_encoder({"name": "bow", "min_df": 1}).fit(corpus[0])
    with pytest.raises(InputError, match="item 1"):
        encoder.encode(["fine", None])
    with pytest.raises(InputError, match="sequence"):
        encoder.encode("a single string")
    with pytest.raises(InputError, match="batch_size"):
        encoder.encode(["x"], batch_size=0)
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_encode_cached_reuses_and_extends(corpus, tmp_path):
    from scicmr.corpus.library import Library

    train, test = corpus
    library = Library.create(tmp_path / "lib")
    encoder = create_encoder({"name": "tfidf", "min_df": 1}).fit(train)
    calls = []
    original = encoder._encode_batch
    encoder._encode_batch = lambda batch: calls.append(len(batch)) or original(batch)
    ids = [f"t{i}" for i in range(len(test))]
    first = encode_cached(encoder, library, ids[:10], test[:10])
    assert sum(calls) == 10 and library.has_features(feature_key(encoder))
    calls.clear()
    again = encode_cached(encoder, library, ids[::-1], test[::-1])  # 10 cached, rest new
    assert sum(calls) == len(test) - 10
    np.testing.assert_array_equal(again[::-1][:10], first)
    np.testing.assert_array_equal(again, encoder.encode(test[::-1]))
    calls.clear()
    encode_cached(encoder, library, ids, test)
    assert calls == []
    assert library.feature_config(feature_key(encoder)) == encoder.config()
    with pytest.raises(InputError):
        encode_cached(encoder, library, ids[:2], test[:3])


# ---------------------------------------------------------------------------- MiniLM
@pytest.mark.slow
def test_minilm_offline_semantics(tmp_path):
    import torch

    torch.set_num_threads(1)
    encoder = create_encoder("minilm")
    assert encoder.dim == 384 and encoder.modality == "text"
    sentences = [
        "Transmission electron micrograph of graphene sheets",
        "TEM image showing a graphene lattice",
        "Quarterly stock market prices fell sharply",
    ]
    vectors = encoder.encode(sentences, batch_size=2)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2 and similarity[0, 1] > similarity[1, 2] + 0.2
    np.testing.assert_allclose(encoder.encode(sentences[:1]), vectors[:1], atol=1e-5)  # batch-independent
    encoder.save(tmp_path / "minilm")
    restored = load_encoder(tmp_path / "minilm")
    assert restored.config() == encoder.config()
    np.testing.assert_allclose(restored.encode(sentences), vectors, atol=1e-6)
