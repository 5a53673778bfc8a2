"""Label models: majority vote and Dawid-Skene EM, on votes with known accuracies."""

import numpy as np
import pandas as pd
import pytest

from nblabel.errors import InputError
from nblabel.quality.labelmodel import LabelModel, MajorityVote, push_suggestions
from nblabel.quality.lf import LabelingFunction, apply_lfs
from nblabel.session import ClassSession, TagSession


def _lf(name, column):
    return LabelingFunction(name, lambda r: r[column])


def _single(seed=0, n=1500, accs=(0.9, 0.75, 0.6), cover=0.6):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    classes = np.array(["a", "b", "c"])
    cols = {}
    for j, acc in enumerate(accs):
        wrong = (y + rng.integers(1, 3, n)) % 3
        v = np.where(rng.random(n) < acc, y, wrong)
        cols[f"lf{j}"] = [classes[x] if on else None
                          for x, on in zip(v, rng.random(n) < cover)]
    df = pd.DataFrame(cols)
    return apply_lfs(df, [_lf(c, c) for c in cols], classes=list(classes)), classes[y]


def test_majority_vote_shares_and_ties():
    df = pd.DataFrame({"p": ["x", "x", None], "q": ["x", "y", None], "r": ["y", None, None]})
    V = apply_lfs(df, [_lf(c, c) for c in "pqr"], classes=["x", "y"])
    P = MajorityVote().fit(V).predict_proba(V)
    assert P.tolist() == [[2 / 3, 1 / 3], [0.5, 0.5], [0.5, 0.5]]
    assert MajorityVote().fit(V).predict(V) == ["x", "x", None]


def test_dawid_skene_recovers_accuracies_and_beats_majority():
    V, truth = _single()
    lm = LabelModel(single="one_coin").fit(V)
    acc = lm.lf_accuracies(V.names)
    assert acc.index.tolist() == ["lf0", "lf1", "lf2"]
    assert np.allclose(acc.to_numpy(), [0.9, 0.75, 0.6], atol=0.05)
    pred = np.array(lm.predict(V), dtype=object)
    mv = np.array(MajorityVote().fit(V).predict(V), dtype=object)
    covered = pred != None  # noqa: E711
    acc_lm = (pred[covered] == truth[covered]).mean()
    acc_mv = (mv[covered] == truth[covered]).mean()
    assert acc_lm > acc_mv + 0.02
    fires = np.array(LabelModel().fit(V).predict(V), dtype=object)
    assert (fires[covered] == truth[covered]).mean() > acc_mv + 0.02
    P = lm.predict_proba(V)
    assert P.shape == (len(truth), 3) and np.allclose(P.sum(1), 1)
    assert np.allclose(lm.prior_, 1 / 3, atol=0.05)


def test_one_sided_functions():
    # every function votes a single class: the "fires" model (silence observed) uses them;
    # with abstentions as missing data one-coin drifts and the full confusion collapses
    rng = np.random.default_rng(4)
    n = 1200
    y = rng.integers(0, 3, n)
    classes = np.array(["a", "b", "c"])
    cols = {}
    for j in range(9):
        c = j % 3
        fires = np.where(y == c, rng.random(n) < 0.5, rng.random(n) < 0.05)
        cols[f"lf{j}"] = [classes[c] if f else None for f in fires]
    V = apply_lfs(pd.DataFrame(cols), [_lf(k, k) for k in cols], classes=list(classes))
    covered = V.fired().any(axis=1)
    truth = classes[y]

    def acc(model):
        pred = np.array(model.fit(V).predict(V), dtype=object)
        return (pred[covered] == truth[covered]).mean()

    fires = acc(LabelModel())
    assert fires >= acc(MajorityVote()) and fires > 0.85
    assert fires > acc(LabelModel(single="one_coin")) + 0.1
    assert fires > acc(LabelModel(single="confusion")) + 0.3
    lm = LabelModel().fit(V)
    assert set(lm.fire_params_) == {(j, j % 3) for j in range(9)}
    alpha, beta = lm.fire_params_[(0, 0)]
    assert alpha == pytest.approx(0.5, abs=0.1) and beta == pytest.approx(0.05, abs=0.03)
    assert np.allclose(lm.lf_accuracies().to_numpy(), 0.5 / (0.5 + 2 * 0.05), atol=0.1)
    with pytest.raises(InputError, match="one_coin"):
        LabelModel(single="two_coins")


def test_multilabel_downweights_a_noisy_function():
    rng = np.random.default_rng(1)
    n = 3000
    y = rng.random(n) < 0.2
    cols = {}
    for j, (a, b) in enumerate([(0.7, 0.02), (0.6, 0.03), (0.5, 0.02), (0.3, 0.15)]):
        fires = np.where(y, rng.random(n) < a, rng.random(n) < b)
        cols[f"lf{j}"] = [["t"] if f else None for f in fires]
    V = apply_lfs(pd.DataFrame(cols), [_lf(c, c) for c in cols], multilabel=True)
    assert V.multilabel and V.classes == ["t"]
    lm = LabelModel().fit(V)
    cols_, alpha, beta = lm.params_["t"]
    assert cols_.tolist() == [0, 1, 2, 3]
    # the Beta priors shrink alpha and beta, but the noisy function stands out
    assert np.allclose(alpha, [0.7, 0.6, 0.5, 0.3], atol=0.2)
    assert beta[3] > 0.08 and beta[:3].max() < 0.02
    # prevalence: between the truth (0.2) and the union vote's rate it is shrunk to
    union = V.fired().any(axis=1).mean()
    assert 0.18 < lm.prior_[0] < union
    assert lm.fallback_ == []
    acc = lm.lf_accuracies(V.names)
    assert acc.idxmin() == "lf3"

    def f1(pred):
        tp = (pred & y).sum()
        return 2 * tp / (pred.sum() + y.sum())

    p_lm = lm.predict_proba(V)[:, 0] >= 0.5
    p_mv = MajorityVote().fit(V).predict_proba(V)[:, 0] >= 0.5
    assert f1(p_lm) > f1(p_mv) + 0.05
    assert lm.predict(V)[int(np.flatnonzero(p_lm)[0])] == ["t"]


