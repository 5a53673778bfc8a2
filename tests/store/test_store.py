import sqlite3
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from nblabel.errors import SchemaVersionError, StoreError, StoreLockedError, StoreReadOnlyError
from nblabel.store import SCHEMA_VERSION, LabelEvent, Store, open_store


def ev(item="1", payload="a", **kw):
    return LabelEvent.make("label", item, "label", "accepted", annotator="t", payload=payload, **kw)


def test_append_read_and_reopen(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store(path) as s:
        a = s.append(ev("x", {"k": [1, 2]}))
        b, c = s.append_many([ev("y"), ev("z")])
        assert (a.id, b.id, c.id) == (1, 2, 3)
        s.set_cursor("label", "t", "y")
        s.set_cursor("label", "t", "z")
    with Store(path) as s:
        events = list(s.events())
        assert [e.item for e in events] == ["x", "y", "z"]
        assert events[0].payload == {"k": [1, 2]}
        assert s.cursor("label", "t") == "z" and s.cursor("label", "other") is None
        assert s.count("label") == 3 and s.tasks() == ["label"]


def test_memory_store_and_open_store(tmp_path):
    s = open_store(None)
    assert s.append(ev()).id == 1
    assert open_store(s) is s
    assert open_store(tmp_path / "f.sqlite").path == (tmp_path / "f.sqlite").resolve()


def test_newer_schema_is_refused_and_file_untouched(tmp_path):
    path = tmp_path / "new.sqlite"
    Store(path).close()
    con = sqlite3.connect(path)
    con.execute("UPDATE nblabel_meta SET value=? WHERE key='schema_version'",
                (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError, match=r"newer nblabel.*upgrade"):
        Store(path)
    assert path.read_bytes() == before


def test_not_a_database(tmp_path):
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(StoreError, match="not a readable nblabel store"):
        Store(path)


def test_locked_by_another_process(tmp_path):
    path = tmp_path / "locked.sqlite"
    with Store(path) as s:
        s.append(ev("kept"))
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sqlite3, sys, time
        con = sqlite3.connect({str(path)!r}, isolation_level=None)
        con.execute("BEGIN EXCLUSIVE")
        print("locked", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError, match="locked by another process"):
            s = Store(path, timeout=0.3)
            s.append(ev("lost?"))
    finally:
        holder.kill()
        holder.wait()
    with Store(path) as s:
        assert [e.item for e in s.events()] == ["kept"]


def test_read_only_store_cannot_be_written(tmp_path):
    path = tmp_path / "ro.sqlite"
    with Store(path) as s:
        s.append(ev())
    with Store(path, read_only=True) as s:
        assert len(list(s.events())) == 1
        with pytest.raises(StoreReadOnlyError):
            s.append(ev())
        with pytest.raises(StoreReadOnlyError):
            s.set_cursor("label", "t", "1")
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "missing.sqlite", read_only=True)


def test_sql_metacharacters_are_data(tmp_path):
    with Store(tmp_path / "s.sqlite") as s:
        nasty = "x'); DROP TABLE nblabel_events; --"
        s.append(ev(nasty, nasty))
        assert [(e.item, e.payload) for e in s.events()] == [(nasty, nasty)]


def test_payload_must_be_json():
    with pytest.raises(ValueError):
        ev(payload=float("nan"))
    with pytest.raises(TypeError):
        ev(payload=object())


def test_wal_mode(tmp_path):
    path = tmp_path / "w.sqlite"
    Store(path).close()
    eng = sa.create_engine(f"sqlite:///{path}")
    with eng.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
