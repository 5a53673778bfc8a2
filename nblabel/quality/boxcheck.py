"""Cheap consistency checks of labeled boxes: which boxes look wrong?

Each box gets a small feature vector (no deep model, no GPU):

- geometry relative to the image: centre, width, height, log aspect ratio, log area;
- relative to the other boxes of the same image: log area ratio to their median;
- colour: mean and spread of hue/saturation/value inside the box, the mean of a ring
  just outside it, and the inside-minus-ring contrast (a shifted box cuts its object and
  takes in background, which changes both);
- edges: gradient strength in a thin band on the box border and inside it, relative to
  the image (a well-fitted box has its object's outline on its border);
- with image groups (several photos of one object), log width/height relative to the
  group's median box of the same class.

Two out-of-fold random forests score the boxes:

*class score*
    a forest predicts each box's class; confident learning (:mod:`nblabel.quality.confident`)
    flags boxes whose label it confidently contradicts;
*placement score*
    a forest learns to tell the labeled boxes from randomly moved or resized copies of
    them (made here, IoU < 0.8 with the original; folds by item), and gives each labeled
    box the probability that it is such a displaced box. Labels are trusted to be mostly
    right, as confident learning also assumes.

A box's ``score`` is the larger of the two percentile ranks, so wrong classes and
displaced boxes both reach the top of a review queue. A robust z-score of the features
within the class (``outlier_score``) is reported too but not used in the ranking: on
ECUSTFD it found few planted errors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import cv2
import numpy as np
import pandas as pd

from nblabel.shapes import Box

__all__ = ["box_features", "box_outlier_scores", "score_boxes"]

FEATURES = [
    "cx", "cy", "w", "h", "log_aspect", "log_area", "log_area_vs_image_boxes",
    "h_in", "s_in", "v_in", "s_sd", "v_sd", "h_ring", "s_ring", "v_ring",
    "ds", "dv", "edge_border", "edge_inside", "log_w_vs_group", "log_h_vs_group",
]
_N_IMAGE_FEATURES = 19


def _hsv_stats(hsv: np.ndarray) -> tuple[float, ...]:
    if hsv.size == 0:
        return (0.0,) * 5
    h = hsv[..., 0].astype(float) * (2 * np.pi / 180.0)
    s = hsv[..., 1].astype(float) / 255.0
    v = hsv[..., 2].astype(float) / 255.0
    # hue as an angle: mean direction weighted by saturation, mapped to [0, 1)
    ang = np.arctan2((s * np.sin(h)).mean(), (s * np.cos(h)).mean()) % (2 * np.pi)
    return (ang / (2 * np.pi), s.mean(), v.mean(), s.std(), v.std())


def box_features(pixels: np.ndarray, scale: float, size: tuple[int, int],
                 boxes: Sequence[Box]) -> np.ndarray:
    """``(len(boxes), 19)`` features of the boxes of one image (group columns excluded).

    ``pixels`` is the (possibly reduced) RGB image, ``scale`` its size over ``size``
    (``(width, height)`` of the full image the boxes refer to).
    """
    W, H = size
    hsv = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2HSV)
    ph, pw = hsv.shape[:2]
    gray = cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY).astype(np.float32)
    grad = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    g_mean = float(grad.mean()) + 1e-6
    areas = np.array([b.area for b in boxes], dtype=float)
    out = []
    for i, b in enumerate(boxes):
        others = np.delete(areas, i)
        rel = np.log(b.area / np.median(others)) if len(others) else 0.0
        x0, y0 = int(b.x0 * scale), int(b.y0 * scale)
        x1, y1 = max(int(b.x1 * scale), x0 + 1), max(int(b.y1 * scale), y0 + 1)
        inside = hsv[y0:y1, x0:x1]
        mx, my = max(1, (x1 - x0) // 5), max(1, (y1 - y0) // 5)
        X0, Y0, X1, Y1 = max(0, x0 - mx), max(0, y0 - my), min(pw, x1 + mx), min(ph, y1 + my)
        ring_mask = np.ones((Y1 - Y0, X1 - X0), dtype=bool)
        ring_mask[y0 - Y0:y1 - Y0, x0 - X0:x1 - X0] = False
        ring = hsv[Y0:Y1, X0:X1][ring_mask]
        # edges: a well-fitted box has its object's outline near its border
        bx, by = max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)
        outer = grad[max(0, y0 - by):y1 + by, max(0, x0 - bx):x1 + bx]
        inner = grad[min(y0 + by, y1 - 1):max(y1 - by, y0 + 1),
                     min(x0 + bx, x1 - 1):max(x1 - bx, x0 + 1)]
        band = (outer.sum() - inner.sum()) / max(outer.size - inner.size, 1)
        e_border = band / g_mean
        e_inside = (inner.mean() if inner.size else 0.0) / g_mean
        hi, si, vi, ssd, vsd = _hsv_stats(inside)
        hr, sr, vr, _, _ = _hsv_stats(ring[None, :, :] if ring.size else ring)
        out.append([
            (b.x0 + b.x1) / 2 / W, (b.y0 + b.y1) / 2 / H, b.width / W, b.height / H,
            np.log(b.width / b.height), np.log(b.area / (W * H)), rel,
            hi, si, vi, ssd, vsd, hr, sr, vr, si - sr, vi - vr, e_border, e_inside,
        ])
    return np.asarray(out, dtype=float).reshape(len(boxes), _N_IMAGE_FEATURES)


def _robust_z(F: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Largest |robust z-score| of each row among rows of the same label."""
    out = np.zeros(len(F))
    for c in np.unique(labels):
        sel = labels == c
        if sel.sum() < 5:
            continue
        med = np.median(F[sel], axis=0)
        mad = np.median(np.abs(F[sel] - med), axis=0) * 1.4826
        mad = np.where(mad > 1e-9, mad, np.inf)
        out[sel] = (np.abs(F[sel] - med) / mad).max(axis=1)
    return out


