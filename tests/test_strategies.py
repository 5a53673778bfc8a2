from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nblabel import strategies as S

P = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.3, 0.1]])


def test_least_confidence_known_answers():
    np.testing.assert_allclose(S.least_confidence(P), [0.0, 0.5, 2 / 3, 0.4])


def test_margin_known_answers():
    np.testing.assert_allclose(S.margin(P), [0.0, 1.0, 1.0, 0.7])


def test_entropy_known_answers_in_bits():
    np.testing.assert_allclose(
        S.entropy(P),
        [0.0, 1.0, np.log2(3), -(0.6 * np.log2(0.6) + 0.3 * np.log2(0.3) + 0.1 * np.log2(0.1))],
    )


def test_multilabel_mean_and_max_differ_as_documented():
    # item 0: one tag at 0.5, others certain; item 1: all tags moderately uncertain.
    q = np.array([[0.5, 0.0, 1.0], [0.3, 0.3, 0.3]])
    np.testing.assert_allclose(S.margin(q, multilabel=True, aggregate="max"), [1.0, 0.6])
    np.testing.assert_allclose(S.margin(q, multilabel=True, aggregate="mean"), [1 / 3, 0.6])
    # joint: 1 - P(most likely tag set) = 1 - 0.5*1*1 and 1 - 0.7**3
    np.testing.assert_allclose(S.least_confidence(q, multilabel=True), [0.5, 1 - 0.7**3])
    h = S.entropy(q, multilabel=True, aggregate="max")
    assert h[0] == pytest.approx(1.0)
    assert S.entropy(q, multilabel=True)[0] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="aggregate"):
        S.entropy(q, multilabel=True, aggregate="median")  # type: ignore[arg-type]


def test_vote_entropy_single_and_multi():
    # 2 members, 2 items, 2 classes: agree on item 0, disagree on item 1.
    c = np.array([[[0.9, 0.1], [0.9, 0.1]], [[0.8, 0.2], [0.2, 0.8]]])
    np.testing.assert_allclose(S.vote_entropy(c), [0.0, 1.0])
    np.testing.assert_allclose(S.vote_entropy(c, multilabel=True), [0.0, 1.0], atol=1e-9)
    with pytest.raises(ValueError, match=r"\(m, n, k\)"):
        S.vote_entropy(np.zeros((2, 2)))


def test_invalid_probabilities_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        S.entropy(np.array([[1.5, -0.5]]))


def test_score_cold_start_and_names():
    np.testing.assert_array_equal(S.score(None, "entropy", n=3), np.zeros(3))
    np.testing.assert_array_equal(S.score(None, "sequential", n=3), [0, -1, -2])
    assert isinstance(S.score(P, "margin"), np.ndarray)
    with pytest.raises(ValueError, match="unknown strategy"):
        S.score(P, "bald")


def test_order_from_scores_without_exploration_is_by_score():
    order = S.order_from_scores(np.array([0.1, 0.9, 0.5, 0.7]))
    np.testing.assert_array_equal(order, [1, 3, 2, 0])


def test_priorities_sort_like_the_order():
    s = np.array([0.1, 0.9, 0.5, 0.7])
    pri = S.priorities(s)
    np.testing.assert_array_equal(np.argsort(-pri), [1, 3, 2, 0])


def test_exploration_share_and_seed():
    s = np.arange(1000, dtype=float)
    a = S.order_from_scores(s, exploration=0.2, random_state=1)
    b = S.order_from_scores(s, exploration=0.2, random_state=1)
    c = S.order_from_scores(s, exploration=0.2, random_state=2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert sorted(a.tolist()) == list(range(1000))
    # about 80% of the first 100 slots are the best remaining items
    exploit = (a[:100] >= 700).mean()
    assert 0.6 <= exploit <= 0.95


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 60), elements=st.floats(-5, 5)),
    st.floats(0, 1),
    st.integers(0, 2**31),
)
def test_order_is_always_a_permutation(s, exploration, seed):
    order = S.order_from_scores(s, exploration=exploration, random_state=seed)
    assert isinstance(order, np.ndarray)
    assert sorted(order.tolist()) == list(range(s.size))


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 6)), elements=st.floats(0, 1))
)
def test_measures_bounded_and_shaped(p):
    for name in ("least_confidence", "margin", "entropy"):
        for ml in (False, True):
            v = S.score(p, name, multilabel=ml)
            assert v.shape == (p.shape[0],)
            assert np.all(np.isfinite(v)) and np.all(v >= -1e-12)


def test_select_batch_exploration_and_uniqueness():
    s = np.arange(100, dtype=float)
    idx = S.select_batch(s, 10, exploration=0.2, random_state=0)
    assert idx.size == 10 and np.unique(idx).size == 10
    assert set(idx[:8].tolist()) == set(range(92, 100))
    assert S.select_batch(s, 0).size == 0
    assert S.select_batch(s[:3], 10).size == 3


def test_select_batch_diversity_avoids_duplicates():
    # items 0-2 identical and top-scored; item 3 different and slightly lower.
    x = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    s = np.array([1.0, 0.99, 0.98, 0.9])
    np.testing.assert_array_equal(np.sort(S.select_batch(s, 2)), [0, 1])
    diverse = S.select_batch(s, 2, features=x, diversity=1.0)
    np.testing.assert_array_equal(np.sort(diverse), [0, 3])


def test_priorities_on_100k_items_order_them_all():
    # speed is measured by `nblabel bench tags --scale`, not here (shared machines are noisy)
    rng = np.random.default_rng(0)
    p = rng.random((100_000, 80))
    pr = S.priorities(S.entropy(p, multilabel=True), exploration=0.2, random_state=0)
    assert pr.shape == (100_000,) and np.isfinite(pr).all()
    assert len(np.unique(pr)) > 90_000  # a real order, not ties


def test_density_prefers_typical_items():
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
    d = S.density(x)
    assert d.shape == (4,)
    np.testing.assert_allclose(d, (x @ x.T).mean(axis=1))  # mean cosine similarity
    assert d[2] > d[0] == d[1] > d[3]


def test_expected_cardinality():
    q = np.array([[0.9, 0.8, 0.1], [0.1, 0.1, 0.1]])
    np.testing.assert_allclose(S.expected_cardinality(q), [1.8, 0.3])
