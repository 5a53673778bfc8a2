"""Class balance: per class (or tag) how many labels there are, how many suggestions wait,
and how often the model's suggestions of that class were accepted -- where more samples
are needed and where the model is weakest.

Counted from the session's event log: current labels (a box of class ``c`` counts once per
box, a tag or class once per item), pending suggestions, and every accept (a label event
that refers to a suggestion) or reject of a suggestion that contained the class and was
not undone. ``accuracy`` is accepted / (accepted + rejected); ``NaN`` before any decision.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["class_balance", "plot_class_balance"]

COLUMNS = ["labels", "items", "pending", "accepted", "rejected", "accuracy", "share"]


def _classes(session: Any, payload: Any) -> list[str]:
    """The class of each label in a stored payload (boxes: one per box)."""
    if payload is None:
        return []
    if session.kind == "boxes":
        return [str(b["label"]) for b in payload]
    if session.kind == "tags":
        return [str(t) for t in payload]
    return [str(payload)]


def _names(session: Any) -> list[str]:
    if session.kind == "tags":
        return list(session.tag_names)
    return list(session.classes)


def _decisions(session: Any) -> list[tuple[str, set[str]]]:
    """Accept and reject events on suggestions that are in effect (an undone decision no
    longer counts, a redone one again), with the classes of the suggestion."""
    lg = session.log
    found: dict[int, tuple[str, set[str]]] = {}
    active: dict[int, bool] = {}
    for ev in session.store.events(session.task):
        if ev.action in ("label", "reject") and ev.ref is not None:
            sug = lg.by_id.get(ev.ref)
            if sug is not None and sug.action == "suggest":
                found[int(ev.id)] = (ev.action, set(_classes(session, sug.payload.get("value"))))
                active[int(ev.id)] = True
        elif ev.action in ("undo", "redo") and ev.ref in found:
            active[int(ev.ref)] = ev.action == "redo"
    return [found[i] for i, on in active.items() if on]


def class_balance(session: Any) -> pd.DataFrame:
    """A DataFrame indexed by class (or tag) with the columns

    ``labels``
        labels of the class (boxes count one each);
    ``items``
        items with at least one label of the class;
    ``pending``
        pending suggestions that contain the class;
    ``accepted``, ``rejected``
        decisions on suggestions that contained it;
    ``accuracy``
        accepted / (accepted + rejected), ``NaN`` with no decision yet;
    ``share``
        the class's share of all labels.

    Classes are in the session's order; classes found only in the store come after.
    """
    lg = session.log
    labels: Counter[str] = Counter()
    items: Counter[str] = Counter()
    for ev in lg.labeled_items().values():
        found = _classes(session, ev.payload)
        labels.update(found)
        items.update(set(found))
    pending: Counter[str] = Counter()
    for box in lg.pending.values():
        for p in box.values():
            pending.update(set(_classes(session, p.event.payload.get("value"))))
    accepted: Counter[str] = Counter()
    rejected: Counter[str] = Counter()
    for action, got in _decisions(session):
        (accepted if action == "label" else rejected).update(got)
    names = _names(session)
    extra: Iterable[str] = sorted((set(labels) | set(pending)) - set(names))
    index = [*names, *extra]
    df = pd.DataFrame(index=pd.Index(index, name="class"))
    df["labels"] = [labels[c] for c in index]
    df["items"] = [items[c] for c in index]
    df["pending"] = [pending[c] for c in index]
    df["accepted"] = [accepted[c] for c in index]
    df["rejected"] = [rejected[c] for c in index]
    decided = df["accepted"] + df["rejected"]
    df["accuracy"] = np.where(decided > 0, df["accepted"] / decided.where(decided > 0, 1),
                              np.nan)
    total = int(df["labels"].sum())
    df["share"] = df["labels"] / total if total else 0.0
    return df[COLUMNS]


def plot_class_balance(balance: pd.DataFrame, ax: Any = None) -> Any:
    """Horizontal bars: labels and pending suggestions per class, with the acceptance rate
    of the class's suggestions written beside each bar.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 0.4 * len(balance) + 1.2))
    y = np.arange(len(balance))
    ax.barh(y, balance["labels"], color="#4c72b0", label="labels")
    ax.barh(y, balance["pending"], left=balance["labels"], color="#dd8452", alpha=0.6,
            label="pending suggestions")
    for i, (n, p, acc) in enumerate(zip(balance["labels"], balance["pending"],
                                        balance["accuracy"])):
        text = "no decisions" if np.isnan(acc) else f"{acc:.0%} accepted"
        ax.text(n + p, i, f"  {text}", va="center", fontsize=8)
    ax.set_yticks(y, [str(c) for c in balance.index])
    ax.invert_yaxis()
    ax.set_xlabel("count")
    longest = float((balance["labels"] + balance["pending"]).max()) if len(balance) else 0.0
    ax.set_xlim(0, max(longest, 1.0) * 1.45)  # room for the acceptance notes
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8,
              frameon=False)
    return ax