def _displace(b: Box, rng: np.random.Generator, W: int, H: int) -> Box | None:
    """A randomly moved or resized copy of ``b`` (IoU with it below 0.8), or ``None``."""
    for _ in range(20):
        if rng.random() < 0.5:
            dx = rng.uniform(-1.0, 1.0) * b.width
            dy = rng.uniform(-1.0, 1.0) * b.height
            c = (b.x0 + dx, b.y0 + dy, b.x1 + dx, b.y1 + dy)
        else:
            fx = np.exp(rng.uniform(-1.1, 1.1))
            fy = fx * np.exp(rng.uniform(-0.3, 0.3))
            cx = (b.x0 + b.x1) / 2 + rng.uniform(-0.2, 0.2) * b.width
            cy = (b.y0 + b.y1) / 2 + rng.uniform(-0.2, 0.2) * b.height
            c = (cx - fx * b.width / 2, cy - fy * b.height / 2,
                 cx + fx * b.width / 2, cy + fy * b.height / 2)
        x0, y0, x1, y1 = max(0.0, c[0]), max(0.0, c[1]), min(float(W), c[2]), min(float(H), c[3])
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            nb = Box(b.label, x0, y0, x1, y1)
            if nb.iou(b) < 0.8:
                return nb
    return None


def _group_features(t: pd.DataFrame, F: np.ndarray, real: np.ndarray) -> np.ndarray:
    """log width/height minus the median of the real boxes of the same class and group."""
    g = np.zeros((len(t), 2))
    if t["group"].isna().all():
        return g
    logw, logh = np.log(F[:, 2]), np.log(F[:, 3])
    for _, idx in t.groupby(["group", "label"], dropna=False).groups.items():
        ii = np.asarray(list(idx))
        ref = ii[real[ii]]
        if len(ref) >= 3:
            g[ii, 0] = logw[ii] - np.median(logw[ref])
            g[ii, 1] = logh[ii] - np.median(logh[ref])
    return g


