"""Agreement and model-vs-label metrics, checked against scikit-learn and published worked
examples."""

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support
from sklearn.metrics import confusion_matrix as sk_confusion

from nblabel.errors import InputError
from nblabel.quality.metrics import (
    agreement,
    box_agreement,
    cohen_kappa,
    confusion_matrix,
    fleiss_kappa,
    iou_distribution,
    iou_matrix,
    krippendorff_alpha,
    krippendorff_alpha_per_tag,
    match_boxes,
    plot_confusion_matrix,
    plot_iou_distribution,
    precision_recall,
    ratings_to_counts,
)
from nblabel.shapes import Box

NAN = None


# ---------------------------------------------------------------- Cohen's kappa
@pytest.mark.parametrize("seed", range(5))
def test_cohen_kappa_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(["x", "y", "z"], 200)
    b = np.where(rng.random(200) < 0.6, a, rng.choice(["x", "y", "z"], 200))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_cohen_kappa_worked_example_and_missing():
    # Wikipedia "Cohen's kappa", worked example: 50 proposals, yes/yes 20, yes/no 5,
    # no/yes 10, no/no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    # items missing in either list are dropped
    assert cohen_kappa([*a, None, "yes"], [*b, "no", None]) == pytest.approx(0.4)
    assert cohen_kappa(["a", "b"], ["a", "b"]) == 1.0
    assert np.isnan(cohen_kappa(["a", "a"], ["a", "a"]))
    with pytest.raises(InputError, match="equally long"):
        cohen_kappa(["a"], [])


# ---------------------------------------------------------------- Fleiss' kappa
# Wikipedia "Fleiss' kappa", worked example (10 subjects, 14 raters, 5 categories):
# P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
FLEISS_TABLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_worked_example():
    assert fleiss_kappa(FLEISS_TABLE) == pytest.approx(0.2099, abs=5e-4)
    assert fleiss_kappa(FLEISS_TABLE) != pytest.approx(cohen_kappa([0, 1], [0, 1]))


def test_fleiss_kappa_from_ratings_equals_scotts_pi_for_two_raters():
    rng = np.random.default_rng(3)
    a = rng.choice(list("abc"), 300)
    b = np.where(rng.random(300) < 0.5, a, rng.choice(list("abc"), 300))
    counts, cats = ratings_to_counts(np.stack([a, b], axis=1))
    assert cats == ["a", "b", "c"] and counts.sum() == 600
    # Scott's pi: expected agreement from the pooled label shares
    po = (a == b).mean()
    pooled = np.array([(np.concatenate([a, b]) == c).mean() for c in cats])
    pi = (po - (pooled**2).sum()) / (1 - (pooled**2).sum())
    assert fleiss_kappa(counts) == pytest.approx(pi)
    # a missing rating leaves an item with one rating: dropped
    R = np.stack([a, b], axis=1).astype(object)
    R[0, 1] = None
    c2, _ = ratings_to_counts(R)
    assert fleiss_kappa(c2) == pytest.approx(fleiss_kappa(counts[1:]))
    with pytest.raises(InputError, match="not one of"):
        ratings_to_counts([["a", "b"]], categories=["a"])


# ---------------------------------------------------------------- Krippendorff's alpha
def test_krippendorff_alpha_binary_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section A:
    # two observers, ten units, binary data -> alpha = 0.095
    A = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    B = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert krippendorff_alpha([A, B]) == pytest.approx(0.095, abs=5e-4)


def test_krippendorff_alpha_nominal_with_missing_values():
    # Krippendorff (2011), section C: four observers, twelve units, missing values,
    # nominal alpha = 0.743
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
    assert krippendorff_alpha(data) == pytest.approx(0.743, abs=5e-4)
    floats = [[np.nan if v is None else float(v) for v in row] for row in data]
    assert krippendorff_alpha(floats) == pytest.approx(0.743, abs=5e-4)
    with pytest.raises(InputError, match="nominal"):
        krippendorff_alpha(data, level="interval")
    assert np.isnan(krippendorff_alpha([[1, 1], [1, 1]]))


