"""Assignment of items to annotators in team mode: nobody labels an item another person holds.

An :class:`Assignment` passed to a session (``ClassSession(df, ..., assignment=Assignment())``)
changes what :meth:`~nblabel.session.LabelSession.next` serves: the next item in the
session's queue order that the annotator can *lease*. Leases live in the store's table
``nblabel_leases``, one row per (task, item, slot):

- an item needs one annotator, or ``overlap_annotators`` for a share ``overlap`` of the items
  (chosen by a hash of the item id, the same in every process) -- those give agreement;
- a lease is taken with an atomic conditional write (``INSERT .. ON CONFLICT DO NOTHING`` for
  a free slot, a compare-and-set ``UPDATE`` for an expired one), so two annotators never hold
  the same slot, on PostgreSQL (any number of machines) and on SQLite in WAL mode (several
  processes on one machine) alike;
- labeling the item marks its lease done (kept for good); skipping it or moving on without a
  label releases it; any other action renews it;
- a lease not renewed for ``lease_seconds`` (the annotator went away, the kernel died)
  expires and the item goes to the next annotator who asks -- unless the old holder's label
  reached the store, in which case the lease is closed as done instead.

Every statement is an SQLAlchemy expression with bound parameters.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import weakref
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from nblabel.errors import InputError, StoreError
from nblabel.store.events import LabelEvent, events_table
from nblabel.store.sqlite import Store

if TYPE_CHECKING:  # pragma: no cover
    from nblabel.session import LabelSession

__all__ = ["Assignment", "leases", "leases_table"]

log = logging.getLogger("nblabel")

#: Its own MetaData: ``Store`` opens never depend on whether this module was imported, and
#: the table is created on first use (:meth:`Assignment.attach`), race-free.
lease_metadata = sa.MetaData()
leases_table = sa.Table(
    "nblabel_leases",
    lease_metadata,
    sa.Column("task", sa.String(64), primary_key=True),
    sa.Column("item", sa.Text, primary_key=True),
    sa.Column("slot", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("annotator", sa.String(128), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
    sa.Column("done", sa.Boolean, nullable=False, default=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Index("ix_nblabel_leases_annotator", "task", "annotator"),
)
_L = leases_table.c


def _run(store: Store, what: str, fn: Any) -> Any:
    """Run ``fn(conn)`` and commit -- its own transaction, with the store's retries when it
    has any; inside ``store.transaction()`` it is a part of that one, committed with it."""

    def attempt() -> Any:
        conn = store.conn
        try:
            result = fn(conn)
            store._commit(conn)
            return result
        except OperationalError as e:
            with contextlib.suppress(Exception):
                conn.rollback()
            if hasattr(store, "retrying"):
                raise  # TeamStore.retrying decides whether to retry
            raise store._translate(e) from None
        except Exception:
            with contextlib.suppress(Exception):
                conn.rollback()
            raise

    retrying = getattr(store, "retrying", None)
    return retrying(what, attempt) if retrying is not None else attempt()


class Assignment:
    """Lease-based assignment of items to annotators (team mode).

    Parameters
    ----------
    lease_seconds : float
        A lease not renewed for this long expires and its item goes to someone else.
    overlap : float
        Share of the items (0..1) that go to ``overlap_annotators`` different annotators.
    overlap_annotators : int
        How many annotators label each overlap item (>= 2).
    seed : int
        Seed of the choice of overlap items (the same in every process of a team).
    chunk : int
        How many candidate items one round trip examines.
    """

    def __init__(
        self,
        *,
        lease_seconds: float = 1800.0,
        overlap: float = 0.0,
        overlap_annotators: int = 2,
        seed: int = 0,
        chunk: int = 32,
    ) -> None:
        if not lease_seconds > 0:
            raise InputError(f"lease_seconds must be > 0, got {lease_seconds!r}")
        if not 0.0 <= overlap <= 1.0:
            raise InputError(f"overlap is a share of the items in [0, 1], got {overlap!r}")
        if int(overlap_annotators) < 2:
            raise InputError(f"overlap_annotators must be >= 2, got {overlap_annotators!r}")
        self.lease_seconds = float(lease_seconds)
        self.overlap = float(overlap)
        self.overlap_annotators = int(overlap_annotators)
        self.seed = int(seed)
        self.chunk = int(chunk)
        self.store: Store | None = None
        self.task = ""
        self.annotator = ""
        self._closed = np.zeros(0, dtype=bool)
        self._held: str | None = None
        self._session: Any = lambda: None

    def __repr__(self) -> str:
        return (
            f"Assignment(lease_seconds={self.lease_seconds}, overlap={self.overlap}, "
            f"overlap_annotators={self.overlap_annotators}, annotator={self.annotator!r})"
        )

    # -- set-up -----------------------------------------------------------------------------
    def attach(self, session: LabelSession) -> int | None:
        """Bind to a session; returns the position to start at (the item this annotator
        still holds, else a newly leased one, else ``None``)."""
        self.store = session.store
        self._session = weakref.ref(session)
        self.task = session.task
        self.annotator = session.annotator
        self._closed = np.zeros(len(session.items), dtype=bool)
        if not session.store.read_only:
            _run(self.store, "create leases table", _create)
        held = self._held_items()
        positions = session.items.positions_of(held) if held else np.array([], dtype=np.int64)
        for key, pos in zip(held, positions):
            if pos < 0:
                continue
            if session.log.is_labeled(key) and session.log.current(key).annotator == self.annotator:
                self._complete(key)  # labeled just before a crash: close the lease
                continue
            self._held = key
            self._renew(key)
            return int(pos)
        if session.store.read_only:
            return None
        return self._claim_next(session, after=None)

    def needed(self, key: str) -> int:
        """How many annotators item ``key`` needs (1, or ``overlap_annotators``)."""
        if self.overlap <= 0:
            return 1
        digest = hashlib.sha256(f"{self.seed}\x1f{self.task}\x1f{key}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2**64
        return self.overlap_annotators if u < self.overlap else 1

    # -- serving ----------------------------------------------------------------------------
    def next_position(self, session: LabelSession) -> int | None:
        """The position of the next item leased to this annotator (``None``: nothing left).

        It is the first item in queue order (from the head, so a reordered queue serves the
        most wanted items first) that this annotator has not done and can lease. The item
        the session is on is released first when it was not labeled, and is not served
        again by this call.
        """
        current = session.position
        if current is not None:
            key = str(session.items.keys[current])
            if self._held == key:
                self._release(key)
        return self._claim_next(session, after=current)

    def _candidates(self, session: LabelSession, after: int | None, skipped: bool) -> np.ndarray:
        order = np.asarray(session.queue.order)  # from the head: the most wanted item first
        if after is not None:
            order = order[order != after]
        mask = ~self._closed[order]
        flags = session.skipped[order]
        mask &= flags if skipped else ~flags
        return order[mask]

    def _claim_next(self, session: LabelSession, after: int | None) -> int | None:
        for skipped in (False, True):  # items this annotator skipped come last
            cands = self._candidates(session, after, skipped)
            for lo in range(0, len(cands), self.chunk):
                pos = self._claim_chunk(session, cands[lo : lo + self.chunk])
                if pos is not None:
                    return pos
        return None

    def _claim_chunk(self, session: LabelSession, positions: np.ndarray) -> int | None:
        keys = [str(session.items.keys[p]) for p in positions]
        rows = _run(self.store, "read leases", lambda c: _rows(c, self.task, keys))
        by_item: dict[str, list[Any]] = defaultdict(list)
        for r in rows:
            by_item[r.item].append(r)
        me = self.annotator
        now = time.time()
        for pos, key in zip(positions, keys):
            held = by_item.get(key, [])
            ev = session.log.current(key)
            if ev is not None and ev.status != "deleted" and (ev.annotator == me or not held):
                self._closed[pos] = True  # labeled by me, or labeled before leases existed
                continue
            if any(r.annotator == me and r.done for r in held):
                self._closed[pos] = True
                continue
            mine = [r for r in held if r.annotator == me]
            if mine and self._take(key, mine[0], now):
                return int(pos)
            active = [r for r in held if r.done or r.expires > now]
            k = self.needed(key)
            if len(active) >= k:
                if sum(r.done for r in active) >= k:
                    self._closed[pos] = True
                continue
            taken = {r.slot for r in active}
            expired = {r.slot: r for r in held if not (r.done or r.expires > now)}
            for slot in range(k):
                if slot in taken:
                    continue
                old = expired.get(slot)
                if old is not None and self._label_exists(key, old):
                    self._close_expired(old)
                    continue
                if self._take(key, old, now) if old is not None else self._insert(key, slot, now):
                    return int(pos)
                break  # lost a race for this item: try the next one
        return None

    # -- lease writes (each its own transaction) --------------------------------------------
    def _insert(self, key: str, slot: int, now: float, *, done: bool = False) -> bool:
        values = {
            "task": self.task, "item": key, "slot": slot, "annotator": self.annotator,
            "expires": now if done else now + self.lease_seconds, "done": done, "ts": now,
        }

        def write(conn: sa.Connection) -> bool:
            dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
            stmt = (dialect.insert(leases_table).values(**values)
                    .on_conflict_do_nothing().returning(_L.slot))
            row = conn.execute(stmt).first()  # None: another annotator took the slot first
            return row is not None

        ok = _run(self.store, "lease", write)
        if ok and not done:
            self._held = key
        return ok

    def _take(self, key: str, old: Any, now: float) -> bool:
        """Compare-and-set: take over ``old`` (expired, or this annotator's own) row."""

        def write(conn: sa.Connection) -> bool:
            n = conn.execute(
                sa.update(leases_table)
                .where(
                    _L.task == self.task, _L.item == key, _L.slot == old.slot,
                    _L.annotator == old.annotator, _L.expires == old.expires,
                    _L.done.is_(False),
                )
                .values(annotator=self.annotator, expires=now + self.lease_seconds, ts=now)
            ).rowcount
            return n == 1

        ok = _run(self.store, "lease", write)
        if ok:
            self._held = key
        return ok

    def _label_exists(self, key: str, old: Any) -> bool:
        """Did the expired lease's holder label the item (e.g. it died before closing it)?"""
        c = events_table.c

        def read(conn: sa.Connection) -> bool:
            row = conn.execute(
                sa.select(c.id).where(
                    c.task == self.task, c.item == key, c.annotator == old.annotator,
                    c.action == "label",
                ).limit(1)
            ).first()
            return row is not None

        return _run(self.store, "read events", read)

    def _close_expired(self, old: Any) -> None:
        def write(conn: sa.Connection) -> None:
            conn.execute(
                sa.update(leases_table)
                .where(_L.task == self.task, _L.item == old.item, _L.slot == old.slot,
                       _L.annotator == old.annotator, _L.done.is_(False))
                .values(done=True)
            )

        _run(self.store, "lease", write)

    def _update_mine(self, key: str, values: dict[str, Any]) -> int:
        def write(conn: sa.Connection) -> int:
            n = conn.execute(
                sa.update(leases_table)
                .where(_L.task == self.task, _L.item == key, _L.annotator == self.annotator,
                       _L.done.is_(False))
                .values(**values)
            ).rowcount
            return n

        return _run(self.store, "lease", write)

    def _renew(self, key: str) -> int:
        now = time.time()
        return self._update_mine(key, {"expires": now + self.lease_seconds, "ts": now})

    def _complete(self, key: str) -> None:
        now = time.time()
        if self._update_mine(key, {"done": True, "expires": now, "ts": now}):
            return
        # labeled without holding a lease (goto, or the lease expired and went elsewhere)
        rows = _run(self.store, "read leases", lambda c: _rows(c, self.task, [key]))
        if any(r.annotator == self.annotator for r in rows):
            return
        active = [r for r in rows if r.done or r.expires > now]
        k = self.needed(key)
        free = [s for s in range(k) if s not in {r.slot for r in active}]
        unused = free and free[0] not in {r.slot for r in rows}
        if unused and self._insert(key, free[0], now, done=True):
            return
        others = sorted({r.annotator for r in active})
        if len(active) >= k:
            log.warning(
                "nblabel: item %r is assigned to %s; your label was saved too, so the item "
                "now has more labels than planned", key, ", ".join(others) or "another annotator",
            )

    def _release(self, key: str) -> None:
        def write(conn: sa.Connection) -> None:
            conn.execute(
                sa.delete(leases_table).where(
                    _L.task == self.task, _L.item == key, _L.annotator == self.annotator,
                    _L.done.is_(False),
                )
            )

        _run(self.store, "release lease", write)
        if self._held == key:
            self._held = None

    # -- hooks called by the session --------------------------------------------------------
    def write(self, event: LabelEvent, *, cursor: str | None,
              labeled: bool | None = None) -> LabelEvent:
        """Store one action of the session as one transaction: the event, this annotator's
        lease change (:meth:`apply`) and the cursor (``None``: unchanged) commit together,
        or nothing does; a refused or failed action leaves the lease held as it was.
        ``labeled``: whether the item is labeled after the event (asked of undo)."""
        held = self._held

        def then(stored: list[LabelEvent]) -> None:
            self.apply(stored[0], labeled=labeled)
            if cursor is not None:
                self.store.set_cursor(self.task, self.annotator, cursor)  # type: ignore[union-attr]

        try:
            return self.store.write_action([event], then)[0]  # type: ignore[union-attr]
        except BaseException:
            self._held = held
            raise

    def apply(self, event: LabelEvent, *, labeled: bool | None = None) -> None:
        """Update the lease for a stored ``event``: label -> done, skip -> released, an undo
        that leaves the item unlabeled (``labeled``; default: asked of the session) -> held
        again (moving on releases it), anything else -> renewed. Raises what the store
        raises."""
        if event.annotator != self.annotator or self.store is None:
            return
        if event.action == "label" or event.action == "redo":
            self._complete(event.item)
            if self._held == event.item:
                self._held = None
        elif event.action == "skip":
            self._release(event.item)
        elif event.action == "undo" and not (
            self._labeled(event.item) if labeled is None else labeled
        ):
            self._reopen(event.item)
        else:
            self._renew(event.item)

    def record(self, event: LabelEvent) -> None:
        """:meth:`apply` in a transaction of its own, after ``event`` was stored; never
        raises (the lease then simply expires). The session uses :meth:`write` instead."""
        try:
            self.apply(event)
        except StoreError as e:
            log.warning("nblabel: could not update the lease of item %r: %s", event.item, e)

    def _labeled(self, key: str) -> bool:
        session = self._session()
        return session is None or session.log.is_labeled(key)

    def _reopen(self, key: str) -> None:
        """My done lease of ``key`` becomes held again (its label was undone)."""
        now = time.time()

        def write(conn: sa.Connection) -> int:
            n = conn.execute(
                sa.update(leases_table)
                .where(_L.task == self.task, _L.item == key, _L.annotator == self.annotator,
                       _L.done.is_(True))
                .values(done=False, expires=now + self.lease_seconds, ts=now)
            ).rowcount
            return n

        if _run(self.store, "lease", write):
            self._held = key

    def heartbeat(self) -> None:
        """Renew the lease of the item being labeled (call while an item takes long)."""
        if self._held is not None:
            self._renew(self._held)

    def release(self) -> None:
        """Give back the item this annotator holds (e.g. before closing the notebook)."""
        if self._held is not None:
            self._release(self._held)

    def _held_items(self) -> list[str]:
        def read(conn: sa.Connection) -> list[str]:
            if not sa.inspect(conn).has_table(leases_table.name):  # read-only, never leased
                return []
            rows = conn.execute(
                sa.select(_L.item)
                .where(_L.task == self.task, _L.annotator == self.annotator,
                       _L.done.is_(False))
                .order_by(_L.ts.desc())
            ).all()
            return [r[0] for r in rows]

        return _run(self.store, "read leases", read)


def _create(conn: sa.Connection) -> None:
    _create_table(conn, leases_table)


def _create_table(conn: sa.Connection, table: sa.Table) -> None:
    """Create ``table`` if missing, race-free (another process may create it first)."""
    try:
        table.create(conn, checkfirst=True)
        conn.commit()
    except (sa.exc.ProgrammingError, sa.exc.IntegrityError, OperationalError):
        conn.rollback()  # another process created it between the check and the CREATE
        if not sa.inspect(conn).has_table(table.name):
            raise


def _rows(conn: sa.Connection, task: str, keys: list[str]) -> list[Any]:
    rows = conn.execute(
        sa.select(_L.item, _L.slot, _L.annotator, _L.expires, _L.done).where(
            _L.task == task, _L.item.in_(keys)
        )
    ).all()
    return rows  # _run ends the read transaction before writing (SQLite WAL snapshots)


def leases(store: Store, task: str) -> pd.DataFrame:
    """The lease table of a task: item, slot, annotator, expires (UTC), done."""
    c = _L

    def read(conn: sa.Connection) -> list[Any]:
        if not sa.inspect(conn).has_table("nblabel_leases"):
            return []
        rows = conn.execute(
            sa.select(c.item, c.slot, c.annotator, c.expires, c.done)
            .where(c.task == task)
            .order_by(c.item, c.slot)
        ).all()
        return rows

    rows = _run(store, "read leases", read)
    df = pd.DataFrame([tuple(r) for r in rows],
                      columns=["item", "slot", "annotator", "expires", "done"])
    df["expires"] = pd.to_datetime(df["expires"], unit="s", utc=True)
    df["done"] = df["done"].astype(bool)
    return df
