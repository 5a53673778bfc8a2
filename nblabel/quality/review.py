"""Review queues: a separate quality pass over labeled items.

``Review(session, where=...)`` picks labeled items worth a second look and orders them,
most suspicious first:

``"disagreement"``
    annotators gave the item different labels (their latest labels, from the store);
``"model"``
    a model, predicting each item without having seen its label (out-of-fold), confidently
    disagrees with it (confident learning, :mod:`nblabel.quality.confident`); for boxes, a model's
    predicted boxes (``predictions=``) do not match the labeled ones;
``"consistency"``
    (boxes) a box looks unlike the other boxes of its class (:mod:`nblabel.quality.boxcheck`);
``"lf"``
    labeling functions vote against the label (:mod:`nblabel.quality.lf`);
``"overruled"``
    the label departs from a suggestion the assistant was confident about (score x
    disagreement; :mod:`nblabel.quality.overruled`): a slip, or a box on the wrong object;
``"audit"``
    a seeded random sample of labeled items.

A reviewer then approves, fixes or sends back each item. Every decision is an event in
the session's store (action ``review``, status ``approved``, ``accepted`` (fixed) or
``sent_back``, with the reviewer's name, a note and the reasons); a fix is also a
``label`` event by the reviewer, so the session's DataFrame column shows the reviewed
value at once and after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from nblabel.errors import InputError
from nblabel.store import LabelEvent, default_annotator
from nblabel.store.log import LabelLog

__all__ = ["REASONS", "Review", "annotator_labels", "review_events"]

REASONS = ("disagreement", "model", "consistency", "lf", "overruled", "audit")
_STATUS = {"approve": "approved", "fix": "accepted", "send_back": "sent_back"}


# ---------------------------------------------------------------------------- store views
def review_events(session: Any) -> pd.DataFrame:
    """Every review decision of the session's task: item, decision, status, reviewer,
    time, note, reasons, ref (the reviewer's label event of a fix)."""
    rows = []
    for ev in session.store.events(session.task):
        if ev.action != "review":
            continue
        p = ev.payload or {}
        rows.append({
            "item": ev.item, "decision": p.get("decision"), "status": ev.status,
            "reviewer": ev.annotator, "time": pd.Timestamp(ev.ts, unit="s", tz="UTC"),
            "note": p.get("note"), "reasons": p.get("reasons"), "ref": ev.ref, "id": ev.id,
        })
    cols = ["item", "decision", "status", "reviewer", "time", "note", "reasons", "ref", "id"]
    return pd.DataFrame(rows, columns=cols)


def annotator_labels(session: Any, *, include_fixes: bool = False) -> pd.DataFrame:
    """Each annotator's latest label of each item (a replay of the store per annotator).

    Returns a DataFrame indexed by item key, one column per annotator, cells the decoded
    value (``None``: that annotator did not label the item). A reviewer's fixes are left
    out unless ``include_fixes``.
    """
    fixes = set()
    if not include_fixes:
        fixes = {int(r) for r in review_events(session)["ref"].dropna()}
    logs: dict[str, LabelLog] = {}
    for ev in session.store.events(session.task):
        if ev.action == "review" or ev.id in fixes:
            continue
        logs.setdefault(ev.annotator, LabelLog()).apply(ev)
    data: dict[str, dict[str, Any]] = {}
    for who, log in logs.items():
        data[who] = {k: session.decode(ev.payload) for k, ev in log.labeled_items().items()}
    frame = pd.DataFrame(data, dtype=object)
    return frame.where(frame.notna(), None)


# ---------------------------------------------------------------------------- scores
def _disagreement(values: list[Any], kind: str) -> float:
    """0 when all annotators agree, up to 1."""
    if len(values) < 2:
        return 0.0
    if kind == "tags":
        d = [1 - len(a & b) / len(a | b) if a | b else 0.0 for a, b in combinations(values, 2)]
        return float(np.mean(d))
    if kind == "boxes":
        from nblabel.quality.metrics import box_agreement

        return float(np.mean([1 - box_agreement([a], [b])["f1@0.5"]
                              for a, b in combinations(values, 2)]))
    counts = pd.Series([str(v) for v in values]).value_counts()
    return float(1 - counts.iloc[0] / len(values))


@dataclass(frozen=True)
class _Decision:
    decision: str | None
    reviewer: str
    id: int | None


class Review:
    """A quality-review pass over a session's labeled items.

    Parameters
    ----------
    session : LabelSession
        The labeling session (its store receives the review events).
    where : str or sequence of str
        Which items to review: any of :data:`REASONS` (several: union, ranked by the
        largest score).
    reviewer : str, optional
        The reviewer's name (default ``$NBLABEL_ANNOTATOR`` or the OS user).
    model : scikit-learn style classifier, optional
        ``where="model"``: fitted out-of-fold on the labeled items (``n_splits`` folds).
    features : array-like or callable, optional
        Model input for all DataFrame rows (aligned with them), or ``features(df)``;
        default: the items' text.
    pred_probs : DataFrame, optional
        ``where="model"`` without a model: out-of-fold probabilities, indexed like the
        DataFrame, one column per class/tag.
    predictions : mapping, optional
        ``where="model"`` for boxes: item (DataFrame index) -> a model's predicted boxes.
    votes : Votes, optional
        ``where="lf"``: from :func:`nblabel.quality.lf.apply_lfs` on the same DataFrame.
    label_model : fitted LabelModel, optional
        ``where="lf"``, single-label: score ``1 - P(label)`` under the label model
        instead of the share of dissenting votes.
    sample : float or int
        ``where="audit"``: share (< 1) or number of labeled items drawn.
    random_state : int
        Seed of the audit sample and the folds.
    include_reviewed : bool
        Keep items that already have a review decision (default: leave them out).
    """

    def __init__(
        self,
        session: Any,
        where: str | Sequence[str] = "audit",
        *,
        reviewer: str | None = None,
        model: Any = None,
        features: Any = None,
        pred_probs: pd.DataFrame | None = None,
        predictions: Mapping[Any, Any] | None = None,
        votes: Any = None,
        label_model: Any = None,
        sample: float = 0.05,
        random_state: int = 0,
        include_reviewed: bool = False,
        n_splits: int = 5,
    ) -> None:
        self.session = session
        self.where = [where] if isinstance(where, str) else list(where)
        bad = [w for w in self.where if w not in REASONS]
        if bad or not self.where:
            raise InputError(f"unknown review reason(s) {bad}; use any of {REASONS}")
        self.reviewer = reviewer or default_annotator()
        self.model = model
        self.features = features
        self.pred_probs = pred_probs
        self.predictions = predictions
        self.votes = votes
        self.label_model = label_model
        self.sample = sample
        self.random_state = random_state
        self.include_reviewed = include_reviewed
        self.n_splits = n_splits
        self._table: pd.DataFrame | None = None
        self._position = 0
        self._seen_id = 0
        self._reviews: dict[str, _Decision] = {}

    # ------------------------------------------------------------------ building
    @property
    def kind(self) -> str:
        return getattr(self.session, "kind", "label")

    def _labeled(self) -> list[str]:
        keys = self.session.items.keys
        labeled = set(self.session.log.labeled_items())
        return [str(k) for k in keys if str(k) in labeled]

    def refresh(self) -> pd.DataFrame:
        """(Re)compute the queue from the current labels; returns :attr:`table`."""
        keys = self._labeled()
        scores: dict[str, dict[str, float]] = {}
        suggestion: dict[str, Any] = {}
        for reason in self.where:
            got = getattr(self, f"_score_{reason}")(keys, suggestion)
            for k, s in got.items():
                scores.setdefault(k, {})[reason] = float(s)
        reviewed = self._latest_reviews()
        rows = []
        for k in keys:
            if k not in scores:
                continue
            if not self.include_reviewed and k in reviewed:
                continue
            by = scores[k]
            rows.append({
                "item": k,
                "reason": ", ".join(r for r in self.where if r in by),
                "score": max(by.values()),
                "value": self.session.value(k),
                "suggestion": suggestion.get(k),
            })
        cols = ["item", "reason", "score", "value", "suggestion"]
        t = pd.DataFrame(rows, columns=cols)
        t = t.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
        self._table = t
        self._position = 0
        return self.table

    def _latest_reviews(self) -> dict[str, Any]:
        """item -> its latest review decision (read incrementally from the store)."""
        for ev in self.session.store.events(self.session.task, after=self._seen_id):
            self._seen_id = max(self._seen_id, int(ev.id or 0))
            if ev.action == "review":
                p = ev.payload or {}
                self._reviews[ev.item] = _Decision(p.get("decision"), ev.annotator, ev.id)
        return dict(self._reviews)

    def _score_audit(self, keys: list[str], _s: dict) -> dict[str, float]:
        if not keys:
            return {}
        n = self.sample if self.sample >= 1 else max(1, round(self.sample * len(keys)))
        rng = np.random.default_rng(self.random_state)
        pick = rng.choice(len(keys), size=min(int(n), len(keys)), replace=False)
        return {keys[i]: 0.0 for i in sorted(pick)}

    def _score_disagreement(self, keys: list[str], _s: dict) -> dict[str, float]:
        A = annotator_labels(self.session)
        out = {}
        for k in keys:
            if k not in A.index:
                continue
            vals = [v for v in A.loc[k].tolist() if v is not None]
            d = _disagreement(vals, self.kind)
            if d > 0:
                out[k] = d
        return out

    def _features_of(self, keys: list[str]) -> Any:
        pos = self.session.items.positions_of(keys)
        f = self.features
        if f is None:
            return [self.session.items.text(int(p)) or "" for p in pos]
        if callable(f):
            f = f(self.session.df)
        return [f[int(p)] for p in pos] if isinstance(f, list) else (
            f.iloc[pos] if hasattr(f, "iloc") else np.asarray(f)[pos])

    def _labels_for_model(self, keys: list[str]) -> list[Any]:
        vals = [self.session.value(k) for k in keys]
        return [sorted(v) for v in vals] if self.kind == "tags" else vals

    def _score_model(self, keys: list[str], sugg: dict) -> dict[str, float]:
        from nblabel.quality.confident import find_label_issues, out_of_fold_proba

        if self.kind == "boxes":
            return self._score_box_model(keys, sugg)
        y = self._labels_for_model(keys)
        if self.pred_probs is not None:
            pp = self.pred_probs.copy()
            pp.index = [str(i) for i in pp.index]
            missing = [k for k in keys if k not in pp.index]
            if missing:
                raise InputError(f"pred_probs has no row for labeled items {missing[:5]}")
            P, classes = pp.loc[keys].to_numpy(dtype=float), list(pp.columns)
        elif self.model is not None:
            P, classes = out_of_fold_proba(self.model, self._features_of(keys), y,
                                           n_splits=self.n_splits,
                                           random_state=self.random_state)
        else:
            raise InputError("where='model' needs model= (and features=) or pred_probs=")
        issue, score = find_label_issues(y, P, classes)
        for i, k in enumerate(keys):
            if self.kind == "tags":
                sugg[k] = sorted(c for c, p in zip(classes, P[i]) if p >= 0.5)
            else:
                sugg[k] = classes[int(np.argmax(P[i]))]
        return {k: 1.0 + s if iss else s for k, iss, s in zip(keys, issue, score)}

    def _score_box_model(self, keys: list[str], sugg: dict) -> dict[str, float]:
        from nblabel.quality.metrics import _boxes, box_agreement

        if self.predictions is None:
            raise InputError("where='model' on boxes needs predictions={item: boxes}")
        pred = {str(k): v for k, v in self.predictions.items()}
        out = {}
        for k in keys:
            if k not in pred:
                continue
            sugg[k] = tuple(_boxes(pred[k]))
            r = box_agreement([self.session.value(k)], [pred[k]])
            out[k] = 1.0 - r["f1@0.5"] + (0.0 if np.isnan(r["mean_iou"]) else
                                          0.1 * (1 - r["mean_iou"]))
        return out

    def _score_consistency(self, keys: list[str], _s: dict) -> dict[str, float]:
        if self.kind != "boxes":
            raise InputError("where='consistency' is for box sessions; use 'model' otherwise")
        from nblabel.quality.boxcheck import box_outlier_scores

        table = box_outlier_scores(self.session, keys=keys, random_state=self.random_state)
        return table.groupby("item")["score"].max().to_dict()

    def _score_overruled(self, keys: list[str], sugg: dict) -> dict[str, float]:
        from nblabel.quality.overruled import overruled

        t = overruled(self.session, keys)
        t = t[t["score"] > 0]
        sugg.update(zip(t["item"], t["suggestion"]))
        return dict(zip(t["item"], t["score"]))

    def _score_lf(self, keys: list[str], _s: dict) -> dict[str, float]:
        V = self.votes
        if V is None:
            raise InputError("where='lf' needs votes=apply_lfs(df, lfs)")
        index = [str(i) for i in V.frame.index]
        row = {k: i for i, k in enumerate(index)}
        cells = V.frame.to_numpy(dtype=object)
        multi = V.multilabel or self.kind == "tags"
        P = None
        if self.label_model is not None and not multi:
            P = self.label_model.predict_proba(V)
        out = {}
        for k in keys:
            i = row.get(k)
            if i is None:
                continue
            voted = [v for v in cells[i] if v]
            if not voted:
                continue
            value = self.session.value(k)
            if multi:
                tags = set(value)
                n_all = sum(len(v) for v in voted)
                s = sum(len(v - tags) for v in voted) / n_all
            elif P is not None:
                s = 1.0 - (P[i, V.classes.index(value)] if value in V.classes else 0.0)
            else:
                s = sum(value not in v for v in voted) / len(voted)
            if s > 0:
                out[k] = s
        return out

    # ------------------------------------------------------------------ the queue
    @property
    def table(self) -> pd.DataFrame:
        """The queue: item, reason, score, current value, model suggestion, status,
        reviewer (status ``pending`` until decided)."""
        if self._table is None:
            self.refresh()
        t = self._table.copy()  # type: ignore[union-attr]
        latest = self._latest_reviews()
        t["value"] = [self.session.value(k) for k in t["item"]]
        t["status"] = [latest[k].decision if k in latest else "pending" for k in t["item"]]
        t["reviewer"] = [latest[k].reviewer if k in latest else None for k in t["item"]]
        return t

    @property
    def items(self) -> list[str]:
        """Item keys in review order."""
        if self._table is None:
            self.refresh()
        return list(self._table["item"])  # type: ignore[index]

    def __len__(self) -> int:
        return len(self.items)

    @property
    def current(self) -> str | None:
        """The item under review (``None`` when the queue is done)."""
        items = self.items
        return items[self._position] if self._position < len(items) else None

    def next(self) -> str | None:
        """Go to the next item without a decision (in this pass)."""
        items = self.items
        latest = self._latest_reviews()
        p = self._position + 1
        while p < len(items) and items[p] in latest and not self.include_reviewed:
            p += 1
        self._position = p
        return self.current

    def goto(self, key: Any) -> str:
        k = str(key)
        items = self.items
        if k not in items:
            raise InputError(f"item {k!r} is not in this review queue")
        self._position = items.index(k)
        return k

    # ------------------------------------------------------------------ decisions
    def _key(self, key: Any | None) -> str:
        if key is None:
            k = self.current
            if k is None:
                raise InputError("the review queue is done: no current item")
            return k
        k = str(key)
        self.session.items.position_of(key)  # validates
        return k

    def _reasons(self, k: str) -> list[str]:
        t = self._table
        if t is None or k not in set(t["item"]):
            return []
        return t.loc[t["item"] == k, "reason"].iloc[0].split(", ")

    def _decide(self, k: str, decision: str, note: str | None, ref: int | None = None
                ) -> LabelEvent:
        s = self.session
        payload = {"decision": decision, "note": note, "reasons": self._reasons(k),
                   "value": s.encode(s.value(k))}
        stored = s.record_review(k, _STATUS[decision], payload, reviewer=self.reviewer, ref=ref)
        if k == self.current:
            self.next()
        return stored

    def approve(self, key: Any | None = None, *, note: str | None = None) -> LabelEvent:
        """The label is right."""
        k = self._key(key)
        return self._decide(k, "approve", note)

    def send_back(self, key: Any | None = None, *, note: str | None = None) -> LabelEvent:
        """The label needs another look by its annotator (see :meth:`sent_back`)."""
        k = self._key(key)
        return self._decide(k, "send_back", note)

    def fix(self, value: Any, key: Any | None = None, *, note: str | None = None) -> Any:
        """Replace the label by ``value`` (a label event by the reviewer, then the review
        decision referring to it); returns the normalised value."""
        k = self._key(key)
        s = self.session
        annotator = s.annotator
        s.annotator = self.reviewer  # the label event is the reviewer's, not the annotator's
        try:
            new = s.set_value(value, k)
        finally:
            s.annotator = annotator
        label_ev = s.log.current(k)
        self._decide(k, "fix", note, ref=None if label_ev is None else label_ev.id)
        return new

    def sent_back(self) -> list[str]:
        """Items whose latest review decision is "send back"."""
        return [k for k, r in self._latest_reviews().items() if r.decision == "send_back"]

    def summary(self) -> dict[str, int]:
        """Counts of decisions in this queue (pending, approve, fix, send_back)."""
        return self.table["status"].value_counts().to_dict()

    def __repr__(self) -> str:
        n = len(self._table) if self._table is not None else "?"
        return f"Review({self.where}, {n} items, reviewer={self.reviewer!r})"
