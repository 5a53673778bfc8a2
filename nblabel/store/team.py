"""The label store on a PostgreSQL server, for teams (``pip install "nblabel[team]"``).

``open_store("postgresql://user:pass@host/db")`` (or ``store=`` of a session) returns a
:class:`TeamStore`: the same :class:`~nblabel.store.Store` -- same tables, same events, same
replay -- over psycopg 3, with what a network database needs:

- credentials from the URL or the standard libpq variables (``PGHOST``, ``PGPORT``,
  ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``, ``PGPASSFILE`` ...): ``postgresql://`` alone
  uses them all;
- transient failures (server restarting, connection dropped) are retried with exponential
  backoff; when the retries run out, :class:`StoreUnavailableError` names the server's host,
  port, database and user -- never the password -- and nothing committed is lost;
- an append retried after a lost connection is never written twice (it is looked up first);
- ``read_only=True`` also opens the server session with ``default_transaction_read_only``, so
  even SQL sent around nblabel cannot write.

All SQL goes through SQLAlchemy expressions with bound parameters.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from nblabel.errors import InputError, StoreError
from nblabel.store.engine import (
    StoreUnavailableError,
    describe_server,
    is_transient,
    make_engine,
)
from nblabel.store.events import LabelEvent, events_table
from nblabel.store.sqlite import Store

__all__ = ["TeamStore"]

log = logging.getLogger("nblabel")
T = TypeVar("T")

#: Column widths the server enforces (SQLite does not): checked before sending.
_WIDTHS = {"task": 64, "action": 16, "status": 16, "source": 16, "annotator": 128}
_ADVISORY_KEY = 0x6E626C6162656C  # "nblabel": serialises concurrent CREATE TABLE

class TeamStore(Store):
    """A :class:`~nblabel.store.Store` on a database server, with retries.

    Parameters
    ----------
    url : str
        ``postgresql://...`` (see :func:`make_engine`).
    read_only : bool
        Refuse writes, in nblabel and on the server.
    timeout : float
        Seconds to wait for the server to accept a connection.
    retries : int
        How many times a failed operation is retried on a transient error.
    backoff : float
        Seconds before the first retry; doubled each time, at most ``max_backoff``.
    max_backoff : float
        Longest wait between two attempts.
    idle_seconds : float or None
        Close the server connection after this many seconds without use (reopened on the
        next use); ``None`` keeps it open. The store never holds more than one connection,
        so a class of annotators needs one server connection per active annotator.
    """

    def __init__(
        self,
        url: str,
        *,
        read_only: bool = False,
        timeout: float = 5.0,
        retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 4.0,
        idle_seconds: float | None = 30.0,
    ) -> None:
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self._lost = False  # the connection died and could not be reopened yet
        super().__init__(url, read_only=read_only, timeout=timeout, idle_seconds=idle_seconds)

    # -- connection -------------------------------------------------------------------------
    def _make_server_engine(self, url: sa.URL) -> sa.Engine:
        return make_engine(url, read_only=self.read_only, connect_timeout=self.timeout)

    def _where(self) -> str:
        return f"PostgreSQL server {describe_server(self.url)}"

    def _scrub(self, text: str) -> str:
        password = sa.engine.make_url(self.url).password
        for secret in (password, os.environ.get("PGPASSWORD")):
            if secret and len(str(secret)) >= 4:  # (shorter ones would garble every message)
                text = text.replace(str(secret), "***")
        return text

    def _translate(self, e: sa.exc.OperationalError) -> StoreError:
        if is_transient(e):
            reason = self._scrub(str(e.orig).strip().splitlines()[0] if str(e.orig) else "")
            return StoreUnavailableError(
                f"cannot reach the {self._where()}: {reason}. Check that the server runs and "
                "that the URL or the PG* variables are right; labels already saved are safe"
            )
        err = super()._translate(e)
        return type(err)(self._scrub(str(err)))

    def _open(self) -> None:
        self.retrying("open", lambda: Store._open(self), reconnect=False)

    def _setup(self, conn: sa.Connection) -> None:
        if self.read_only:
            super()._setup(conn)
            return
        # concurrent first opens would race on CREATE TABLE: serialise them, with a lock
        # taken on the store's own connection (a second one would double the connections)
        conn.execute(sa.select(sa.func.pg_advisory_lock(_ADVISORY_KEY)))
        try:
            super()._setup(conn)
        finally:
            try:
                conn.rollback()  # (everything was committed; ends a read left open)
                conn.execute(sa.select(sa.func.pg_advisory_unlock(_ADVISORY_KEY)))
                conn.commit()
            except DBAPIError:  # pragma: no cover - connection gone: so is its lock
                pass

    def _reconnect(self) -> None:
        """Drop the (possibly dead) connection and open a new one."""
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):  # a dead connection may refuse even that
                    self._conn.rollback()
                self._drop_conn()
            self._lost = True
            self._conn = self._connect()
            self._lost = False

    def retrying(self, what: str, fn: Callable[[], T], *, reconnect: bool = True) -> T:
        """Run ``fn()``, retrying transient failures with exponential backoff.

        Raises :class:`StoreUnavailableError` (naming the server, never the password) when
        the retries run out; other errors pass through at once. Inside a
        :meth:`transaction` nothing is retried here: the whole transaction is (see
        :meth:`write_action`).
        """
        if self._depth:
            return fn()
        delay = self.backoff
        last: BaseException | None = None
        for attempt in range(self.retries + 1):
            try:
                if reconnect and (last is not None or self._lost):
                    self._reconnect()
                return fn()
            except (StoreUnavailableError, DBAPIError) as e:
                if not is_transient(e):
                    if isinstance(e, sa.exc.OperationalError):
                        raise self._translate(e) from None
                    raise
                last = e
                if attempt == self.retries:
                    break
                log.warning(
                    "nblabel: %s on the %s failed (%s); retry %d of %d in %.1f s",
                    what, self._where(), _short(e, self._scrub), attempt + 1, self.retries, delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, self.max_backoff)
        reason = _short(last, self._scrub) if last is not None else "unknown error"
        raise StoreUnavailableError(
            f"cannot reach the {self._where()} ({what}, {self.retries + 1} attempts): {reason}. "
            "Check that the server runs and that the URL or the PG* variables are right; "
            "labels already saved are safe, and this action can be repeated"
        ) from None

    # -- writing ----------------------------------------------------------------------------
    def append_many(self, events: Iterable[LabelEvent]) -> list[LabelEvent]:
        """Write several events in one transaction (retried; never written twice)."""
        return self._write_once("append", events, lambda evs: Store.append_many(self, evs))

    def write_action(
        self, events: Iterable[LabelEvent],
        then: Callable[[list[LabelEvent]], None] | None = None,
    ) -> list[LabelEvent]:
        """The action's events and its other writes in one transaction, retried as a whole;
        when the connection died after the commit reached the server, the stored events are
        found instead of written twice (and the writes that went with them are done)."""
        return self._write_once(
            "write", events, lambda evs: Store.write_action(self, evs, then)
        )

    def _write_once(
        self, what: str, events: Iterable[LabelEvent],
        write: Callable[[list[LabelEvent]], list[LabelEvent]],
    ) -> list[LabelEvent]:
        """``write(events)`` with retries, never twice: a retry first looks the events up
        (the commit may have reached the server before the connection died)."""
        self._check_writable()
        events = list(events)
        for e in events:
            _check_event(e)
        tried = False

        def attempt() -> list[LabelEvent]:
            nonlocal tried
            if tried:
                found = self._find_stored(events)
                if found is not None:
                    return found
            tried = True
            return write(events)

        return self.retrying(what, attempt)

    def _find_stored(self, events: list[LabelEvent]) -> list[LabelEvent] | None:
        c = events_table.c
        out = []
        for e in events:
            row = self.conn.execute(
                sa.select(c.id).where(
                    c.task == e.task,
                    c.item == e.item,
                    c.annotator == e.annotator,
                    c.action == e.action,
                    c.ts == e.ts,
                    c.payload == e.payload_json,
                )
            ).first()
            if row is None:
                return None
            out.append(LabelEvent(*[getattr(e, f) for f in _FIELDS[:-1]], int(row[0])))
        return out

    def set_cursor(self, task: str, annotator: str, item: str) -> None:
        self.retrying("cursor update", lambda: Store.set_cursor(self, task, annotator, item))

    # -- reading ----------------------------------------------------------------------------
    def cursor(self, task: str, annotator: str) -> str | None:
        return self.retrying("read", lambda: Store.cursor(self, task, annotator))

    def events(self, task: str | None = None, *, after: int = 0) -> Iterator[LabelEvent]:
        rows = self.retrying("read", lambda: list(Store.events(self, task, after=after)))
        return iter(rows)

    def count(self, task: str | None = None) -> int:
        return self.retrying("read", lambda: Store.count(self, task))

    def tasks(self) -> list[str]:
        return self.retrying("read", lambda: Store.tasks(self))


_FIELDS = ("task", "item", "action", "status", "source", "annotator", "payload_json", "ref",
           "ts", "id")


def _check_event(e: LabelEvent) -> None:
    """What the server would refuse with a cryptic error, refused here with a clear one."""
    for name, width in _WIDTHS.items():
        value = getattr(e, name)
        if len(value) > width:
            raise InputError(
                f"{name} {value[:40]!r}... is {len(value)} characters long; the store allows "
                f"{width}: use a shorter {'column name' if name == 'task' else name}"
            )
    for name in ("task", "item", "annotator", "payload_json"):
        if "\x00" in getattr(e, name):
            raise InputError(
                f"{name} of item {e.item!r} contains a NUL character (\\x00), which "
                "PostgreSQL cannot store; remove it from the ids/labels"
            )


def _short(e: BaseException | None, scrub: Callable[[str], str]) -> str:
    if e is None:
        return ""
    text = str(getattr(e, "orig", None) or e).strip()
    return scrub(text.splitlines()[0] if text else type(e).__name__)
