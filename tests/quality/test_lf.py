"""Labeling functions: decorator, helpers, vote matrix, summary."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from nblabel.errors import InputError
from nblabel.quality.lf import (
    ABSTAIN,
    LabelingFunction,
    alias_lfs,
    apply_lfs,
    keyword_lf,
    labeling_function,
    lf_summary,
    lookup_lf,
    model_lf,
    plot_lf_summary,
    regex_lf,
)
from nblabel.session import ClassSession, TagSession
from nblabel.vocab import TagVocabulary


@pytest.fixture
def df():
    return pd.DataFrame(
        {
            "text": [
                "Win a prize now",
                "Lunch meeting at noon",
                "Prize for the meeting winner",
                "nothing here",
            ],
            "sender": ["x@spam.biz", "boss@corp.com", "boss@corp.com", None],
        },
        index=["a", "b", "c", "d"],
    )


def test_decorator_forms_and_votes(df):
    @labeling_function(labels=["spam"])
    def prize(row):
        return "spam" if "prize" in row.text.lower() else ABSTAIN

    @labeling_function
    def bare(row):
        return None

    @labeling_function("named")
    def other(row):
        return ["a", "b"]

    assert isinstance(prize, LabelingFunction) and prize.name == "prize"
    assert prize.labels == ("spam",)
    assert bare.name == "bare" and other.name == "named"
    assert prize(df.loc["a"]) == frozenset({"spam"})
    assert prize(df.loc["b"]) == frozenset()
    assert other(df.loc["a"]) == frozenset({"a", "b"})


def test_keyword_regex_lookup(df):
    kw = keyword_lf("ham", ["meeting", "lunch break"], text="text")
    assert kw.name == "keyword:ham"
    assert kw(df.loc["b"]) == {"ham"} and kw(df.loc["a"]) == frozenset()
    # whole words only, '-', '_' and space interchangeable
    assert keyword_lf("x", ["lunch break"])("a lunch-break") == {"x"}
    assert keyword_lf("x", ["meet"])("a meeting") == frozenset()
    rx = regex_lf("spam", r"\bwin\b", text=["text"])
    assert rx(df.loc["a"]) == {"spam"} and rx(df.loc["c"]) == frozenset()
    kb = lookup_lf({"x@spam.biz": "spam", "boss@corp.com": "ham"}, key="sender")
    assert kb(df.loc["a"]) == {"spam"} and kb(df.loc["d"]) == frozenset()
    with pytest.raises(InputError, match="at least one keyword"):
        keyword_lf("x", [])


def test_alias_lfs_vote_tag_and_parents():
    v = TagVocabulary([
        {"tag": "computer-vision", "aliases": ["cv"]},
        {"tag": "3d", "aliases": ["three-dimensional"], "parents": ["computer-vision"]},
    ])
    lfs = {lf.name: lf for lf in alias_lfs(v)}
    assert set(lfs) == {"alias:3d", "alias:computer-vision"}
    assert lfs["alias:3d"]("A Three Dimensional scene") == {"3d", "computer-vision"}
    assert lfs["alias:computer-vision"]("classic CV tricks") == {"computer-vision"}
    assert lfs["alias:3d"]("3dfx card") == frozenset()
    (only,) = alias_lfs(v, tags=["three-dimensional"], closure=False)
    assert only("3d shapes") == {"3d"}


def test_model_lf_single_and_multilabel():
    class Single:
        classes_ = np.array(["ham", "spam"])

        def predict_proba(self, X):
            return np.array([[0.1, 0.9] if "prize" in x else [0.4, 0.6] for x in X])

    lf = model_lf(Single(), threshold=0.8)
    assert lf("a prize") == {"spam"} and lf("hello") == frozenset()

    class Multi(Single):
        multilabel_ = True
        classes_ = np.array(["a", "b", "c"])

        def predict_proba(self, X):
            return np.array([[0.9, 0.85, 0.2]] * len(X))

    assert model_lf(Multi(), threshold=0.8)("x") == {"a", "b"}


def test_apply_lfs_matrix_and_errors(df):
    lfs = [
        keyword_lf("spam", ["prize", "win"], text="text"),
        keyword_lf("ham", ["meeting", "lunch"], text="text"),
        lookup_lf({"boss@corp.com": "ham"}, key="sender", name="kb"),
    ]
    V = apply_lfs(df, lfs, classes=["ham", "spam"])
    assert V.shape == (4, 3) and V.names == ["keyword:spam", "keyword:ham", "kb"]
    assert V.classes == ["ham", "spam"] and not V.multilabel
    L = V.matrix()
    assert L.tolist() == [[1, -1, -1], [-1, 0, 0], [1, 0, 0], [-1, -1, -1]]
    assert list(V.frame.index) == ["a", "b", "c", "d"]
    r, f, c = V.triplets()
    assert len(r) == len(f) == len(c) == (L >= 0).sum()
    assert sorted(zip(r, f, c)) == sorted((i, j, L[i, j]) for i, j in zip(*np.nonzero(L >= 0)))
    with pytest.raises(InputError, match="unique names"):
        apply_lfs(df, [lfs[0], lfs[0]])

    @labeling_function()
    def broken(row):
        return row["missing"]

    with pytest.raises(InputError, match="'broken' failed on row 'a'"):
        apply_lfs(df, [broken])
    multi = apply_lfs(df, [LabelingFunction("two", lambda r: ["x", "y"])])
    assert multi.multilabel and multi.classes == ["x", "y"]
    with pytest.raises(InputError, match="multilabel=True"):
        multi.matrix()
    X, cols = multi.tag_matrix("y")
    assert X.sum() == 4 and cols.tolist() == [0]


def test_batch_and_row_paths_agree(df):
    kw = keyword_lf("spam", ["prize"], text="text")
    slow = LabelingFunction("slow", kw.func)
    V = apply_lfs(df, [kw, slow])
    assert V.frame["keyword:spam"].tolist() == V.frame["slow"].tolist()


def test_lf_summary_against_human_labels(df, tmp_path):
    lfs = [
        keyword_lf("spam", ["prize", "win"], text="text"),
        keyword_lf("ham", ["meeting", "lunch"], text="text"),
    ]
    V = apply_lfs(df, lfs, classes=["ham", "spam"])
    s = ClassSession(df.copy(), text="text", classes=["ham", "spam"], annotator="h")
    s.set_label("spam", "a")
    s.set_label("ham", "c")  # row c: spam LF wrong, ham LF right
    S = lf_summary(V, s)
    assert S.loc["keyword:spam", "coverage"] == pytest.approx(0.5)
    assert S.loc["keyword:spam", "overlaps"] == pytest.approx(0.25)  # row c
    assert S.loc["keyword:spam", "conflicts"] == pytest.approx(0.25)
    assert S.loc["keyword:spam", "polarity"] == ["spam"]
    assert S.loc["keyword:spam", ["n_labeled", "correct", "incorrect"]].tolist() == [2, 1, 1]
    assert S.loc["keyword:spam", "emp_accuracy"] == pytest.approx(0.5)
    assert S.loc["keyword:ham", "emp_accuracy"] == pytest.approx(1.0)
    # labels as a Series give the same numbers; no labels -> NaN accuracy
    S2 = lf_summary(V, pd.Series({"a": "spam", "c": "ham"}))
    assert S2["emp_accuracy"].tolist() == S["emp_accuracy"].tolist()
    assert lf_summary(V)["emp_accuracy"].isna().all()
    fig = plot_lf_summary(S)
    assert len(fig.axes[0].patches) == 6
    fig.savefig(tmp_path / "lf.png")
    plt.close(fig)


def test_lf_summary_multilabel_sets(tmp_path):
    d = pd.DataFrame({"text": ["3d cv", "cv only", "nlp", "none"]})
    lfs = [
        keyword_lf(["3d", "cv"], ["3d"]),
        keyword_lf("cv", ["cv"]),
        keyword_lf("nlp", ["nlp", "3d"]),
    ]
    V = apply_lfs(d, lfs)
    assert V.multilabel
    S = lf_summary(V, TagSession(d.copy(), text="text", tags=["3d", "cv", "nlp"]))
    # row 0: {3d,cv} vs {cv}: overlap, no conflict; vs {nlp}: conflict
    assert S.iloc[1]["conflicts"] == pytest.approx(0.25)
    assert S.iloc[0]["conflicts"] == pytest.approx(0.25)
    S = lf_summary(V, {0: ["cv"], 1: ["cv"]})
    # 3d LF voted {3d, cv} on row 0 whose label is {cv}: 1 correct, 1 incorrect
    assert S.iloc[0][["correct", "incorrect"]].tolist() == [1, 1]


def test_alias_lfs_on_madewithml(shared_data):
    import json

    projects = json.loads((shared_data / "madewithml" / "projects.json").read_text())[:120]
    vocab = TagVocabulary.from_json(shared_data / "madewithml" / "tags.json")
    df = pd.DataFrame({"text": [f"{p['title']}. {p['description']}" for p in projects]})
    V = apply_lfs(df, alias_lfs(vocab, text="text"), classes=vocab.tags, multilabel=True)
    assert V.shape == (120, len(vocab.tags))
    assert V.fired().any(axis=1).mean() > 0.7
    truth = pd.Series([vocab.normalize(p["tags"], on_unknown="ignore") for p in projects])
    S = lf_summary(V, truth)
    assert S.loc["alias:pytorch", "emp_accuracy"] > 0.8  # "pytorch" in the text: tagged so
    assert S["coverage"].max() < 0.5
