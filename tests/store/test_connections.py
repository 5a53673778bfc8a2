"""A class of annotators fits one server (issue 17): each store holds at most one database
connection, and gives it back when idle (``idle_seconds``), reopening it on the next use.

Counted on a real PostgreSQL in ``pg_stat_activity`` (``application_name = 'nblabel'``)."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from nblabel.errors import InputError
from nblabel.session import ClassSession
from nblabel.store import LabelEvent, Store, open_store
from nblabel.store.assign import Assignment


def connections(server, db: str) -> int:
    """Connections of nblabel to database ``db`` (this probe's own is not one of them)."""
    import psycopg

    with psycopg.connect(server.url(db), autocommit=True) as c:
        row = c.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'nblabel'", (db,)
        ).fetchone()
    return int(row[0])


def settle(server, db: str, want: int, within: float = 5.0) -> int:
    """The count once it is ``want`` (a closed backend leaves the view a moment later)."""
    deadline = time.monotonic() + within
    n = connections(server, db)
    while n != want and time.monotonic() < deadline:
        time.sleep(0.05)
        n = connections(server, db)
    return n


def frame(n: int = 6) -> pd.DataFrame:
    return pd.DataFrame({"text": [f"t{i}" for i in range(n)]}, index=[f"r{i}" for i in range(n)])


def ev(item: str) -> LabelEvent:
    return LabelEvent.make("label", item, "label", "accepted", annotator="t", payload="a")


def test_one_connection_per_session_released_when_idle(pg_server):
    db = pg_server.create_database()
    url = pg_server.url(db)
    store = open_store(url, idle_seconds=0.5)
    assert connections(pg_server, db) == 1  # the open (and its advisory lock) used one
    s = ClassSession(frame(), text="text", classes=["a", "b"], store=store, annotator="ann",
                     assignment=Assignment())
    for label in ("a", "b"):
        s.set_label(label)
        assert connections(pg_server, db) <= 1
        s.next()
        assert connections(pg_server, db) <= 1
    assert settle(pg_server, db, 0) == 0  # idle: given back
    assert store._watcher is None  # and no thread left watching it
    s.set_label("a")  # a write after the release reopens it, transparently
    assert connections(pg_server, db) == 1
    s.next()
    assert store.count("label") == 3
    s.close()
    store.close()
    assert settle(pg_server, db, 0) == 0
    with open_store(url, read_only=True) as ro:
        assert [e.payload for e in ro.events("label")] == ["a", "b", "a"]


def test_never_closed_inside_a_transaction(pg_server):
    db = pg_server.create_database()
    with open_store(pg_server.url(db), idle_seconds=0.2) as store:
        with store.transaction():
            store.append(ev("x"))
            time.sleep(0.6)  # longer than idle_seconds: the open transaction keeps it
            assert connections(pg_server, db) == 1
            store.append(ev("y"))
        assert store.count() == 2
        assert settle(pg_server, db, 0) == 0


def test_idle_none_keeps_the_connection_and_close_stops_the_watcher(pg_server):
    db = pg_server.create_database()
    store = open_store(pg_server.url(db), idle_seconds=None)
    store.append(ev("x"))
    time.sleep(0.3)
    assert connections(pg_server, db) == 1 and store._watcher is None
    store.close()
    busy = open_store(pg_server.url(db), idle_seconds=30)
    watcher = busy._watcher
    assert isinstance(watcher, threading.Thread) and watcher.daemon and watcher.is_alive()
    busy.close()
    assert not watcher.is_alive() and settle(pg_server, db, 0) == 0


def test_sqlite_idle_release_and_reopen(tmp_path):
    store = Store(tmp_path / "s.sqlite", idle_seconds=0.2)
    store.append(ev("x"))
    deadline = time.monotonic() + 5
    while store._conn is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store._conn is None
    store.append(ev("y"))
    assert store.count() == 2
    store.close()
    with pytest.raises(InputError, match="idle_seconds"):
        Store(tmp_path / "t.sqlite", idle_seconds=0)