def test_multilabel_with_few_functions_keeps_majority_vote():
    df = pd.DataFrame({"p": [["t"], None, ["t", "u"]], "q": [None, ["t"], ["u"]]})
    V = apply_lfs(df, [_lf(c, c) for c in "pq"])
    lm = LabelModel().fit(V)
    assert lm.fallback_ == ["t", "u"]
    assert np.array_equal(lm.predict_proba(V), MajorityVote().fit(V).predict_proba(V))


def test_semi_supervised_fit_learns_a_single_imprecise_function():
    rng = np.random.default_rng(2)
    n = 1000
    y = rng.random(n) < 0.1
    fires = np.where(y, rng.random(n) < 0.8, rng.random(n) < 0.3)  # precision ~0.2
    good = np.where(y, rng.random(n) < 0.6, rng.random(n) < 0.01)  # precision ~0.87
    df = pd.DataFrame({"bad": [["t"] if f else None for f in fires],
                       "good": [["u"] if f else None for f in good]})
    V = apply_lfs(df, [_lf(c, c) for c in df.columns], multilabel=True)
    assert LabelModel().fit(V).fallback_ == ["t", "u"]  # one function each: majority vote
    labels = [(["t", "u"] if y[i] else []) if i < 200 else None for i in range(n)]
    lm = LabelModel().fit(V, labels)
    assert lm.fallback_ == []
    P = lm.predict_proba(V)
    t, u = V.classes.index("t"), V.classes.index("u")
    assert P[fires, t].max() < 0.5  # the imprecise function alone no longer makes a "t"
    assert P[good, u].min() > 0.5  # the precise one still makes a "u"
    # single-label: labels given as a Series are clamped too
    V1, truth = _single(n=1500)
    lab = pd.Series([truth[i] if i < 300 else None for i in range(1500)], dtype=object)
    lm1 = LabelModel(single="one_coin").fit(V1, lab)
    assert np.allclose(lm1.lf_accuracies().to_numpy(), [0.9, 0.75, 0.6], atol=0.05)
    pred = np.array(lm1.predict(V1), dtype=object)
    covered = pred != None  # noqa: E711
    mv = np.array(MajorityVote().fit(V1).predict(V1), dtype=object)
    assert (pred == truth)[covered].mean() > (mv == truth)[covered].mean() + 0.02


def test_errors():
    V, _ = _single(n=50)
    with pytest.raises(InputError, match="not fitted"):
        LabelModel().predict_proba(V)
    lm = LabelModel().fit(V)
    V2 = apply_lfs(pd.DataFrame({"z": ["a"]}), [_lf("z", "z")], classes=["a", "b", "c"])
    with pytest.raises(InputError, match="fitted on 3 functions"):
        lm.predict_proba(V2)
    empty = apply_lfs(pd.DataFrame({"z": [None]}), [_lf("z", "z")])
    with pytest.raises(InputError, match="nothing to learn"):
        LabelModel().fit(empty)


def test_push_suggestions_to_sessions():
    df = pd.DataFrame({"text": ["prize", "meeting", "hello"], "p": ["spam", "ham", None]})
    V = apply_lfs(df, [_lf("p", "p")], classes=["ham", "spam"])
    s = ClassSession(df, text="text", classes=["ham", "spam"], annotator="h")
    s.set_label("ham", "1")
    P = np.array([[0.2, 0.8], [0.9, 0.1], [0.5, 0.5]])
    assert push_suggestions(s, V, P) == 1  # row 1 labeled, row 2 without votes
    (sug,) = s.suggestions("0")
    assert (sug.value, sug.source, sug.score) == ("spam", "rule", pytest.approx(0.8))
    with pytest.raises(InputError, match="shape"):
        push_suggestions(s, V, P[:, :1])

    tdf = pd.DataFrame({"text": ["a", "b"], "t": [["cv", "3d", "zzz"], ["cv"]]})
    TV = apply_lfs(tdf, [_lf("t", "t")])
    ts = TagSession(tdf, text="text", tags=["3d", "cv"], annotator="h")
    P = np.zeros((2, len(TV.classes)))
    P[0, TV.classes.index("cv")] = 0.9
    P[0, TV.classes.index("3d")] = 0.6
    P[0, TV.classes.index("zzz")] = 0.99  # not in the session's tags: dropped
    P[1, TV.classes.index("cv")] = 0.3  # below threshold: nothing suggested
    assert push_suggestions(ts, TV, P) == 1
    (sug,) = ts.suggestions("0")
    assert sug.value == frozenset({"3d", "cv"}) and sug.score == pytest.approx(0.6)
    ts.accept(0, "0")
    assert tdf.at[0, "tags"] == ["3d", "cv"]
    # a fitted model suggests directly; labeled rows are left alone
    assert MajorityVote().fit(TV).suggest(ts, TV) == 1  # row 1 ("cv" voted); row 0 labeled
    (sug,) = ts.suggestions("1")
    assert sug.value == frozenset({"cv"}) and sug.score == 1.0 and sug.source == "rule"