def test_krippendorff_alpha_per_tag():
    data = [
        [["cv", "3d"], ["nlp"], [], ["cv"], None],
        [["cv"], ["nlp"], [], ["cv"], ["nlp"]],
        [["cv", "3d"], ["nlp"], ["3d"], None, ["nlp"]],
    ]
    s = krippendorff_alpha_per_tag(data)
    assert set(s.index) == {"3d", "cv", "nlp"}
    assert s["nlp"] == pytest.approx(1.0) and s["cv"] == pytest.approx(1.0)
    binary = [[None if v is None else int("3d" in v) for v in row] for row in data]
    assert s["3d"] == pytest.approx(krippendorff_alpha(binary))
    assert s["3d"] < 0.5


# ---------------------------------------------------------------- boxes
def test_iou_matrix_and_matching_hand_example():
    a = [Box("cat", 0, 0, 10, 10), Box("dog", 20, 20, 30, 30)]
    b = [Box("dog", 20, 20, 30, 35), Box("cat", 5, 0, 15, 10)]
    M = iou_matrix(a, b)
    assert M[0, 1] == pytest.approx(50 / 150) and M[1, 0] == pytest.approx(100 / 150)
    assert M[0, 0] == 0.0 and Box.iou(a[0], b[1]) == pytest.approx(M[0, 1])
    assert match_boxes(a, b) == [(0, 1, pytest.approx(1 / 3)), (1, 0, pytest.approx(2 / 3))]
    # by_class: a cat is never matched to a dog
    assert match_boxes([Box("cat", 0, 0, 10, 10)], [Box("dog", 0, 0, 10, 10)]) == []
    assert len(match_boxes([Box("cat", 0, 0, 10, 10)], [Box("dog", 0, 0, 10, 10)],
                           by_class=False)) == 1


@pytest.mark.parametrize("seed", range(10))
def test_matching_is_the_best_assignment(seed):
    rng = np.random.default_rng(seed)

    def rand_boxes(k):
        xy = rng.uniform(0, 50, (k, 2))
        wh = rng.uniform(10, 40, (k, 2))
        return [Box("x", *p, *(p + s)) for p, s in zip(xy, wh)]

    a, b = rand_boxes(4), rand_boxes(4)
    M = iou_matrix(a, b)
    best = max(sum(M[i, p[i]] for i in range(4)) for p in itertools.permutations(range(4)))
    got = sum(i for _, _, i in match_boxes(a, b))
    assert got == pytest.approx(best)


def test_box_agreement_and_iou_distribution(tmp_path):
    a = [[Box("x", 0, 0, 10, 10)], [Box("x", 0, 0, 10, 10), Box("x", 50, 50, 60, 60)], []]
    b = [[Box("x", 0, 0, 10, 12).to_dict()], [Box("x", 2, 0, 10, 10)], []]
    r = box_agreement(a, b)
    # IoUs: 100/120 = 0.833 and 80/100 = 0.8; 3 + 2 boxes
    assert r["n_a"] == 3 and r["n_b"] == 2 and r["matched"] == 2
    assert r["mean_iou"] == pytest.approx((100 / 120 + 0.8) / 2)
    assert r["f1@0.5"] == pytest.approx(2 * 2 / 5)
    assert r["f1@0.7"] == pytest.approx(2 * 2 / 5)
    r9 = box_agreement(a, b, thresholds=[0.82])
    assert r9["f1@0.82"] == pytest.approx(2 * 1 / 5)
    assert box_agreement([[]], [[]])["f1@0.5"] == 1.0
    ious = iou_distribution(b, a)  # reference a: 3 boxes, one missed
    assert ious.tolist() == pytest.approx([100 / 120, 0.8, 0.0])
    fig = plot_iou_distribution(ious)
    fig.savefig(tmp_path / "iou.png")
    assert len(fig.axes[0].patches) == 20
    plt.close(fig)
    with pytest.raises(InputError):
        box_agreement(a, b[:1])


