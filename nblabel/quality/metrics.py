"""Agreement between annotators and quality of models against labels.

Agreement (nominal labels)
    :func:`cohen_kappa` (two annotators; Cohen 1960), :func:`fleiss_kappa` (many raters
    per item; Fleiss 1971), :func:`krippendorff_alpha` (any number of coders, missing
    values allowed; Krippendorff 2011, "Computing Krippendorff's alpha-reliability") and
    :func:`krippendorff_alpha_per_tag` for multi-label tags (one binary variable per tag).
Boxes
    :func:`match_boxes` pairs two sets of boxes by maximum total IoU (Hungarian algorithm,
    :func:`scipy.optimize.linear_sum_assignment`); :func:`box_agreement` gives the mean IoU
    of matched pairs and F1 at IoU 0.5 and 0.7; :func:`iou_distribution` the best IoU of
    every reference box (0 when missed).
Models vs labels
    :func:`precision_recall` per class (single- or multi-label), :func:`confusion_matrix`
    and :func:`plot_confusion_matrix`, :func:`plot_iou_distribution`.

Missing values (``None``/NaN) mean "not rated" everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nblabel.errors import InputError
from nblabel.shapes import Box

__all__ = [
    "agreement",
    "box_agreement",
    "cohen_kappa",
    "confusion_matrix",
    "fleiss_kappa",
    "iou_distribution",
    "iou_matrix",
    "krippendorff_alpha",
    "krippendorff_alpha_per_tag",
    "match_boxes",
    "plot_confusion_matrix",
    "plot_iou_distribution",
    "precision_recall",
    "ratings_to_counts",
]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA


# ---------------------------------------------------------------------------- kappa
def cohen_kappa(a: Sequence[Any], b: Sequence[Any], *, labels: Sequence[Any] | None = None
                ) -> float:
    """Cohen's kappa of two annotators on the same items (nominal).

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the observed agreement and ``p_e``
    the agreement expected from each annotator's own label frequencies. Items missing in
    either list are dropped. Returns NaN when ``p_e == 1`` (both always give one label).
    """
    a, b = list(a), list(b)
    if len(a) != len(b):
        raise InputError(f"cohen_kappa needs two equally long lists, got {len(a)} and {len(b)}")
    pairs = [(x, y) for x, y in zip(a, b) if not _missing(x) and not _missing(y)]
    if not pairs:
        return float("nan")
    cats = list(labels) if labels is not None else sorted({v for p in pairs for v in p}, key=str)
    idx = {c: i for i, c in enumerate(cats)}
    m = np.zeros((len(cats), len(cats)))
    for x, y in pairs:
        if x not in idx or y not in idx:
            continue
        m[idx[x], idx[y]] += 1
    n = m.sum()
    if n == 0:
        return float("nan")
    po = np.trace(m) / n
    pe = float((m.sum(1) / n) @ (m.sum(0) / n))
    return float("nan") if np.isclose(pe, 1.0) else float((po - pe) / (1 - pe))


def ratings_to_counts(ratings: Any, *, categories: Sequence[Any] | None = None
                      ) -> tuple[np.ndarray, list[Any]]:
    """``(items, raters)`` labels (missing allowed) -> ``(items, categories)`` counts."""
    R = ratings.to_numpy(dtype=object) if hasattr(ratings, "to_numpy") else \
        np.asarray(ratings, dtype=object)
    if R.ndim != 2:
        raise InputError(f"ratings must be 2-D (items x raters), got shape {R.shape}")
    vals = [v for v in R.ravel() if not _missing(v)]
    cats = list(categories) if categories is not None else sorted(set(vals), key=str)
    idx = {c: i for i, c in enumerate(cats)}
    counts = np.zeros((R.shape[0], len(cats)), dtype=int)
    for i, row in enumerate(R):
        for v in row:
            if not _missing(v):
                if v not in idx:
                    raise InputError(f"rating {v!r} of item {i} is not one of {cats}")
                counts[i, idx[v]] += 1
    return counts, cats


def fleiss_kappa(counts: Any) -> float:
    """Fleiss' kappa from an ``(items, categories)`` table of how many raters chose each
    category (use :func:`ratings_to_counts` for a table of labels).

    Items may have different numbers of raters (``P_i`` uses each item's own ``n_i``;
    category shares are pooled over all ratings); items with fewer than two are dropped.
    With a constant number of raters this is exactly Fleiss (1971), eq. 1-9.
    """
    C = np.asarray(counts, dtype=float)
    if C.ndim != 2:
        raise InputError(f"counts must be 2-D (items x categories), got shape {C.shape}")
    n_i = C.sum(1)
    C = C[n_i >= 2]
    n_i = n_i[n_i >= 2]
    if not len(C):
        return float("nan")
    p_j = C.sum(0) / n_i.sum()
    P_i = (C * (C - 1)).sum(1) / (n_i * (n_i - 1))
    P_bar = P_i.mean()
    P_e = float((p_j**2).sum())
    return float("nan") if np.isclose(P_e, 1.0) else float((P_bar - P_e) / (1 - P_e))


# ---------------------------------------------------------------------------- alpha
def krippendorff_alpha(data: Any, *, level: str = "nominal") -> float:
    """Krippendorff's alpha for nominal data.

    Parameters
    ----------
    data : array-like of shape (coders, units)
        The reliability data matrix of Krippendorff (2011): one row per coder, one column
        per unit, ``None``/NaN where a coder did not code a unit. Units coded by fewer
        than two coders are not pairable and are dropped.

    Returns
    -------
    float
        ``1 - D_o / D_e`` from the coincidence matrix; NaN when there is no variation.
    """
    if level != "nominal":
        raise InputError(f"only level='nominal' is implemented, got {level!r}")
    D = data.to_numpy(dtype=object) if hasattr(data, "to_numpy") else np.asarray(data, object)
    if D.ndim != 2:
        raise InputError(f"data must be 2-D (coders x units), got shape {D.shape}")
    counts, _cats = ratings_to_counts(D.T)
    m_u = counts.sum(1)
    counts = counts[m_u >= 2].astype(float)
    m_u = m_u[m_u >= 2]
    if not len(counts):
        return float("nan")
    # coincidence matrix o_ck = sum_u n_uc (n_uk - [c == k]) / (m_u - 1)
    o = np.einsum("uc,uk->ck", counts / (m_u - 1)[:, None], counts)
    o -= np.diag((counts / (m_u - 1)[:, None]).sum(0))
    n_c = o.sum(1)
    n = n_c.sum()
    D_o = (n - np.trace(o)) / n
    D_e = (n**2 - (n_c**2).sum()) / (n * (n - 1))
    return float("nan") if np.isclose(D_e, 0.0) else float(1.0 - D_o / D_e)


def krippendorff_alpha_per_tag(data: Any, *, tags: Iterable[str] | None = None) -> pd.Series:
    """Multi-label agreement: nominal alpha of the binary "has tag" variable, per tag.

    ``data`` is ``(coders, units)`` of tag collections (``None``: unit not coded by that
    coder; an empty list: coded, no tag). Returns a Series indexed by tag.
    """
    D = data.to_numpy(dtype=object) if hasattr(data, "to_numpy") else np.asarray(data, object)
    if D.ndim != 2:
        raise InputError(f"data must be 2-D (coders x units), got shape {D.shape}")
    names = sorted({t for v in D.ravel() if not _missing(v) for t in v}) if tags is None \
        else list(tags)
    out = {}
    for t in names:
        B = np.array([[None if _missing(v) else int(t in v) for v in row] for row in D],
                     dtype=object)
        out[t] = krippendorff_alpha(B)
    return pd.Series(out, name="alpha", dtype=float)


# ---------------------------------------------------------------------------- boxes
def _boxes(v: Any) -> list[Box]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (Box, dict)):
        v = [v]
    return [b if isinstance(b, Box) else Box.from_dict(b) for b in v]


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """``(len(a), len(b))`` IoU of every pair."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    A = np.array([x.xyxy for x in a], dtype=float)
    B = np.array([x.xyxy for x in b], dtype=float)
    ix = np.clip(np.minimum(A[:, None, 2], B[None, :, 2]) - np.maximum(A[:, None, 0],
                                                                      B[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(A[:, None, 3], B[None, :, 3]) - np.maximum(A[:, None, 1],
                                                                      B[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (A[:, 2] - A[:, 0]) * (A[:, 3] - A[:, 1])
    area_b = (B[:, 2] - B[:, 0]) * (B[:, 3] - B[:, 1])
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def match_boxes(a: Any, b: Any, *, by_class: bool = True) -> list[tuple[int, int, float]]:
    """Pairs ``(i, j, iou)`` of boxes of ``a`` and ``b`` maximising the total IoU (each box
    in at most one pair; pairs with IoU 0, or different classes when ``by_class``, are
    never made)."""
    from scipy.optimize import linear_sum_assignment

    A, B = _boxes(a), _boxes(b)
    M = iou_matrix(A, B)
    if by_class and M.size:
        same = np.array([[x.label == y.label for y in B] for x in A])
        M = np.where(same, M, 0.0)
    if not M.size:
        return []
    rows, cols = linear_sum_assignment(-M)
    return [(int(i), int(j), float(M[i, j])) for i, j in zip(rows, cols) if M[i, j] > 0]


def box_agreement(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    thresholds: Sequence[float] = (0.5, 0.7),
    by_class: bool = True,
) -> dict[str, float]:
    """Agreement of two annotators' boxes over the same items.

    Parameters
    ----------
    a, b : sequences (one entry per item) of box lists (:class:`~nblabel.shapes.Box` or
        dicts)

    Returns
    -------
    dict
        ``n_a``, ``n_b`` (boxes), ``matched`` (pairs with IoU > 0), ``mean_iou`` (over
        matched pairs), and for each threshold ``t``: ``f1@t`` = ``2 * pairs with IoU >= t
        / (n_a + n_b)`` (1 when both are empty).
    """
    if len(a) != len(b):
        raise InputError(f"box_agreement needs as many items in a ({len(a)}) as b ({len(b)})")
    ious: list[float] = []
    na = nb = 0
    for x, y in zip(a, b):
        bx, by = _boxes(x), _boxes(y)
        na += len(bx)
        nb += len(by)
        ious.extend(i for _, _, i in match_boxes(bx, by, by_class=by_class))
    arr = np.asarray(ious)
    out: dict[str, float] = {
        "n_a": na, "n_b": nb, "matched": len(ious),
        "mean_iou": float(arr.mean()) if len(arr) else float("nan"),
    }
    for t in thresholds:
        out[f"f1@{t:g}"] = 1.0 if na + nb == 0 else float(2 * (arr >= t).sum() / (na + nb))
    return out


def iou_distribution(pred: Sequence[Any], truth: Sequence[Any], *, by_class: bool = True
                     ) -> np.ndarray:
    """For every reference box (``truth``), the IoU of its matched predicted box (0 when
    missed): the distribution behind recall at any IoU threshold."""
    if len(pred) != len(truth):
        raise InputError(f"{len(pred)} predicted items but {len(truth)} reference items")
    out: list[float] = []
    for p, t in zip(pred, truth):
        bt = _boxes(t)
        got = np.zeros(len(bt))
        for _i, j, iou in match_boxes(p, bt, by_class=by_class):
            got[j] = iou
        out.extend(got.tolist())
    return np.asarray(out)


def plot_iou_distribution(ious: Sequence[float], *, ax: Any = None, bins: int = 20) -> Any:
    """Histogram of IoUs with the 0.5 and 0.7 thresholds marked; returns the Figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3))
    else:
        fig = ax.figure
    ax.hist(np.asarray(ious, dtype=float), bins=bins, range=(0, 1), color="tab:blue")
    for t in (0.5, 0.7):
        ax.axvline(t, color="k", ls="--", lw=1)
    ax.set_xlabel("IoU with the reference box")
    ax.set_ylabel("boxes")
    fig.tight_layout()
    return fig


def agreement(labels: pd.DataFrame, *, kind: str = "label") -> dict[str, Any]:
    """Agreement of annotators from an ``items x annotators`` table of labels (``None``:
    not labeled), e.g. :func:`nblabel.quality.review.annotator_labels` of a session.

    ``kind="label"``: ``cohen_kappa`` (exactly two annotators), ``fleiss_kappa`` (items
    with two or more labels) and ``krippendorff_alpha``. ``"tags"``:
    ``krippendorff_alpha_per_tag`` (a Series) and its mean. ``"boxes"``: mean over pairs
    of annotators of :func:`box_agreement` on the items both labeled.
    """
    who = [str(c) for c in labels.columns]
    out: dict[str, Any] = {"annotators": who,
                           "items_with_2plus": int((labels.notna().sum(axis=1) >= 2).sum())}
    cells = labels.to_numpy(dtype=object)
    if kind == "tags":
        per = krippendorff_alpha_per_tag(cells.T)
        out["alpha_per_tag"] = per
        out["mean_alpha"] = float(per.mean()) if len(per) else float("nan")
        return out
    if kind == "boxes":
        res = []
        for i in range(len(who)):
            for j in range(i + 1, len(who)):
                both = [r for r in range(len(cells))
                        if not _missing(cells[r, i]) and not _missing(cells[r, j])]
                if both:
                    res.append(box_agreement([cells[r, i] for r in both],
                                             [cells[r, j] for r in both]))
        keys = ("mean_iou", "f1@0.5", "f1@0.7")
        out.update({k: float(np.nanmean([r[k] for r in res])) if res else float("nan")
                    for k in keys})
        return out
    if len(who) == 2:
        out["cohen_kappa"] = cohen_kappa(cells[:, 0], cells[:, 1])
    out["fleiss_kappa"] = fleiss_kappa(ratings_to_counts(cells)[0])
    out["krippendorff_alpha"] = krippendorff_alpha(cells.T)
    return out


# ---------------------------------------------------------------------------- models
def _is_multi(y: Sequence[Any]) -> bool:
    return any(not _missing(v) and not isinstance(v, str) and isinstance(v, Iterable)
               for v in y)


def precision_recall(y_true: Sequence[Any], y_pred: Sequence[Any], *,
                     labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, plus ``micro`` and ``macro`` rows.

    Single-label (a class per item) or multi-label (a tag collection per item); items
    whose true label is missing are skipped.
    """
    if len(y_true) != len(y_pred):
        raise InputError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    multi = _is_multi(y_true) or _is_multi(y_pred)
    pairs = [(t, p) for t, p in zip(y_true, y_pred) if not _missing(t)]

    def as_set(v: Any) -> set[Any]:
        if _missing(v):
            return set()
        return set(v) if multi else {v}

    pairs_s = [(as_set(t), as_set(p)) for t, p in pairs]
    names = list(labels) if labels is not None else sorted(
        {c for t, p in pairs_s for c in t | p}, key=str)
    rows = {}
    TP = FP = FN = 0
    for c in names:
        tp = sum(c in t and c in p for t, p in pairs_s)
        fp = sum(c not in t and c in p for t, p in pairs_s)
        fn = sum(c in t and c not in p for t, p in pairs_s)
        TP, FP, FN = TP + tp, FP + fp, FN + fn
        rows[c] = _prf(tp, fp, fn)
    df = pd.DataFrame.from_dict(rows, orient="index",
                                columns=["precision", "recall", "f1", "support"])
    macro = [*df[["precision", "recall", "f1"]].mean().tolist(), df["support"].sum()]
    df.loc["micro"] = _prf(TP, FP, FN)
    df.loc["macro"] = macro
    df["support"] = df["support"].astype(int)
    return df


def _prf(tp: int, fp: int, fn: int) -> list[float]:
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    f = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
    return [p, r, f, tp + fn]


#: Column of :func:`confusion_matrix` counting items without a prediction.
NO_PREDICTION = "(none)"


def confusion_matrix(y_true: Sequence[Any], y_pred: Sequence[Any], *,
                     labels: Sequence[Any] | None = None) -> pd.DataFrame:
    """Counts of (true class, predicted class) pairs: rows true, columns predicted.
    A missing prediction is counted in a ``"(none)"`` column; missing true labels are
    skipped."""
    if len(y_true) != len(y_pred):
        raise InputError(f"{len(y_true)} true labels but {len(y_pred)} predictions")
    pairs = [(t, NO_PREDICTION if _missing(p) else p) for t, p in zip(y_true, y_pred)
             if not _missing(t)]
    names = list(labels) if labels is not None else sorted(
        {v for pair in pairs for v in pair if v is not NO_PREDICTION}, key=str)
    cols = names + ([NO_PREDICTION] if any(p is NO_PREDICTION for _, p in pairs) else [])
    m = pd.DataFrame(0, index=pd.Index(names, name="true"),
                     columns=pd.Index(cols, name="predicted"))
    for t, p in pairs:
        if t in m.index and p in m.columns:
            m.loc[t, p] += 1
    return m


def plot_confusion_matrix(cm: pd.DataFrame, *, normalize: bool = True, ax: Any = None) -> Any:
    """Heat map of a :func:`confusion_matrix` (rows normalised to shares by default)."""
    import matplotlib.pyplot as plt

    M = cm.to_numpy(dtype=float)
    if normalize:
        M = M / np.maximum(M.sum(1, keepdims=True), 1)
    if ax is None:
        size = 1.2 + 0.45 * max(M.shape)
        fig, ax = plt.subplots(figsize=(size + 1, size))
    else:
        fig = ax.figure
    im = ax.imshow(M, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(M.shape[1]), [str(c) for c in cm.columns], rotation=45, ha="right")
    ax.set_yticks(range(M.shape[0]), [str(c) for c in cm.index])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            ax.text(j, i, f"{M[i, j]:.2f}" if normalize else f"{int(M[i, j])}",
                    ha="center", va="center", fontsize=7,
                    color="white" if M[i, j] > 0.6 * max(M.max(), 1e-9) else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig
