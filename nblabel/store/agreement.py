"""Team reports over a store: each annotator's progress and agreement, per item agreement."""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

import pandas as pd

from nblabel.store.log import LabelLog
from nblabel.store.open import open_store
from nblabel.store.sqlite import Store

__all__ = ["item_agreement", "team_progress"]


def _values_by_annotator(store: Store, task: str) -> dict[str, dict[str, Any]]:
    """annotator -> {item -> its current label event}, replaying each annotator's events."""
    logs: dict[str, LabelLog] = {}
    for ev in store.events(task):
        logs.setdefault(ev.annotator, LabelLog()).apply(ev)
    return {a: lg.labeled_items() for a, lg in logs.items()}


def _canonical(payload_json: str) -> str:
    return json.dumps(json.loads(payload_json), sort_keys=True, separators=(",", ":"))


def item_agreement(store: Store, task: str) -> pd.DataFrame:
    """Per item labeled by two or more annotators: who, how many, and the share of annotator
    pairs whose labels are equal (``agreement``, 0..1).

    Equality is exact (same class, same tag set, same boxes); :mod:`nblabel.quality.metrics` has
    chance-corrected measures (kappa) and box IoU.
    """
    values = _values_by_annotator(store, task)
    by_item: dict[str, dict[str, str]] = {}
    for annotator, items in values.items():
        for item, ev in items.items():
            by_item.setdefault(item, {})[annotator] = _canonical(ev.payload_json)
    rows = []
    for item, labels in by_item.items():
        if len(labels) < 2:
            continue
        pairs = list(combinations(sorted(labels), 2))
        same = sum(labels[a] == labels[b] for a, b in pairs)
        rows.append({"item": item, "annotators": sorted(labels), "n": len(labels),
                     "agreement": same / len(pairs)})
    return pd.DataFrame(rows, columns=["item", "annotators", "n", "agreement"])


def team_progress(store: Store | str, task: str = "label") -> pd.DataFrame:
    """Progress of every annotator of a task, one row each.

    Parameters
    ----------
    store : Store or URL/path
        The team's store.
    task : str
        The task (the session's ``column``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``annotator``: ``labels`` (items currently labeled by them), ``events``
        (all their actions), ``first``/``last`` (UTC), ``per_hour`` (labels per hour between
        their first and last action), ``overlap`` (their items also labeled by someone else),
        ``agreement`` (share of those where the labels are equal; NaN without overlap) and
        ``kappa`` (Cohen's kappa of their labels against the others' on shared items, from
        :func:`nblabel.quality.metrics.cohen_kappa`; single-class labels only, else NaN).
    """
    st = open_store(store, read_only=True) if not isinstance(store, Store) else store
    try:
        values = _values_by_annotator(st, task)
        stats: dict[str, dict[str, Any]] = {}
        for ev in st.events(task):
            s = stats.setdefault(ev.annotator, {"events": 0, "first": ev.ts, "last": ev.ts})
            s["events"] += 1
            s["last"] = max(s["last"], ev.ts)
        canon = {a: {k: _canonical(e.payload_json) for k, e in v.items()}
                 for a, v in values.items()}
    finally:
        if st is not store:
            st.close()
    rows = []
    for annotator in sorted(stats):
        mine = canon.get(annotator, {})
        same = total = overlap = 0
        pairs: list[tuple[str, str]] = []
        for item, value in mine.items():
            others = [canon[b][item] for b in canon if b != annotator and item in canon[b]]
            if others:
                overlap += 1
                total += len(others)
                same += sum(o == value for o in others)
                pairs += [(value, o) for o in others]
        s = stats[annotator]
        span = s["last"] - s["first"]
        rows.append({
            "annotator": annotator,
            "labels": len(mine),
            "events": s["events"],
            "first": pd.Timestamp(s["first"], unit="s", tz="UTC"),
            "last": pd.Timestamp(s["last"], unit="s", tz="UTC"),
            "per_hour": len(mine) / span * 3600 if span > 0 else float("nan"),
            "overlap": overlap,
            "agreement": same / total if total else float("nan"),
            "kappa": _kappa(pairs),
        })
    cols = ["annotator", "labels", "events", "first", "last", "per_hour", "overlap", "agreement",
            "kappa"]
    return pd.DataFrame(rows, columns=cols).set_index("annotator")


def _kappa(pairs: list[tuple[str, str]]) -> float:
    """Cohen's kappa over (mine, other's) canonical JSON labels; NaN unless all are classes."""
    if not pairs or not all(a.startswith('"') and b.startswith('"') for a, b in pairs):
        return float("nan")
    try:
        from nblabel.quality.metrics import cohen_kappa
    except ImportError:  # pragma: no cover - metrics is part of nblabel
        return float("nan")
    return cohen_kappa([json.loads(a) for a, _ in pairs], [json.loads(b) for _, b in pairs])
