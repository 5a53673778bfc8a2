from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from nblabel.models.text import TextTagModel, mention_matrix
from nblabel.vocab import TagVocabulary

TEXTS = [
    "image classification with convolutional networks in pytorch",
    "object detection for images using pytorch",
    "sentiment analysis of movie reviews with transformers",
    "machine translation with transformers and attention",
    "image segmentation of satellite images",
    "text summarization with transformers",
    "a graph database tutorial",
    "image generation with gans in pytorch",
]
TAGS = ["computer-vision", "natural-language-processing", "pytorch"]
Y = np.array(
    [[1, 0, 1], [1, 0, 1], [0, 1, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 0, 1]]
)


def test_sklearn_contract_no_work_in_init_and_clone():
    m = TextTagModel(tags=TAGS, C=3.0)
    assert not hasattr(m, "classes_")
    assert clone(m).get_params()["C"] == 3.0
    with pytest.raises(NotFittedError):
        m.predict_proba(TEXTS)


def test_multilabel_fit_predict():
    m = TextTagModel(tags=TAGS).fit(TEXTS, Y)
    P = m.predict_proba(["image recognition with pytorch", "translation with transformers"])
    assert P.shape == (2, 3)
    assert P[0, 0] > P[0, 1] and P[1, 1] > P[1, 0]
    assert list(m.classes_) == TAGS
    assert m.predict(TEXTS).shape == Y.shape
    assert m.thresholds_.shape == (3,)


def test_vectorised_probabilities_match_each_estimator():
    m = TextTagModel(tags=TAGS).fit(TEXTS, Y)
    A = m.vectorizer_.transform(TEXTS).tocsr()
    M = mention_matrix(TEXTS, TAGS)
    for j, est in enumerate(m.estimators_):
        expected = est.predict_proba(m._with_mention(A, M, j))[:, 1]
        np.testing.assert_allclose(m.predict_proba(TEXTS)[:, j], expected, atol=1e-9)


def test_tag_with_one_value_gets_constant_probability():
    y = Y.copy()
    y[:, 2] = 0  # no positive example of pytorch yet
    m = TextTagModel(tags=TAGS).fit(TEXTS, y)
    p = m.predict_proba(TEXTS)[:, 2]
    assert np.all(p == p[0]) and 0 < p[0] < 0.5


def test_tag_lists_and_single_label():
    lists = [[TAGS[j] for j in np.flatnonzero(r)] for r in Y]
    m = TextTagModel().fit(TEXTS, lists)
    assert set(m.classes_) <= set(TAGS)
    single = ["vision", "vision", "nlp", "nlp", "vision", "nlp", "other", "vision"]
    s = TextTagModel(mention_weight=0).fit(TEXTS, single)
    P = s.predict_proba(TEXTS)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert s.predict(["sentiment analysis with transformers"])[0] == "nlp"