def score_boxes(
    records: Sequence[tuple[str, Sequence[Box]]],
    load: Callable[[str], tuple[np.ndarray, float, tuple[int, int]]],
    *,
    groups: dict[str, Any] | None = None,
    random_state: int = 0,
    n_splits: int = 5,
) -> pd.DataFrame:
    """Score every box of ``records`` (item key, boxes); ``load(key)`` returns
    ``(pixels, scale, (width, height))``.

    Returns one row per box: item, box (index), label, ``class_score`` (confident
    learning on an out-of-fold class model), ``placement_score`` (out-of-fold probability
    that the box is displaced, from a model trained to tell the labeled boxes from randomly
    moved/resized copies of them), ``outlier_score`` (robust z, informative only),
    ``score`` (the larger percentile rank of the class and placement scores) and
    ``predicted`` (class).
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import GroupKFold

    from nblabel.quality.confident import find_label_issues, out_of_fold_proba

    rng = np.random.default_rng(random_state)
    rows, feats = [], []
    for key, boxes in records:
        if not boxes:
            continue
        pixels, scale, size = load(key)
        fakes = [_displace(b, rng, *size) for b in boxes]
        extra = [f for f in fakes if f is not None]
        F = box_features(pixels, scale, size, [*boxes, *extra])
        g = None if groups is None else groups.get(key)
        for i, b in enumerate([*boxes, *extra]):
            real = i < len(boxes)
            rows.append({"item": key, "box": i if real else -1, "label": b.label,
                         "group": g, "real": real})
            feats.append(F[i])
    cols = ["item", "box", "label", "class_score", "placement_score", "outlier_score",
            "score", "predicted"]
    if not rows:
        return pd.DataFrame(columns=cols)
    t = pd.DataFrame(rows)
    real = t["real"].to_numpy()
    F = np.asarray(feats)
    F = np.hstack([F, _group_features(t, F, real)])
    # placement: labeled boxes (0) vs displaced copies (1), folds by item
    items = t["item"].to_numpy()
    k = min(n_splits, len(np.unique(items)))
    place = np.zeros(len(t))
    if k >= 2 and (~real).any():
        for tr, te in GroupKFold(k).split(F, real, items):
            m = RandomForestClassifier(n_estimators=80, min_samples_leaf=2, n_jobs=1,
                                       random_state=random_state)
            m.fit(F[tr], (~real[tr]).astype(int))
            place[te] = m.predict_proba(F[te])[:, list(m.classes_).index(1)] \
                if 1 in m.classes_ else 0.0
    t = t[real].reset_index(drop=True)
    F = F[real]
    t["placement_score"] = place[real]
    labels = t["label"].to_numpy()
    if len(np.unique(labels)) >= 2:
        model = RandomForestClassifier(n_estimators=60, min_samples_leaf=2, n_jobs=1,
                                       random_state=random_state)
        P, classes = out_of_fold_proba(model, F, list(labels), n_splits=n_splits,
                                       random_state=random_state)
        issue, s = find_label_issues(list(labels), P, classes)
        t["class_score"] = np.where(issue, 1.0 + s, s)
        t["predicted"] = [classes[j] for j in P.argmax(1)]
    else:
        t["class_score"] = 0.0
        t["predicted"] = labels
    t["outlier_score"] = _robust_z(F, labels)
    r1 = t["class_score"].rank(pct=True).to_numpy()
    r2 = t["placement_score"].rank(pct=True).to_numpy()
    t["score"] = np.maximum(r1, r2)
    return t[cols]


def box_outlier_scores(session: Any, *, keys: Sequence[str] | None = None,
                       random_state: int = 0, max_side: int = 320) -> pd.DataFrame:
    """:func:`score_boxes` over a :class:`~nblabel.session.BoxSession`'s labeled items
    (images decoded reduced to ``max_side``); groups from the session's group column."""
    if keys is None:
        keys = [str(k) for k in session.items.keys if session.is_labeled(str(k))]
    records = [(k, list(session.value(k))) for k in keys]
    groups = None
    if getattr(session, "group_column", None):
        col = session.df[session.group_column]
        groups = {str(k): col.iloc[int(p)] for k, p in
                  zip(keys, session.items.positions_of(list(keys)))}

    def load(key: str) -> tuple[np.ndarray, float, tuple[int, int]]:
        img = session.items.item(key).image(max_side=max_side)
        return img.pixels, img.scale, (img.width, img.height)

    return score_boxes(records, load, groups=groups, random_state=random_state)
