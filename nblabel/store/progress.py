"""Live progress of a team on one task: who is labeling, what they hold, how far the class is.

:class:`ProgressTracker` follows a store: each :meth:`~ProgressTracker.refresh` reads only
the events written since the last one (``id > last seen``) into one
:class:`~nblabel.store.log.LabelLog` -- the same replay every session does, so undo, redo,
deleted boxes and accepted suggestions count exactly as in the labeler -- plus the leases
held now (``nblabel_leases``, absent until a session with an ``Assignment`` created it).
Calling it every few seconds costs one small query when nothing changed.

:func:`team_progress` is the one-shot form. (:func:`nblabel.store.agreement.team_progress`
is the report of labeling rates and agreement; this module is the live view.)

On PostgreSQL, event ids are taken when a transaction inserts, not when it commits, so an
event with a smaller id can become visible after a larger one: there, the events of the last
:attr:`ProgressTracker.gap_seconds` are read again (and applied once). SQLite commits in id
order, so each refresh reads only what is new.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pandas as pd
import sqlalchemy as sa

from nblabel.store.assign import _run, leases_table
from nblabel.store.log import LabelLog
from nblabel.store.sqlite import Store

__all__ = ["COLUMNS", "ProgressTracker", "team_progress", "working_leases"]

#: Columns of the progress table (indexed by ``annotator``).
COLUMNS = ["labels", "last_action", "active", "holding"]
_HUMAN_ACTIONS = ("label", "undo", "redo", "reject", "skip", "review")  # not "suggest"


class ProgressTracker:
    """Incremental per-annotator progress of one task of a store.

    Parameters
    ----------
    store : Store
        The team's store (a session's own store may be shared: reads hold its lock).
    task : str
        The task (a session's ``task``).
    active_seconds : float
        An annotator whose last action is at most this old is ``active``.
    n_items : int, optional
        Items of the task, for :meth:`totals`.

    Attributes
    ----------
    log : LabelLog
        The replay of the task's events read so far.
    gap_seconds : float
        PostgreSQL only: how long events are read again, for late commits with smaller ids.
    """

    gap_seconds = 10.0

    def __init__(self, store: Store, task: str, *, active_seconds: float = 300.0,
                 n_items: int | None = None) -> None:
        self.store = store
        self.task = task
        self.active_seconds = float(active_seconds)
        self.n_items = n_items
        self.log = LabelLog()
        self._low = 0  # every event with id <= _low was applied
        self._recent: dict[int, float] = {}  # ids above _low applied -> when
        self._gap = not store.is_sqlite  # SQLite commits in id order: nothing comes late
        self._owner: dict[str, str] = {}  # labeled item -> annotator of its current label
        self._counts: Counter[str] = Counter()
        self._last_action: dict[str, float] = {}
        self._mutex = threading.Lock()

    # -- reading ------------------------------------------------------------------------------
    def _read_events(self) -> list[Any]:
        def read(_conn: sa.Connection) -> list[Any]:
            return list(self.store._events_unlocked(self.task, after=self._low))

        with self.store._lock:
            return _run(self.store, "read events", read)

    def _read_holding(self, now: float) -> dict[str, list[str]]:
        held: dict[str, list[str]] = {}
        for item, annotator in working_leases(self.store, self.task, now=now):
            held.setdefault(annotator, []).append(item)
        return held

    def update(self) -> int:
        """Apply the events written since the last call; returns how many were new."""
        with self._mutex:
            rows = self._read_events()
            fresh = [ev for ev in rows if ev.id not in self._recent]
            now = time.time()
            changed: set[str] = set()
            for ev in fresh:  # in id order (the query sorts)
                changed.update(self.log.apply(ev))
                if ev.action in _HUMAN_ACTIONS:
                    prev = self._last_action.get(ev.annotator, 0.0)
                    self._last_action[ev.annotator] = max(prev, ev.ts)
                self._recent[ev.id] = now
            for item in changed:
                self._set_owner(item)
            window = self.gap_seconds if self._gap else 0.0
            old = [i for i, t in self._recent.items() if now - t >= window]
            if old:
                self._low = max(self._low, *old)
                for i in old:
                    del self._recent[i]
            return len(fresh)

    def _set_owner(self, item: str) -> None:
        old = self._owner.pop(item, None)
        if old is not None:
            self._counts[old] -= 1
        ev = self.log.current(item)
        if ev is not None and ev.status != "deleted":
            self._owner[item] = ev.annotator
            self._counts[ev.annotator] += 1

    # -- results ------------------------------------------------------------------------------
    def table(self, *, update: bool = True) -> pd.DataFrame:
        """One row per annotator (events or a lease), indexed by ``annotator``.

        Returns
        -------
        pandas.DataFrame
            ``labels``: items whose current label is theirs; ``last_action``: UTC time of
            their last action (not counting suggestions posted in their name), ``NaT`` when
            none; ``active``: acted within ``active_seconds``; ``holding``: the item they
            have leased now (``None``: none; the oldest lease when several). Sorted by
            ``labels`` (descending), then name. ``attrs["labeled"]`` and
            ``attrs["total"]`` are :meth:`totals`.
        """
        if update:
            self.update()
        now = time.time()
        held = self._read_holding(now)
        names = sorted(set(self._counts) | set(self._last_action) | set(held))
        rows = []
        for a in names:
            last = self._last_action.get(a)
            rows.append({
                "annotator": a,
                "labels": int(self._counts.get(a, 0)),
                "last_action": pd.Timestamp(last, unit="s", tz="UTC") if last else pd.NaT,
                "active": bool(last is not None and now - last <= self.active_seconds),
                "holding": held[a][0] if held.get(a) else None,
            })
        df = pd.DataFrame(rows, columns=["annotator", *COLUMNS])
        df["last_action"] = pd.to_datetime(df["last_action"], utc=True)
        df["labels"] = df["labels"].astype(int)
        df["active"] = df["active"].astype(bool)
        df["holding"] = pd.Series([r["holding"] for r in rows], index=df.index, dtype=object)
        df = df.sort_values(["labels", "annotator"], ascending=[False, True], kind="stable")
        df = df.set_index("annotator")
        df.attrs.update(self.totals())
        return df

    def totals(self) -> dict[str, Any]:
        """The class's totals: ``labeled`` (items with a current label) and ``total``
        (``n_items``, ``None`` when not given)."""
        return {"labeled": len(self._owner), "total": self.n_items}


def team_progress(store: Store | str, task: str, *, active_seconds: float = 300.0,
                  n_items: int | None = None) -> pd.DataFrame:
    """Who labels a task, and how far the team is (one read of the whole log).

    Parameters
    ----------
    store : Store or str
        The store, or its path/URL (opened read-only and closed again).
    task : str
        The task (a session's ``task``).
    active_seconds : float
        An annotator whose last action is at most this old is ``active``.
    n_items : int, optional
        Items of the task: ``attrs["total"]`` of the result.

    Returns
    -------
    pandas.DataFrame
        As :meth:`ProgressTracker.table`: ``labels``, ``last_action``, ``active``,
        ``holding`` per annotator; ``attrs["labeled"]`` / ``attrs["total"]`` for the class.
        To call it every few seconds, keep a :class:`ProgressTracker` instead (it reads
        only new events).
    """
    if isinstance(store, Store):
        return ProgressTracker(store, task, active_seconds=active_seconds,
                               n_items=n_items).table()
    from nblabel.store.open import open_store

    st = open_store(store, read_only=True)
    try:
        return ProgressTracker(st, task, active_seconds=active_seconds,
                               n_items=n_items).table()
    finally:
        st.close()


def working_leases(store: Store, task: str, *, done_within: float = 0.0,
                   now: float | None = None) -> list[tuple[str, str]]:
    """``(item, annotator)`` of every lease of ``task`` held now -- and, with
    ``done_within``, closed (labeled) in that many seconds before ``now``: who works where.
    By annotator, oldest first; empty when nobody ever leased an item."""
    c = leases_table.c
    now = time.time() if now is None else now
    live = sa.and_(c.done.is_(False), c.expires > now)
    if done_within > 0:
        live = sa.or_(live, sa.and_(c.done.is_(True), c.ts > now - done_within))

    def read(conn: sa.Connection) -> list[tuple[str, str]]:
        if not getattr(store, "_nblabel_leases_exist", False):
            if not sa.inspect(conn).has_table(leases_table.name):
                return []
            store._nblabel_leases_exist = True  # type: ignore[attr-defined]
        rows = conn.execute(sa.select(c.item, c.annotator)
                            .where(c.task == task, live).order_by(c.annotator, c.ts)).all()
        return [(str(r[0]), str(r[1])) for r in rows]

    with store._lock:
        return _run(store, "read leases", read)
