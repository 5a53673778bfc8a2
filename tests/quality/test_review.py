"""Review queues: confident learning on planted errors, disagreement, labeling-function
conflicts, audits, and reviewer decisions as store events."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from nblabel.errors import InputError
from nblabel.quality.boxcheck import box_outlier_scores
from nblabel.quality.confident import (
    find_label_issues,
    issue_scores,
    out_of_fold_proba,
    rank_label_issues,
)
from nblabel.quality.lf import apply_lfs, keyword_lf
from nblabel.quality.review import Review, annotator_labels, review_events
from nblabel.session import BoxSession, ClassSession, TagSession
from nblabel.shapes import Box
from nblabel.store import Store


# ---------------------------------------------------------------- confident learning
def _blobs(seed=0, n=600, flip=0.05):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centers = np.array([[0, 0], [3, 0], [0, 3]])
    X = centers[y] + rng.normal(0, 0.8, (n, 2))
    classes = np.array(["a", "b", "c"])
    noisy = y.copy()
    flipped = rng.choice(n, int(flip * n), replace=False)
    noisy[flipped] = (y[flipped] + rng.integers(1, 3, len(flipped))) % 3
    return X, list(classes[noisy]), set(flipped.tolist())


def test_confident_learning_finds_planted_errors():
    X, y, flipped = _blobs()
    P, classes = out_of_fold_proba(LogisticRegression(), X, y)
    assert classes == ["a", "b", "c"] and P.shape == (600, 3)
    issue, score = find_label_issues(y, P, classes)
    assert score.shape == (600,) and ((score >= 0) & (score <= 1)).all()
    found = set(np.flatnonzero(issue).tolist())
    recall = len(found & flipped) / len(flipped)
    precision = len(found & flipped) / len(found)
    assert recall >= 0.7 and precision >= 0.5
    k = len(flipped)
    top = set(rank_label_issues(y, P, classes)[:k].tolist())
    assert len(top & flipped) / k >= 0.7  # random order would give ~0.05
    s = issue_scores(y, P, classes)
    assert (s[issue] >= 1).all() and (s[~issue] < 1).all()


def test_confident_learning_multilabel_and_errors():
    rng = np.random.default_rng(1)
    n = 400
    X = rng.normal(size=(n, 2))
    truth = [{"p"} if x[0] > 0 else set() for x in X]
    labels = [sorted(t ^ {"p"}) if i < 20 else sorted(t) for i, t in enumerate(truth)]
    P = np.where(X[:, :1] > 0, 0.95, 0.05)
    issue, score = find_label_issues(labels, P, ["p"])
    assert set(np.flatnonzero(issue)) == set(range(20))
    assert score[:20].min() > score[20:].max()
    with pytest.raises(InputError, match="shape"):
        find_label_issues(labels, P[:10], ["p"])
    with pytest.raises(InputError, match="not columns"):
        find_label_issues(["zz"], np.ones((1, 1)), ["a"])


def test_out_of_fold_never_sees_the_item():
    class Memorise:
        """Predicts the training label of an identical feature row, else uniform."""

        def get_params(self, deep=False):
            return {}

        def fit(self, X, y):
            self.classes_ = np.array(sorted(set(y)))
            self.seen = {tuple(x): v for x, v in zip(X, y)}
            return self

        def predict_proba(self, X):
            out = np.full((len(X), len(self.classes_)), 1 / len(self.classes_))
            for i, x in enumerate(X):
                if tuple(x) in self.seen:
                    out[i] = self.classes_ == self.seen[tuple(x)]
            return out

    X = np.arange(40).reshape(20, 2)
    y = ["a", "b"] * 10
    P, _ = out_of_fold_proba(Memorise(), X, y)
    assert np.allclose(P, 0.5)  # every item predicted by a model that never saw it


# ---------------------------------------------------------------- sessions
TEXTS = {
    "sport": ["football match goal", "tennis player wins", "the team scored a goal",
              "basketball game tonight", "the coach and the team"],
    "food": ["pasta with tomato sauce", "bake bread with flour", "a recipe for soup",
             "fresh salad and cheese", "chocolate cake recipe"],
}


def _text_frame(n_per=30, seed=0):
    rng = np.random.default_rng(seed)
    rows, ys = [], []
    for c, words in TEXTS.items():
        for i in range(n_per):
            rows.append(f"{words[i % 5]} {rng.choice(words).split()[0]} {i}")
            ys.append(c)
    return pd.DataFrame({"text": rows, "truth": ys}, index=[f"t{i}" for i in range(len(ys))])


def test_model_review_ranks_flipped_labels_first():
    df = _text_frame()
    s = ClassSession(df, text="text", classes=["sport", "food"], annotator="ann")
    flipped = {"t3", "t40"}
    for k, y in df["truth"].items():
        s.set_label({"sport": "food", "food": "sport"}[y] if k in flipped else y, k)
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(C=10))
    r = Review(s, where="model", model=model, reviewer="rev")
    t = r.table
    assert set(t["item"].head(2)) == flipped
    assert (t["score"].head(2) > 1).all()  # confident-learning issues
    assert t.loc[t["item"] == "t3", "suggestion"].iloc[0] == "sport"
    assert t["status"].eq("pending").all() and r.current in flipped
    # the same with precomputed probabilities
    pp = pd.DataFrame(0.1, index=df.index, columns=["food", "sport"])
    pp.loc[df["truth"] == "sport", "sport"] = 0.9
    pp.loc[df["truth"] == "food", "food"] = 0.9
    t2 = Review(s, where="model", pred_probs=pp).table
    assert set(t2["item"].head(2)) == flipped
    with pytest.raises(InputError, match="needs model"):
        Review(s, where="model").refresh()


def test_decisions_are_store_events_and_fixes_show_in_the_dataframe(tmp_path):
    df = _text_frame(5)
    path = tmp_path / "s.sqlite"
    s = ClassSession(df, text="text", classes=["sport", "food"], annotator="ann", store=path)
    for k, y in df["truth"].items():
        s.set_label(y, k)
    s.set_label("food", "t0")  # wrong
    audit = Review(s, where="audit", sample=4, random_state=1)
    assert len(audit.items) == 4 and audit.items == Review(s, sample=4, random_state=1).items
    assert len(Review(s, sample=0.5).items) == 5
    assert audit.items != Review(s, sample=4, random_state=2).items
    probs = pd.DataFrame({"sport": (df["truth"] == "sport") * 0.8 + 0.1,
                          "food": (df["truth"] == "food") * 0.8 + 0.1})
    r = Review(s, where="model", pred_probs=probs, reviewer="rev")
    assert r.current == "t0"
    r.fix("sport", note="obviously sport")
    assert df.at["t0", "label"] == "sport"
    assert s.value("t0") == "sport" and s.annotator == "ann"
    other = next(k for k in r.items if k != "t0")
    r.approve(other)
    last = [k for k in r.items if k not in ("t0", other)]
    if last:
        r.send_back(last[0], note="unsure")
        assert r.sent_back() == [last[0]]
    ev = review_events(s)
    assert ev["reviewer"].eq("rev").all()
    assert ev.iloc[0][["item", "decision", "status", "note"]].tolist() == [
        "t0", "fix", "accepted", "obviously sport"]
    assert ev.iloc[1][["item", "decision", "status"]].tolist() == [other, "approve", "approved"]
    t = r.table
    assert t.set_index("item").loc["t0", "status"] == "fix"
    assert t.set_index("item").loc["t0", "reviewer"] == "rev"
    # the fix is the reviewer's label event; the annotator's own label stays hers
    A = annotator_labels(s)
    assert list(A.columns) == ["ann"] and A.loc["t0", "ann"] == "food"
    assert annotator_labels(s, include_fixes=True).loc["t0", "rev"] == "sport"
    s.close()
    # a restart shows the reviewed value and keeps the decisions
    df2 = _text_frame(5)
    s2 = ClassSession(df2, text="text", classes=["sport", "food"], annotator="ann", store=path)
    assert df2.at["t0", "label"] == "sport"
    assert len(review_events(s2)) == len(ev)
    assert "t0" not in Review(s2, where="audit", sample=1.0 - 1e-9).items  # reviewed: skipped
    assert "t0" in Review(s2, where="audit", sample=10, include_reviewed=True).items
    s2.close()


def test_disagreement_between_annotators():
    df = _text_frame(3)
    store = Store(":memory:")
    a = ClassSession(df, text="text", classes=["sport", "food"], annotator="ann1", store=store)
    b = ClassSession(df.copy(), text="text", classes=["sport", "food"], annotator="ann2",
                     store=store)
    for k, y in df["truth"].items():
        a.set_label(y, k)
        b.set_label(y, k)
    b.set_label("food", "t1")
    b.undo()  # undone: no disagreement left on t1
    b.set_label("sport", "t4")
    a2 = ClassSession(df.copy(), text="text", classes=["sport", "food"], annotator="ann1",
                      store=store)
    r = Review(a2, where="disagreement")
    assert r.items == ["t4"]
    assert r.table.iloc[0]["score"] == pytest.approx(0.5)
    A = annotator_labels(a2)
    assert A.loc["t4"].tolist() == ["food", "sport"]


def test_tag_disagreement_and_lf_conflicts():
    df = pd.DataFrame({"text": ["a gan for images", "bert for text", "a cnn on images"]})
    store = Store(":memory:")
    s1 = TagSession(df, text="text", tags=["cv", "nlp", "gan"], annotator="x", store=store)
    s2 = TagSession(df.copy(), text="text", tags=["cv", "nlp", "gan"], annotator="y",
                    store=store)
    s2.set_tags(["cv"], 0)
    s1.set_tags(["cv", "gan"], 0)
    s2.set_tags(["nlp"], 1)
    s1.set_tags(["cv"], 1)  # wrong: the text is about nlp (and the latest value)
    s2.set_tags(["cv"], 2)
    s1.set_tags(["cv"], 2)
    s = TagSession(df.copy(), text="text", tags=["cv", "nlp", "gan"], annotator="x",
                   store=store)
    t = Review(s, where="disagreement").table
    assert t["item"].tolist() == ["1", "0"]  # disjoint sets first, then Jaccard 1/2
    assert t["score"].tolist() == pytest.approx([1.0, 0.5])
    V = apply_lfs(df, [keyword_lf("cv", ["images", "cnn"]), keyword_lf("nlp", ["bert", "text"]),
                       keyword_lf("gan", ["gan"])])
    t = Review(s, where="lf", votes=V).table
    # item 1's value {cv}: the nlp LF votes against it; item 0 {cv, gan} agrees with both
    assert t["item"].tolist() == ["1"] and t["score"].iloc[0] == pytest.approx(1.0)
    t = Review(s, where=["lf", "disagreement"], votes=V).table
    assert t.iloc[0]["reason"] == "lf, disagreement"  # in the order of where=
    with pytest.raises(InputError, match="needs votes"):
        Review(s, where="lf").refresh()
    with pytest.raises(InputError, match="unknown review reason"):
        Review(s, where="vibes")


def test_single_label_lf_review_with_label_model():
    from nblabel.quality.labelmodel import LabelModel

    df = _text_frame(10)
    s = ClassSession(df, text="text", classes=["sport", "food"], annotator="ann")
    for k, y in df["truth"].items():
        s.set_label(y, k)
    s.set_label("food", "t2")
    lfs = [keyword_lf("sport", ["goal", "team", "tennis"]), keyword_lf("food", ["recipe"]),
           keyword_lf("sport", ["football", "basketball", "coach"], name="kw2"),
           keyword_lf("food", ["pasta", "bread", "salad", "cake"], name="kw3")]
    V = apply_lfs(df, lfs, classes=["sport", "food"])
    t = Review(s, where="lf", votes=V).table
    assert t.iloc[0]["item"] == "t2" and t.iloc[0]["score"] == 1.0
    lm = LabelModel().fit(V)
    t = Review(s, where="lf", votes=V, label_model=lm).table
    assert t.iloc[0]["item"] == "t2" and t.iloc[0]["score"] > 0.5


# ---------------------------------------------------------------- boxes
def _plates(tmp_path, n=24):
    """Images with a red object box (class 'apple') and a small grey one ('coin')."""
    rng = np.random.default_rng(0)
    paths, boxes = [], []
    for i in range(n):
        img = np.full((120, 160, 3), 235, np.uint8)
        x0, y0 = int(rng.integers(10, 60)), int(rng.integers(10, 40))
        w, h = int(rng.integers(50, 60)), int(rng.integers(45, 55))
        img[y0:y0 + h, x0:x0 + w] = (200, 30, 30)
        cx, cy = int(rng.integers(120, 140)), int(rng.integers(80, 100))
        img[cy:cy + 12, cx:cx + 12] = (120, 120, 120)
        p = tmp_path / f"p{i}.png"
        Image.fromarray(img).save(p)
        paths.append(str(p))
        boxes.append([Box("apple", x0, y0, x0 + w, y0 + h),
                      Box("coin", cx, cy, cx + 12, cy + 12)])
    return pd.DataFrame({"path": paths}, index=[f"p{i}" for i in range(n)]), boxes


def test_box_consistency_and_model_review(tmp_path):
    df, boxes = _plates(tmp_path)
    s = BoxSession(df, image="path", classes=["apple", "coin"], annotator="ann")
    for k, bs in zip(df.index, boxes):
        s.set_boxes(bs, k)
    a = boxes[5][0]
    s.set_boxes([a.replace(x0=a.x0 + 45, x1=a.x1 + 45), boxes[5][1]], "p5")  # displaced
    s.set_boxes([boxes[9][0], boxes[9][1].replace(label="apple")], "p9")  # wrong class
    scores = box_outlier_scores(s)
    assert len(scores) == 48
    top = scores.sort_values("score", ascending=False).head(4)
    assert {"p5", "p9"} <= set(top["item"])
    assert scores.set_index(["item", "box"]).loc[("p9", 1), "predicted"] == "coin"
    assert set(Review(s, where="consistency").items[:4]) >= {"p5", "p9"}
    preds = {k: bs for k, bs in zip(df.index, boxes)}
    t = Review(s, where="model", predictions=preds).table
    assert set(t["item"].head(2)) == {"p5", "p9"} and (t["score"].iloc[2:] == 0).all()
    r = Review(s, where="model", predictions=preds, reviewer="rev")
    r.fix(boxes[5], "p5")
    assert df.at["p5", "boxes"][0]["x0"] == boxes[5][0].x0
    with pytest.raises(InputError, match="box sessions"):
        Review(ClassSession(pd.DataFrame({"t": ["x"]}), text="t", classes=["a"]),
               where="consistency").refresh()


def test_quality_modules_import_without_widget_libraries():
    import subprocess
    import sys

    program = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in {'ipywidgets', 'ipycanvas', 'anywidget'}:\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import nblabel\n"
        "for m in ['lf', 'labelmodel', 'review', 'confident', 'boxcheck', 'metrics']:\n"
        "    __import__('nblabel.' + m)\n"
        "print(nblabel.Review.__name__, nblabel.lf_summary.__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Review", "lf_summary"]


# ------------------------------------------------------------------ overruled suggestions
def test_overruled_ranks_labels_far_from_a_confident_suggestion(tmp_path):
    from nblabel.quality.overruled import agreement, overruled

    df, boxes = _plates(tmp_path, n=6)
    s = BoxSession(df, image="path", classes=["apple", "coin"], annotator="ann",
                   store=str(tmp_path / "o.sqlite"))
    food = [bs[0] for bs in boxes]
    s.suggest("p0", [food[0]], source="model", score=0.99)
    s.accept(0, "p0")  # kept: agreement 1
    s.suggest("p1", [food[1]], source="model", score=0.98)
    s.reject(0, "p1")
    s.set_boxes([boxes[1][1].replace(label="apple")], "p1")  # the apple box on the coin
    s.suggest("p2", [food[2]], source="tracker", score=0.30)
    s.reject(0, "p2")
    s.set_boxes([boxes[2][1].replace(label="apple")], "p2")  # as far, less confident
    b = food[3]
    s.suggest("p3", [b], source="model", score=0.95)
    s.reject(0, "p3")
    s.set_boxes([b.replace(x1=b.x1 + 0.5 * b.width)], "p3")  # a looser box: partly kept
    s.set_boxes([food[4]], "p4")  # no suggestion: not listed
    s.suggest("p5", [food[5]], source="model", score=0.9)  # suggested, never labeled
    t = overruled(s)
    assert list(t["item"]) == ["p1", "p3", "p2", "p0"]
    assert t.loc[0, "score"] == pytest.approx(0.98) and t.loc[0, "source"] == "model"
    assert 0 < t.loc[1, "agreement"] < 1 and t.loc[3, "score"] == 0
    assert t.loc[0, "value"][0].label == "apple"
    r = Review(s, where="overruled", reviewer="rev")
    assert r.items == ["p1", "p3", "p2"]  # an accepted suggestion is no reason
    assert r.table.loc[0, "suggestion"][0] == food[1].replace(source="model", score=0.98)
    r.fix([food[1]], "p1")  # the reviewer puts the box back on the apple
    assert Review(s, where="overruled").items == ["p3", "p2"]
    # a later suggestion does not count for a label made before it
    s.suggest("p4", [food[4]], source="model", score=0.99)
    assert "p4" not in set(overruled(s)["item"])
    assert agreement("label", "cat", "cat") == 1 and agreement("label", "cat", "dog") == 0
    assert agreement("tags", ["a", "b"], ["b"]) == 0.5 and agreement("tags", (), None) == 1


def test_overruled_on_classes_and_tags():
    from nblabel.quality.overruled import overruled

    df = pd.DataFrame({"t": ["a", "b", "c"]}, index=[10, 11, 12])
    c = ClassSession(df, text="t", classes=["x", "y"])
    c.suggest(10, "x", source="model", score=0.9)
    c.set_value("y", 10)
    c.suggest(11, "x", source="model", score=0.8)
    c.accept(0, 11)
    assert list(overruled(c)["item"]) == ["10", "11"]
    assert list(overruled(c)["score"]) == [pytest.approx(0.9), 0]
    g = TagSession(df, text="t", tags=["p", "q", "r"])
    g.suggest(12, ["p", "q"], source="model", score=0.6)
    g.set_value(["q", "r"], 12)
    t = overruled(g)
    assert t.loc[0, "agreement"] == pytest.approx(1 / 3)
    assert t.loc[0, "score"] == pytest.approx(0.4)
