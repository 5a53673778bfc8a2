"""Rows added to or removed from the user's DataFrame while a session is open.

The session notices a changed index (``df.loc[new_id] = ...`` appends in place,
``df.drop(..., inplace=True)`` removes) before its next action, or is told with
:meth:`LabelSession.add_items`. :func:`follow_rows` then re-maps the per-row state: new rows
join the queue at the end (an assistant reorders them when it has scored them) and show any
label the store already has for them; removed rows keep their labels in the store and leave
the queue. Observers get ``("items", "")``; :attr:`RowChange` says what changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nblabel.errors import InputError

__all__ = ["RowChange", "append_rows", "follow_rows"]


@dataclass(frozen=True)
class RowChange:
    """What the last change of rows did.

    Attributes
    ----------
    added, removed : tuple of str
        Item ids of the rows that arrived and left.
    appended_only : bool
        Every old row kept its position (rows were only added at the end): per-position
        state of observers stays valid.
    new_positions : ndarray
        Where each old position went (-1: removed).
    """

    added: tuple[str, ...]
    removed: tuple[str, ...]
    appended_only: bool
    new_positions: np.ndarray


def follow_rows(session: Any, old_items: Any) -> RowChange:
    """Re-map a session's per-row state after its ItemSet was rebuilt (called by the
    session with its lock held)."""
    new = session.items
    n = len(new)
    mapped = np.asarray(new.positions_of(list(old_items.keys)), dtype=np.int64)
    ok = mapped >= 0
    fresh = np.ones(n, dtype=bool)
    fresh[mapped[ok]] = False
    done = np.zeros(n, dtype=bool)
    skipped = np.zeros(n, dtype=bool)
    done[mapped[ok]] = session._done[: mapped.size][ok]
    skipped[mapped[ok]] = session._skipped[: mapped.size][ok]
    lg = session.log
    added = [str(new.keys[p]) for p in np.flatnonzero(fresh)]
    cells = {}
    for p, k in zip(np.flatnonzero(fresh), added):
        done[p] = lg.is_labeled(k) and k not in lg.sent_back
        skipped[p] = k in lg.skipped
        cells[int(p)] = session.codec.cell(session.value(k)) if lg.is_labeled(k) else None
    session._done, session._skipped = done, skipped
    session._done_times = {int(mapped[p]): t for p, t in session._done_times.items()
                           if p < mapped.size and mapped[p] >= 0}
    session._history = [int(mapped[p]) for p in session._history
                        if p < mapped.size and mapped[p] >= 0]
    if session._position is not None:
        pos = int(mapped[session._position]) if session._position < mapped.size else -1
        session._position = pos if pos >= 0 else None
    session.queue.remap(mapped, n)
    if session._position is None and n:
        nxt = session.queue.next_open(None, done | skipped)
        session._position = int(session.queue.order[0]) if nxt is None else nxt
    col = session._col_pos
    for p, cell in cells.items():  # new rows show what the store has, never NaN
        session.df.iat[p, col] = cell
    session._labels_cache = None
    removed = tuple(str(k) for k, m in zip(old_items.keys, mapped) if m < 0)
    appended = bool(ok.all()) and np.array_equal(mapped, np.arange(mapped.size))
    return RowChange(tuple(added), removed, appended, mapped)


def append_rows(session: Any, rows: pd.DataFrame) -> list[str]:
    """Append ``rows`` to the session's DataFrame in place (the user's object); returns
    the new item ids. Refuses ids the DataFrame already has and rows missing the
    session's input columns, before anything changes."""
    if not isinstance(rows, pd.DataFrame):
        raise InputError(f"add_items needs a pandas DataFrame, got {type(rows).__name__}")
    df = session.df
    clash = rows.index.intersection(df.index)
    if len(clash):
        raise InputError(f"rows {list(clash[:5])} are already in the session's DataFrame; "
                         "new rows need new index labels")
    items = session.items
    needed = [c for c in (items.image_column, *items.text_columns) if c]
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise InputError(f"the new rows lack the column(s) {missing} the session reads")
    if not rows.index.is_unique:
        raise InputError("the new rows have duplicate index labels")
    aligned = rows.reindex(columns=df.columns)
    if session.column in rows.columns:  # labels come from the store, not the new frame
        aligned[session.column] = None
    for label, values in zip(aligned.index, aligned.itertuples(index=False, name=None)):
        df.loc[label] = list(values)
    return [str(k) for k in rows.index]