def test_mentions_match_words_and_aliases():
    v = TagVocabulary(
        [{"tag": "computer-vision", "aliases": ["cv"]}, {"tag": "c++"}, {"tag": "pytorch"}]
    )
    M = mention_matrix(
        ["Computer Vision in C++", "computervision", "a cv tool", "computer visionary", "torch"],
        ["computer-vision", "c++", "pytorch"],
        v,
    ).toarray()
    np.testing.assert_array_equal(M, [[1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_mentions_help_with_few_labels():
    # two labeled texts only; the test text shares no word with the positive example
    # except the tag's own name
    X = ["a pytorch model", "a cooking recipe"]
    y = np.array([[1], [0]])
    with_m = TextTagModel(tags=["pytorch"]).fit(X, y)
    without = TextTagModel(tags=["pytorch"], mention_weight=0).fit(X, y)
    test = ["written in PyTorch lightning"]
    assert with_m.predict_proba(test)[0, 0] > without.predict_proba(test)[0, 0]


def test_bad_inputs():
    with pytest.raises(ValueError, match="rows"):
        TextTagModel(tags=TAGS).fit(TEXTS, Y[:3])
    with pytest.raises(ValueError, match="columns"):
        TextTagModel(tags=TAGS[:2]).fit(TEXTS, Y)
    with pytest.raises(ValueError, match="not one string"):
        TextTagModel(tags=TAGS).fit("one text", Y)


def test_corpus_features_reused_and_equivalent_for_unseen_texts():
    from nblabel.models import text as T

    T._CACHE.clear()
    corpus = [*TEXTS, "unlabeled text about image transformers", TEXTS[0]]  # a duplicate too
    m = TextTagModel(tags=TAGS, corpus=corpus).fit(TEXTS[:6], Y[:6])
    assert len(T._CACHE._entries) == 1
    m2 = clone(m).fit(TEXTS, Y)  # a refit on the same corpus reuses the fitted TF-IDF
    assert len(T._CACHE._entries) == 1 and m2.vectorizer_ is m.vectorizer_
    # the TF-IDF knows words seen only in the unlabeled corpus text
    assert "unlabeled" in m.vectorizer_.transformer_list[0][1].vocabulary_
    mixed = [TEXTS[1], "brand new text on pytorch images", TEXTS[2]]
    P = m2.predict_proba(mixed)
    fresh = TextTagModel(tags=TAGS, corpus=corpus)
    np.testing.assert_allclose(P[0], m2.predict_proba([TEXTS[1]])[0])
    np.testing.assert_allclose(P[1], m2.predict_proba([mixed[1]])[0])
    assert fresh.get_params()["corpus"] is corpus


def test_features_are_unit_rows():
    m = TextTagModel(tags=TAGS).fit(TEXTS, Y)
    F = m.features([*TEXTS, ""])
    norms = np.sqrt(np.asarray(F.multiply(F).sum(axis=1)).ravel())
    np.testing.assert_allclose(norms[:-1], 1.0)
    assert norms[-1] == 0.0


def test_auto_thresholds_calibrated_per_tag():
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(TEXTS), 60)
    X = [f"{TEXTS[i]} sample {n}" for n, i in enumerate(idx)]
    m = TextTagModel(tags=TAGS, threshold="auto").fit(X, Y[idx])
    assert m.thresholds_.shape == (3,)
    assert np.all((m.thresholds_ >= 0.1) & (m.thresholds_ <= 0.9))
    assert not np.allclose(m.thresholds_, 0.5)  # calibrated, not the default
    few = TextTagModel(tags=TAGS, threshold="auto").fit(TEXTS, Y)
    np.testing.assert_array_equal(few.thresholds_, 0.4)  # < 30 labels: the default


def test_topic_features_carry_labels_to_texts_that_share_topics_not_words():
    # unlabeled texts tie "beta" to "alpha" (one topic) and "epsilon" to "delta" (another)
    corpus = [f"alpha beta gamma {i}" for i in range(20)] + [
        f"delta epsilon zeta {i}" for i in range(20)
    ]
    labeled = ["alpha gamma", "delta zeta", "alpha", "delta"]
    y = np.array([[1], [0], [1], [0]])
    query = ["beta", "epsilon"]
    kw = {"tags": ["t"], "char_ngrams": None, "mention_weight": 0.0, "corpus": corpus}
    plain = TextTagModel(**kw).fit(labeled, y).predict_proba(query)[:, 0]
    topics = TextTagModel(**kw, lsa_components=2).fit(labeled, y)
    P = topics.predict_proba(query)[:, 0]
    assert abs(plain[0] - plain[1]) < 0.05  # words never labeled: no evidence either way
    assert P[0] > 0.5 > P[1]  # the topics carry it
    assert topics.svd_.n_components == 2
    again = clone(topics).fit(labeled, y)  # a refit on the same corpus reuses the projection
    assert again.svd_ is topics.svd_
    # no corpus: the projection is fitted on the training texts, capped by their number
    small = TextTagModel(tags=TAGS, lsa_components=50).fit(TEXTS, Y)
    assert small.svd_.n_components == len(TEXTS) - 1
    assert small.predict_proba(TEXTS).shape == Y.shape
    assert TextTagModel(tags=TAGS).fit(TEXTS, Y).svd_ is None


def test_fits_do_not_depend_on_numpys_global_generator():
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(TEXTS), 60)
    X = [f"{TEXTS[i]} sample {n}" for n, i in enumerate(idx)]
    coefs, state = [], np.random.get_state()  # noqa: NPY002
    try:
        for seed in (0, 1):
            np.random.seed(seed)  # noqa: NPY002 -- liblinear shuffles with it unless seeded
            coefs.append(TextTagModel(tags=TAGS).fit(X, Y[idx]).coef_)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    np.testing.assert_array_equal(coefs[0], coefs[1])
