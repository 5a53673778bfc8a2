"""The leader lease: one process per task does a job that must run once (the labeling
assistant's tracking and training), every other process follows.

A classroom labels one data set from many kernels. The assistant's work -- tracking each
new box through its group, training the box model, predicting -- gives the same result in
every kernel, so one kernel does it and posts its suggestions to the store, where every
session reads them (:meth:`nblabel.session.LabelSession.pull`). Which kernel is decided by a
lease in the store's table ``nblabel_leaders``, one row per (task, role):

- :meth:`LeaderLease.acquire` takes the lease when nobody holds it or its holder's lease
  expired (an atomic ``INSERT .. ON CONFLICT DO NOTHING`` for a first holder, a
  compare-and-set ``UPDATE`` for an expired one): two processes never both get it, on
  PostgreSQL and on SQLite alike;
- the leader calls :meth:`~LeaderLease.renew` well within ``lease_seconds``; a leader that
  dies (kernel killed, machine gone) stops renewing, and the next process that asks after
  the lease expired takes over;
- :meth:`~LeaderLease.release` hands it over at once (closing the labeler).

The same lease machinery as item leases (:mod:`nblabel.store.assign`): each write is its own
short transaction, retried by a :class:`~nblabel.store.TeamStore` on transient errors.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nblabel.errors import InputError
from nblabel.store.assign import _create_table, _run
from nblabel.store.sqlite import Store

__all__ = ["LeaderLease", "default_holder", "leaders", "leaders_table"]

leader_metadata = sa.MetaData()
leaders_table = sa.Table(
    "nblabel_leaders",
    leader_metadata,
    sa.Column("task", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires", sa.Float, nullable=False),
    sa.Column("ts", sa.Float, nullable=False),
)
_C = leaders_table.c


def default_holder(annotator: str = "") -> str:
    """``annotator@host:pid`` -- names the process (the kernel) that holds a lease."""
    return f"{annotator}@{socket.gethostname()}:{os.getpid()}"


class LeaderLease:
    """A lease that makes one process the leader of ``role`` for ``task``.

    Parameters
    ----------
    store : Store
        The shared store (SQLite file or PostgreSQL).
    task : str
        The task (a session's ``task``).
    holder : str, optional
        Who asks (default :func:`default_holder`: ``@host:pid``).
    role : str
        What the leader does (``"assistant"``).
    lease_seconds : float
        A lease not renewed for this long expires: another process may take over.
    """

    def __init__(self, store: Store, task: str, holder: str | None = None, *,
                 role: str = "assistant", lease_seconds: float = 15.0) -> None:
        if not lease_seconds > 0:
            raise InputError(f"lease_seconds must be > 0, got {lease_seconds!r}")
        self.store = store
        self.task = str(task)
        self.holder_name = holder or default_holder()
        self.role = role
        self.lease_seconds = float(lease_seconds)
        self.held = False
        self._created = False

    def __repr__(self) -> str:
        return (f"LeaderLease(task={self.task!r}, role={self.role!r}, "
                f"holder={self.holder_name!r}, held={self.held})")

    def ensure(self) -> None:
        """Create the store's leaders table if it is missing (race-free)."""
        if not self._created:
            _run(self.store, "create leaders table", lambda c: _create_table(c, leaders_table))
            self._created = True

    def acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours (then it is renewed);
        ``True`` when this process is the leader now."""
        self.ensure()
        now = time.time()
        values = {"task": self.task, "role": self.role, "holder": self.holder_name,
                  "expires": now + self.lease_seconds, "ts": now}

        def write(conn: sa.Connection) -> bool:
            dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
            inserted = conn.execute(
                dialect.insert(leaders_table).values(**values)
                .on_conflict_do_nothing().returning(_C.role)
            ).first()
            if inserted is not None:
                return True
            n = conn.execute(  # compare-and-set: an expired lease, or our own
                sa.update(leaders_table)
                .where(_C.task == self.task, _C.role == self.role,
                       sa.or_(_C.expires < now, _C.holder == self.holder_name))
                .values(holder=self.holder_name, expires=now + self.lease_seconds, ts=now)
            ).rowcount
            return n == 1

        self.held = bool(_run(self.store, "leader lease", write))
        return self.held

    def renew(self) -> bool:
        """Extend the lease; ``False`` (and :attr:`held` false) when it is no longer ours
        (it expired and another process took it)."""
        self.ensure()
        now = time.time()

        def write(conn: sa.Connection) -> bool:
            n = conn.execute(
                sa.update(leaders_table)
                .where(_C.task == self.task, _C.role == self.role,
                       _C.holder == self.holder_name)
                .values(expires=now + self.lease_seconds, ts=now)
            ).rowcount
            return n == 1

        self.held = bool(_run(self.store, "leader lease", write))
        return self.held

    def release(self) -> None:
        """Give the lease up now (another process may take it at once)."""
        if not self.held:
            return
        self.held = False

        def write(conn: sa.Connection) -> None:
            conn.execute(
                sa.delete(leaders_table).where(
                    _C.task == self.task, _C.role == self.role,
                    _C.holder == self.holder_name)
            )

        _run(self.store, "leader lease", write)

    def holder(self) -> str | None:
        """Who holds the lease now (``None``: nobody, or it expired)."""
        row = self._row()
        if row is None or row.expires < time.time():
            return None
        return str(row.holder)

    def _row(self) -> Any:
        self.ensure()

        def read(conn: sa.Connection) -> Any:
            return conn.execute(
                sa.select(_C.holder, _C.expires)
                .where(_C.task == self.task, _C.role == self.role)
            ).first()

        return _run(self.store, "read leader lease", read)


def leaders(store: Store, task: str) -> pd.DataFrame:
    """The leader leases of a task: role, holder, expires (UTC), ts (UTC), live."""

    def read(conn: sa.Connection) -> list[Any]:
        if not sa.inspect(conn).has_table(leaders_table.name):
            return []
        return conn.execute(
            sa.select(_C.role, _C.holder, _C.expires, _C.ts)
            .where(_C.task == task).order_by(_C.role)
        ).all()

    rows = _run(store, "read leader leases", read)
    df = pd.DataFrame([tuple(r) for r in rows], columns=["role", "holder", "expires", "ts"])
    df["live"] = (df["expires"] >= time.time()).astype(bool)
    df["expires"] = pd.to_datetime(df["expires"], unit="s", utc=True)
    df["ts"] = pd.to_datetime(df["ts"], unit="s", utc=True)
    return df
