"""The label store: an append-only log of label events, in SQLite (default) or any
SQLAlchemy database (PostgreSQL for teams).

Each :meth:`Store.append` is committed before it returns, so a label the widget showed as
saved survives a kernel crash. Nothing is ever updated or deleted in the event table: undo,
redo, reject and review are events too, and the current labels are a replay of the log
(see :mod:`nblabel.store.log`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError, OperationalError

from nblabel.errors import (
    InputError,
    SchemaVersionError,
    StoreError,
    StoreLockedError,
    StoreReadOnlyError,
)
from nblabel.store.engine import make_engine
from nblabel.store.events import (
    SCHEMA_VERSION,
    LabelEvent,
    cursors_table,
    events_table,
    meta_table,
    metadata,
)
from nblabel.store.sqlite_engine import make_sqlite_engine

__all__ = ["Store"]

_B = sa.bindparam
_CUR = cursors_table.c
#: built once: building a statement per call costs more CPU than running it on SQLite
_SQL = {
    "event": sa.insert(events_table),
    "cursor": sa.update(cursors_table).where(_CUR.task == _B("w_task"),
                                             _CUR.annotator == _B("w_me"))
    .values(item=_B("v_item"), ts=_B("v_ts")),
}


def _url_of(target: str | os.PathLike) -> str:
    text = os.fspath(target)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"


class Store:
    """An append-only label event log in a database.

    Parameters
    ----------
    url : str or path-like
        A file path (SQLite, created if missing), ``":memory:"`` for an in-memory store, or
        an SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...``).
    read_only : bool
        Open without write access; any write raises :class:`StoreReadOnlyError`.
    timeout : float
        Seconds to wait for a lock held by another process before raising
        :class:`StoreLockedError`.
    idle_seconds : float or None
        Close the store's connection after this many seconds without use; the next use opens
        it again, transparently (never inside a :meth:`transaction` block). ``None`` (the
        default here; :class:`~nblabel.store.TeamStore` uses 30 s) keeps it open until
        :meth:`close`.

    Notes
    -----
    A store holds at most one database connection (:attr:`conn`), shared by the threads of
    the process under a lock.
    """

    def __init__(
        self,
        url: str | os.PathLike = ":memory:",
        *,
        read_only: bool = False,
        timeout: float = 10.0,
        idle_seconds: float | None = None,
    ) -> None:
        if idle_seconds is not None and not idle_seconds > 0:
            raise InputError(f"idle_seconds must be > 0 or None, got {idle_seconds!r}")
        self.read_only = read_only
        self.timeout = timeout
        self.idle_seconds = None if idle_seconds is None else float(idle_seconds)
        if os.fspath(url) == ":memory:":
            self.url = "sqlite://"
            self.path: Path | None = None
        else:
            self.url = _url_of(url)
            parsed = sa.engine.make_url(self.url)
            self.path = (
                Path(parsed.database)
                if parsed.get_backend_name() == "sqlite" and parsed.database
                else None
            )
        self.engine = self._make_engine()
        self._conn: sa.Connection | None = None
        # one connection, shared by the kernel's main thread and background jobs (tracker,
        # training) that post suggestions: every use of it holds this lock
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction() blocks
        self._closed = False
        self._used = time.monotonic()  # last use of the connection (for idle_seconds)
        self._watcher: threading.Thread | None = None  # closes the connection when idle
        self._stop = threading.Event()
        weakref.finalize(self, self._stop.set)  # a store left unclosed: its watcher ends too
        self._open()

    # -- connection -------------------------------------------------------------------------
    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def _make_engine(self) -> sa.Engine:
        url = sa.engine.make_url(self.url)
        if url.get_backend_name() == "sqlite":
            return make_sqlite_engine(self.url, self.path, read_only=self.read_only,
                                      timeout=self.timeout)
        return self._make_server_engine(url)

    def _make_server_engine(self, url: sa.URL) -> sa.Engine:
        """Engine for a database server (PostgreSQL); see :mod:`nblabel.store.team`."""
        return make_engine(url, read_only=self.read_only, connect_timeout=self.timeout)

    def _open(self) -> None:
        try:
            with self._lock:
                self._conn = self._connect()
                self._setup(self._conn)
        except SchemaVersionError:
            self._abandon()
            raise
        except OperationalError as e:
            self._abandon()
            raise self._translate(e) from None
        except DatabaseError as e:
            self._abandon()
            raise StoreError(
                f"{self._where()} is not a readable nblabel store ({e.orig}); "
                "pass another path, or move the file away to start a new store"
            ) from None

    def _setup(self, conn: sa.Connection) -> None:
        """Check the tables on ``conn`` and create what is missing (once, when opening)."""
        inspector = sa.inspect(conn)
        columns = (
            {c["name"] for c in inspector.get_columns(events_table.name)}
            if inspector.has_table(events_table.name)
            else set()
        )
        if columns and not {c.name for c in events_table.columns} <= columns:
            raise SchemaVersionError(
                f"{self._where()} has a table {events_table.name} that is not an nblabel "
                f"event log (columns {sorted(columns)}); pass another store path"
            )
        if not self.read_only:
            metadata.create_all(conn)
            conn.commit()
        version = conn.execute(
            sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).scalar_one_or_none()
        if version is None and not self.read_only:
            conn.execute(
                sa.insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION))
            )
            conn.commit()
        elif version is not None and int(version) > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"store {self._where()} has schema version {version}, written by a newer "
                f"nblabel; this version reads up to {SCHEMA_VERSION}: upgrade nblabel "
                "(pip install -U nblabel). The file was not changed."
            )

    def _where(self) -> str:
        return f"file {self.path}" if self.path is not None else _safe_url(self.url)

    def _translate(self, e: OperationalError) -> StoreError:
        text = str(e.orig)
        if "locked" in text or "busy" in text:
            return StoreLockedError(
                f"store {self._where()} is locked by another process (waited {self.timeout} s); "
                "close the other session or retry; nothing was lost"
            )
        if "readonly" in text or "read-only" in text:
            return StoreReadOnlyError(f"store {self._where()} is read-only: {text}")
        return StoreError(f"store {self._where()}: {text}")

    @property
    def conn(self) -> sa.Connection:
        """The store's one connection, opened again when it was closed for being idle.

        Use it holding ``self._lock`` (the store's own methods do).
        """
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self._where()} is closed")
            if self._conn is None:
                self._conn = self._connect()
            self._used = time.monotonic()
            return self._conn

    def _connect(self) -> sa.Connection:
        """A new connection (holding ``self._lock``); watched for idleness if asked."""
        conn = self.engine.connect()
        self._used = time.monotonic()
        if self.idle_seconds is not None and self._watcher is None:
            self._watcher = threading.Thread(
                target=_watch_idle, args=(weakref.ref(self), self._stop),
                name="nblabel-store-idle", daemon=True,
            )
            self._watcher.start()
        return conn

    def _idle_check(self) -> float | None:
        """Close the connection if unused for ``idle_seconds`` (not inside a transaction);
        returns the seconds until the next check, ``None`` when there is nothing to watch."""
        with self._lock:
            if self._closed or self._conn is None or self.idle_seconds is None:
                self._watcher = None
                return None
            left = self._used + self.idle_seconds - time.monotonic()
            if left > 0 or self._depth:
                return left if left > 0 else min(self.idle_seconds, 1.0)
            self._drop_conn()
            self._watcher = None
            return None

    def _drop_conn(self) -> None:
        """Close the connection (holding ``self._lock``); the next use opens a new one."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a dead connection may refuse even that
                conn.close()

    def _abandon(self) -> None:
        """After a failed open: drop the connection and the engine's (the open may be
        retried)."""
        with self._lock:
            self._drop_conn()
        self.engine.dispose()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._stop.set()
        with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()
        self.engine.dispose()
        watcher = self._watcher
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=1.0)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._where()!r}{', read_only=True' if self.read_only else ''})"

    # -- transactions -----------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """Several writes as one transaction: they commit together at the end of the block,
        or none does (an error, or the process dying, leaves the store as before). A
        ``transaction()`` inside another joins it."""
        with self._lock:
            self._check_writable()
            outer = self._depth == 0
            self._depth += 1
            conn = self.conn
            try:
                yield conn
                if outer:
                    conn.commit()
            except OperationalError as e:
                if not outer:
                    raise
                self._rollback(conn)
                raise self._translate(e) from None
            except BaseException:
                if outer:
                    self._rollback(conn)
                raise
            finally:
                self._depth -= 1

    @staticmethod
    def _rollback(conn: sa.Connection) -> None:
        with contextlib.suppress(Exception):  # a dead connection may refuse even that
            conn.rollback()

    def _commit(self, conn: sa.Connection) -> None:
        """Commit, unless inside :meth:`transaction` (which commits at its end)."""
        if not self._depth:
            conn.commit()

    def write_action(
        self, events: Iterable[LabelEvent],
        then: Callable[[list[LabelEvent]], None] | None = None,
    ) -> list[LabelEvent]:
        """One user action: append ``events`` and run ``then(stored)`` -- the action's other
        writes (a lease change, the cursor) -- in one transaction; all of it is committed,
        or nothing."""
        with self.transaction():
            stored = self.append_many(events)
            if then is not None:
                then(stored)
        return stored

    # -- writing ----------------------------------------------------------------------------
    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreReadOnlyError(f"store {self._where()} was opened read-only")

    def append_many(self, events: Iterable[LabelEvent]) -> list[LabelEvent]:
        """Write several events in one transaction (committed); returns them with ids set."""
        with self._lock:
            return self._append_many_unlocked(events)

    def set_cursor(self, task: str, annotator: str, item: str) -> None:
        """Remember where an annotator is in a task (for resuming)."""
        with self._lock:
            self._set_cursor_unlocked(task, annotator, item)

    def cursor(self, task: str, annotator: str) -> str | None:
        """The item an annotator was on, or ``None``."""
        with self._lock:
            return self._cursor_unlocked(task, annotator)

    def events(self, task: str | None = None, *, after: int = 0) -> Iterator[LabelEvent]:
        """Events in log order (optionally of one task, with ``id > after``)."""
        with self._lock:
            return self._events_unlocked(task, after=after)

    def count(self, task: str | None = None) -> int:
        with self._lock:
            return self._count_unlocked(task)

    def append(self, event: LabelEvent) -> LabelEvent:
        """Write one event and commit; returns it with its ``id`` set."""
        return self.append_many([event])[0]

    def _append_many_unlocked(self, events: Iterable[LabelEvent]) -> list[LabelEvent]:
        """Write several events in one transaction; returns them with ids set."""
        self._check_writable()
        events = list(events)
        if not events:
            return []
        fields = ("task", "item", "action", "status", "source", "annotator", "ts", "ref")
        rows = [{**{f: getattr(e, f) for f in fields}, "payload": e.payload_json}
                for e in events]
        conn = self.conn
        try:
            if len(rows) == 1:
                new_id = conn.execute(_SQL["event"], rows[0]).inserted_primary_key[0]
                ids = [int(new_id)]
            else:
                result = conn.execute(
                    sa.insert(events_table).returning(
                        events_table.c.id, sort_by_parameter_order=True
                    ),
                    rows,
                )
                ids = [int(r[0]) for r in result]
            self._commit(conn)
        except OperationalError as e:
            conn.rollback()
            raise self._translate(e) from None
        except UnicodeEncodeError as e:
            conn.rollback()
            raise InputError(
                f"item {events[0].item!r}: {e.object[e.start:e.end]!r} is not valid Unicode "
                "text (a lone surrogate?) and cannot be stored; clean the ids/labels"
            ) from None
        except Exception:
            conn.rollback()
            raise
        return [e._replace(id=i) for e, i in zip(events, ids)]

    def _set_cursor_unlocked(self, task: str, annotator: str, item: str) -> None:
        """Remember where an annotator is in a task (for resuming)."""
        self._check_writable()
        conn = self.conn
        values = {"task": task, "annotator": annotator, "item": item, "ts": time.time()}
        try:
            updated = conn.execute(_SQL["cursor"], {"w_task": task, "w_me": annotator,
                                                    "v_item": item, "v_ts": values["ts"]}).rowcount
            if not updated:
                conn.execute(sa.insert(cursors_table).values(**values))
            self._commit(conn)
        except OperationalError as e:
            conn.rollback()
            raise self._translate(e) from None

    # -- reading ----------------------------------------------------------------------------
    def _cursor_unlocked(self, task: str, annotator: str) -> str | None:
        """The item an annotator was on, or ``None``."""
        return self.conn.execute(
            sa.select(cursors_table.c.item).where(
                cursors_table.c.task == task, cursors_table.c.annotator == annotator
            )
        ).scalar_one_or_none()

    def _events_unlocked(self, task: str | None = None, *, after: int = 0) -> Iterator[LabelEvent]:
        """Events in log order (optionally of one task, with ``id > after``)."""
        c = events_table.c
        query = (
            sa.select(c.task, c.item, c.action, c.status, c.source, c.annotator, c.payload,
                      c.ref, c.ts, c.id)
            .where(c.id > after)
            .order_by(c.id)
        )
        if task is not None:
            query = query.where(c.task == task)
        try:
            if self.is_sqlite:
                # bound parameters through the DBAPI cursor directly: SQLAlchemy's row
                # processing would more than double the time to resume 100,000 events
                compiled = query.compile(dialect=self.engine.dialect)
                params = tuple(compiled.params[name] for name in compiled.positiontup or ())
                cursor = self.conn.connection.dbapi_connection.cursor()
                try:
                    rows = cursor.execute(str(compiled), params).fetchall()
                finally:
                    cursor.close()
            else:
                rows = self.conn.execute(query).all()
        except OperationalError as e:
            raise self._translate(e) from None
        return map(LabelEvent._make, rows)

    def _count_unlocked(self, task: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(events_table)
        if task is not None:
            query = query.where(events_table.c.task == task)
        return int(self.conn.execute(query).scalar_one())

    def tasks(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self.conn.execute(sa.select(events_table.c.task).distinct())]


def _watch_idle(ref: weakref.ref[Store], stop: threading.Event) -> None:
    """Body of a store's idle watcher: a daemon thread that holds no reference to the store
    between checks, and ends on :meth:`Store.close` or once the connection is closed."""
    while True:
        store = ref()
        if store is None:
            return
        wait = store._idle_check()
        del store
        if wait is None or stop.wait(wait):
            return
