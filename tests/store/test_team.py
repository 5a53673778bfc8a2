"""The store on PostgreSQL behaves like the SQLite default (every test runs on both), plus
connection errors, credentials, read-only, team progress and the SQL/pickle audit."""

from __future__ import annotations

import json
import logging
import re
import socket
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from nblabel.errors import InputError, StoreError, StoreReadOnlyError
from nblabel.session import ClassSession, TagSession
from nblabel.store import LabelEvent, Store, open_store
from nblabel.team import (
    StoreUnavailableError,
    TeamStore,
    describe_server,
    is_server_url,
    item_agreement,
    team_progress,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    """A fresh store URL on each backend."""
    if request.param == "sqlite":
        return str(tmp_path / "team.sqlite")
    return request.getfixturevalue("pg_url")


def ev(item="1", payload="a", annotator="t", task="label"):
    return LabelEvent.make(task, item, "label", "accepted", annotator=annotator, payload=payload)


def frame(n=6):
    return pd.DataFrame({"text": [f"t{i}" for i in range(n)]}, index=[f"r{i}" for i in range(n)])


def test_store_same_behaviour(url):
    with open_store(url) as s:
        assert isinstance(s, TeamStore) == url.startswith("postgresql")
        a = s.append(ev("x", {"k": [1, 2], "u": "é🙂"}))
        b, c = s.append_many([ev("y"), ev("z")])
        assert (a.id, b.id, c.id) == (1, 2, 3)
        s.set_cursor("label", "t", "y")
        s.set_cursor("label", "t", "z")
    with open_store(url) as s:
        events = list(s.events())
        assert [e.item for e in events] == ["x", "y", "z"]
        assert events[0].payload == {"k": [1, 2], "u": "é🙂"}
        assert s.cursor("label", "t") == "z" and s.cursor("label", "o") is None
        assert s.count("label") == 3 and s.tasks() == ["label"]
        assert [e.id for e in s.events(after=2)] == [3]


def test_session_resumes_on_both_backends(url):
    df = frame()
    s = ClassSession(df, text="text", classes=["a", "b"], store=url, annotator="ann")
    s.set_label("a")
    s.next()
    s.set_label("b")
    s.next()
    s.undo()
    at = s.current.key
    s.close()
    df2 = frame()
    s2 = ClassSession(df2, text="text", classes=["a", "b"], store=url, annotator="ann")
    assert s2.current.key == at
    assert df2["label"].tolist() == df["label"].tolist() == ["a", None, None, None, None, None]
    s2.close()


def test_sql_metacharacters_and_html_are_data(url):
    nasty = "x'); DROP TABLE nblabel_events; --"
    tag = "<script>alert('x')</script>"
    df = pd.DataFrame({"text": ["a", "b"]}, index=[nasty, 'id"; DELETE FROM nblabel_meta; --'])
    s = TagSession(df, text="text", tags=[tag, "ok"], store=url, annotator="o'brien")
    s.set_tags([tag, "ok"])
    s.set_tags(["ok"], key=df.index[1])
    s.close()
    with open_store(url, read_only=True) as st:
        assert st.count() == 2
        got = {e.item: e.payload for e in st.events()}
        assert got == {nasty: sorted([tag, "ok"]), df.index[1]: ["ok"]}
        assert {e.annotator for e in st.events()} == {"o'brien"}


def test_payload_is_json_text_not_pickle(url):
    with open_store(url) as s:
        s.append(ev("x", {"a": [1.5, None, "z"]}))
        raw = s.conn.execute(sa.text("SELECT payload FROM nblabel_events")).scalar_one()
    assert isinstance(raw, str) and json.loads(raw) == {"a": [1.5, None, "z"]}


def test_read_only_store_cannot_be_written(url):
    with open_store(url) as s:
        s.append(ev())
    with open_store(url, read_only=True) as ro:
        with pytest.raises(StoreReadOnlyError):
            ro.append(ev("2"))
        with pytest.raises(StoreReadOnlyError):
            ro.set_cursor("label", "t", "1")
        # even SQL sent around nblabel is refused by the database itself
        with pytest.raises(sa.exc.DBAPIError, match=r"read-only|readonly"):
            ro.conn.execute(sa.text("DELETE FROM nblabel_events"))
        ro.conn.rollback()
        assert ro.count() == 1


def test_team_progress_and_agreement(url):
    df = frame(4)
    from nblabel.store.assign import Assignment

    sessions = [
        ClassSession(df.copy(), text="text", classes=["a", "b"], store=url, annotator=name,
                     assignment=Assignment(overlap=1.0))
        for name in ("ann", "bob")
    ]
    for s, labels in zip(sessions, (["a", "a", "b", "b"], ["a", "b", "b", "a"])):
        for lab in labels:
            s.set_label(lab)
            s.next()
    prog = team_progress(url)
    assert list(prog.index) == ["ann", "bob"]
    assert prog.loc["ann", "labels"] == 4 and prog.loc["bob", "overlap"] == 4
    assert prog.loc["ann", "agreement"] == pytest.approx(0.5)
    # ann a,a,b,b vs bob a,b,b,a: p_o = 0.5, p_e = 0.5 -> kappa 0
    assert prog.loc["ann", "kappa"] == pytest.approx(0.0)
    agree = item_agreement(sessions[0].store, "label")
    assert len(agree) == 4 and agree["agreement"].sum() == 2
    assert (prog["per_hour"] > 0).all()
    for s in sessions:
        s.close()


def test_team_progress_empty(tmp_path):
    prog = team_progress(Store(tmp_path / "e.sqlite"), "label")
    assert prog.empty and "agreement" in prog.columns


# -- PostgreSQL specifics ---------------------------------------------------------------------
def test_server_url_helpers(monkeypatch):
    assert is_server_url("postgresql://u@h/db") and is_server_url("postgres://h/db")
    assert not is_server_url("sqlite:///x.db") and not is_server_url("labels.sqlite")
    for var in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
        monkeypatch.delenv(var, raising=False)
    assert describe_server("postgresql://u:pw@db.example:6543/lab") == "db.example:6543/lab as u"
    monkeypatch.setenv("PGHOST", "envhost")
    monkeypatch.setenv("PGUSER", "envuser")
    assert describe_server("postgresql://") == "envhost:5432/(default database) as envuser"


def test_connection_error_names_host_never_password(caplog):
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://alice:TopSecret123@127.0.0.1:{port}/lab"
    caplog.set_level(logging.WARNING, "nblabel")
    with pytest.raises(StoreUnavailableError) as info:
        TeamStore(url, retries=2, backoff=0.01, timeout=2)
    msg = str(info.value)
    assert f"127.0.0.1:{port}/lab as alice" in msg and "2" in msg
    assert "TopSecret123" not in msg and "TopSecret123" not in caplog.text
    assert caplog.text.count("retry") == 2  # retried with backoff, then gave up
    assert "3 attempts" in msg


def test_credentials_from_pg_environment(pg_server, monkeypatch):
    from nblabel.bench._pgtemp import PASSWORD, USER

    db = pg_server.create_database()
    monkeypatch.setenv("PGHOST", pg_server.host)
    monkeypatch.setenv("PGPORT", str(pg_server.port))
    monkeypatch.setenv("PGUSER", USER)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    monkeypatch.setenv("PGDATABASE", db)
    with open_store("postgresql://") as s:
        s.append(ev())
        assert s.count() == 1
        assert PASSWORD not in repr(s) and db in repr(s)
    monkeypatch.setenv("PGPASSWORD", "wrong-password-42")
    with pytest.raises(StoreError) as info:  # permanent: reported at once, not retried
        TeamStore("postgresql://", retries=3, backoff=5)
    assert not isinstance(info.value, StoreUnavailableError)
    msg = str(info.value)
    assert "wrong-password-42" not in msg and "password authentication failed" in msg
    assert f"{pg_server.host}:{pg_server.port}/{db} as {USER}" in msg


def test_pg_refuses_what_it_cannot_store_with_clear_errors(pg_url):
    with open_store(pg_url) as s:
        with pytest.raises(InputError, match="NUL"):
            s.append(ev("a\x00b"))
        with pytest.raises(InputError, match=r"task .* characters long"):
            s.append(ev(task="t" * 65))
        s.append(ev("fine"))
        assert s.count() == 1  # nothing half-written


def test_sql_only_through_bound_parameters():
    """Audit: the store package (store, replay, team, assignment) builds SQL with SQLAlchemy
    expressions; the only literal SQL is a PRAGMA with an int."""
    pattern = re.compile(r"(text\(|exec_driver_sql|\.execute\(\s*f?[\"'])")
    hits = []
    store_files = sorted((ROOT / "nblabel" / "store").glob("*.py"))
    assert len(store_files) >= 8  # events, sqlite, engine, team, open, log, assign, agreement
    for path in store_files:
        name = path.name
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                hits.append(f"{name}:{i}: {line.strip()}")
    assert [h.split(":", 2)[::2] for h in hits] == [
        ["sqlite_engine.py", ' cur.execute("PRAGMA journal_mode=WAL")'],
        ["sqlite_engine.py", ' cur.execute("PRAGMA synchronous=NORMAL")'],
        ["sqlite_engine.py", ' cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")'],
    ]
    for path in [*store_files, *(ROOT / "nblabel" / "session").glob("*.py")]:
        assert "pickle" not in path.read_text(), path
