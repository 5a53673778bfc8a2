"""Reliability of team labeling: concurrent annotator processes, kill -9, a PostgreSQL restart
during a session, kill and reopen. On SQLite each fault ends with ``PRAGMA integrity_check``.

The full load (8 processes x 2,000 actions) is ``nblabel bench team``; here a small one.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest
import sqlalchemy as sa

from nblabel.bench.team import CLASSES, TASK, frame, run_load, spawn
from nblabel.errors import StoreError
from nblabel.session import ClassSession
from nblabel.store import open_store
from nblabel.store.assign import Assignment, leases
from nblabel.store.log import LabelLog
from nblabel.team import StoreUnavailableError

N_ITEMS = 400


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "team.sqlite")
    return request.getfixturevalue("pg_url")


def integrity(url: str) -> None:
    """``PRAGMA integrity_check`` on an SQLite store (no-op on a server)."""
    with open_store(url, read_only=True) as st:
        if st.is_sqlite:
            assert st.conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"


def run_until_killed(url: str, annotator: str, n_events: int, **kw) -> list[int]:
    """Start a worker labeling forever, kill -9 it after ``n_events`` committed events;
    returns the ids it reported as committed."""
    p = spawn(url, annotator, actions=0, items=N_ITEMS, report=None, **kw)
    ids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(ids) < n_events and time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                raise AssertionError(f"worker died: {p.stderr.read()[-2000:]}")
            if line.startswith("event "):
                ids.append(int(line.split()[1]))
        os.kill(p.pid, signal.SIGKILL)  # mid-session, very likely mid-write
    finally:
        p.wait(timeout=30)
        p.stdout.close()
        p.stderr.close()
    assert p.returncode == -signal.SIGKILL
    return ids


@pytest.mark.slow
def test_load_no_lost_events_no_duplicate_assignments(url):
    res = run_load(url, procs=3, actions=40, overlap=0.2, undo=0.1)
    assert res["actions"] == 120
    assert res["stored_events"] == res["events"] >= 120
    assert res["lost_events"] == 0
    assert res["duplicate_assignments"] == 0
    assert res["replay_mismatches"] == 0
    assert res["overlap_items_served_twice"] > 0
    assert res["sqlite_integrity"] in (None, "ok")
    integrity(url)


def test_paced_annotators_think_between_actions_and_it_is_not_counted(url):
    pace, actions = 1.0, 3
    res = run_load(url, procs=2, actions=actions, pace=pace)
    assert res["actions"] == 2 * actions and res["pace_seconds"] == pace
    assert min(res["worker_seconds"]) >= actions * 0.5 * pace  # each thought >= 0.5 s
    assert res["action_ms_p50"] < 500, res  # the latency is the action, not the thinking
    assert res["lost_events"] == res["duplicate_assignments"] == 0


def test_kill_annotator_mid_write_lease_returns_events_stay(url):
    open_store(url).close()
    ids = run_until_killed(url, "dead", 10, lease=1.0, overlap=0.0, pace=0.005)
    integrity(url)
    with open_store(url, read_only=True) as st:
        events = list(st.events(TASK))
    stored = {e.id for e in events}
    assert set(ids) <= stored  # every committed event survived
    assert len(stored) - len(ids) <= 1  # at most the one in flight when killed
    log = LabelLog()
    for e in events:
        log.apply(e)
    with open_store(url, read_only=True) as st:
        table = leases(st, TASK)
    held = table[~table["done"]]
    assert len(held) <= 1
    time.sleep(1.2)  # the dead annotator's lease expires
    b = ClassSession(frame(N_ITEMS), text="text", classes=CLASSES, store=url, annotator="b",
                     assignment=Assignment(lease_seconds=1.0))
    if len(held):
        item = held["item"].iloc[0]
        if item in {e.item for e in events if e.action == "label"}:
            assert b.current.key != item  # labeled before the kill: closed, not reassigned
        else:
            assert b.current.key == item  # the lease returned to the pool
    assert not b.is_labeled()
    b.close()
    integrity(url)


def test_kill_and_reopen_resumes_exactly(url):
    open_store(url).close()
    ids = run_until_killed(url, "ann", 8, lease=600.0, overlap=0.0, pace=0.005)
    integrity(url)
    with open_store(url, read_only=True) as st:
        events = list(st.events(TASK))
        table = leases(st, TASK)
        cursor = st.cursor(TASK, "ann")
    assert set(ids) <= {e.id for e in events}
    log = LabelLog()
    for e in events:
        log.apply(e)
    held = table[~table["done"]]["item"].tolist()
    df = frame(N_ITEMS)
    s = ClassSession(df, text="text", classes=CLASSES, store=url, annotator="ann",
                     assignment=Assignment(lease_seconds=600.0))
    if held and not log.is_labeled(held[0]):
        assert s.current.key == held[0]  # the item it was on (or had just leased)
    else:
        assert not s.is_labeled() and s.current.key != cursor
    # the DataFrame is exactly the replayed log
    expected = {k: ev.payload for k, ev in log.labeled_items().items()}
    assert df["label"].dropna().to_dict() == expected
    s.set_label("cat")
    s.next()
    s.close()
    integrity(url)


def test_postgres_restart_during_session(pg_server, pg_url, caplog):
    df = frame(20)
    s = ClassSession(df, text="text", classes=CLASSES, store=pg_url, annotator="ann",
                     assignment=Assignment())
    s.store.retries, s.store.backoff = 5, 0.3
    for label in ("cat", "dog", "bird"):
        s.set_label(label)
        s.next()
    caplog.set_level(logging.WARNING, "nblabel")
    pg_server.stop("fast")
    restart = threading.Timer(1.0, pg_server.start)
    restart.start()
    try:
        s.set_label("cat")  # the server is down: retried until it is back
    finally:
        restart.join()
    assert "retry 1 of 5" in caplog.text and "127.0.0.1" in caplog.text
    s.next()
    assert s.store.count(TASK) == 4

    # down for longer than the retries: a clear error, nothing changes, nothing is lost
    pg_server.stop("fast")
    before = (df["label"].tolist(), s.current.key)
    s.store.retries, s.store.backoff = 1, 0.05
    try:
        with pytest.raises(StoreUnavailableError) as info:
            s.set_label("dog")
        msg = str(info.value)
        assert f"127.0.0.1:{pg_server.port}" in msg and "labels already saved are safe" in msg
        assert "s3cret" not in msg and "s3cret" not in caplog.text
        assert (df["label"].tolist(), s.current.key) == before
    finally:
        pg_server.start()
    s.store.retries, s.store.backoff = 3, 0.3
    s.set_label("dog")  # the same session goes on once the server is back
    s.close()
    df2 = frame(20)
    s2 = ClassSession(df2, text="text", classes=CLASSES, store=pg_url, annotator="ann")
    assert df2["label"].tolist()[:5] == ["cat", "dog", "bird", "cat", "dog"]
    assert s2.store.count(TASK) == 5
    s2.close()


def test_bench_team_command_writes_json(tmp_path):
    from nblabel.cli import main

    out = tmp_path / "team.json"
    assert main(["bench", "team", "--procs", "2", "--actions", "5", "--backends", "sqlite",
                 "--out", str(out)]) == 0
    import json

    res = json.loads(out.read_text())["results"]["sqlite"]
    # 10 items for 2 x 5 actions: the other worker may hold the last item when one asks
    assert res["actions"] >= 9 and res["lost_events"] == 0 and res["actions_per_s"] > 0
    assert res["duplicate_assignments"] == 0 and res["sqlite_integrity"] == "ok"


def test_store_error_hierarchy():
    assert issubclass(StoreUnavailableError, StoreError)
    assert issubclass(StoreUnavailableError, ConnectionError)