# ---------------------------------------------------------------- models vs labels
def test_precision_recall_matches_sklearn_single_label():
    rng = np.random.default_rng(0)
    y = rng.choice(["a", "b", "c"], 300)
    p = np.where(rng.random(300) < 0.7, y, rng.choice(["a", "b", "c"], 300))
    df = precision_recall(list(y), list(p))
    P, R, F, S = precision_recall_fscore_support(y, p, labels=["a", "b", "c"])
    assert np.allclose(df.loc[["a", "b", "c"], "precision"], P)
    assert np.allclose(df.loc[["a", "b", "c"], "recall"], R)
    assert np.allclose(df.loc[["a", "b", "c"], "f1"], F)
    assert df.loc[["a", "b", "c"], "support"].tolist() == S.tolist()
    assert df.loc["micro", "f1"] == pytest.approx((y == p).mean())
    assert df.loc["macro", "f1"] == pytest.approx(F.mean())


def test_precision_recall_multilabel():
    y = [["cv", "3d"], ["nlp"], [], None]
    p = [["cv"], ["nlp", "cv"], ["3d"], ["nlp"]]
    df = precision_recall(y, p)
    assert df.loc["cv", ["precision", "recall"]].tolist() == [0.5, 1.0]
    assert df.loc["3d", ["precision", "recall"]].tolist() == [0.0, 0.0]
    assert df.loc["micro", "precision"] == pytest.approx(2 / 4)
    assert df.loc["micro", "recall"] == pytest.approx(2 / 3)


def test_confusion_matrix_matches_sklearn(tmp_path):
    y = ["a", "b", "a", "c", "c", "a"]
    p = ["a", "a", "a", "c", "b", None]
    cm = confusion_matrix(y, p)
    assert list(cm.index) == ["a", "b", "c"]
    assert list(cm.columns) == ["a", "b", "c", "(none)"]
    ref = sk_confusion(y[:5], p[:5], labels=["a", "b", "c"])
    assert np.array_equal(cm.iloc[:, :3].to_numpy(), ref)
    assert cm.loc["a", "(none)"] == 1
    fig = plot_confusion_matrix(cm)
    fig.savefig(tmp_path / "cm.png")
    plt.close(fig)
    assert len(fig.axes[0].texts) == 12


def test_agreement_from_sessions_sharing_a_store():
    import pandas as pd

    from nblabel.quality.review import annotator_labels
    from nblabel.session import ClassSession, TagSession
    from nblabel.store import Store

    df = pd.DataFrame({"t": list("abcdef")})
    store = Store(":memory:")
    a = ["x", "x", "y", "y", "x", "y"]
    b = ["x", "y", "y", "y", "x", None]
    for who, labs in (("ann1", a), ("ann2", b)):
        s = ClassSession(df.copy(), text="t", classes=["x", "y"], annotator=who, store=store)
        for i, v in enumerate(labs):
            if v is not None:
                s.set_label(v, i)
    A = annotator_labels(s)
    r = agreement(A)
    assert r["annotators"] == ["ann1", "ann2"] and r["items_with_2plus"] == 5
    assert r["cohen_kappa"] == pytest.approx(cohen_kappa_score(a[:5], b[:5]))
    assert r["krippendorff_alpha"] == pytest.approx(krippendorff_alpha([a, b]))
    assert r["fleiss_kappa"] == pytest.approx(fleiss_kappa(ratings_to_counts(
        np.array([a[:5], b[:5]], dtype=object).T)[0]))
    tstore = Store(":memory:")
    for who, tags in (("p", [["u"], ["u", "v"]]), ("q", [["u"], ["u"]])):
        ts = TagSession(df.iloc[:2].copy(), text="t", tags=["u", "v"], annotator=who,
                        store=tstore)
        for i, v in enumerate(tags):
            ts.set_tags(v, i)
    rt = agreement(annotator_labels(ts), kind="tags")
    assert rt["alpha_per_tag"]["v"] < 0.5 and np.isnan(rt["alpha_per_tag"]["u"])
