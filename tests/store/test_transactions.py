"""Team mode: one action is one transaction -- the event, the lease change and the cursor
commit together or not at all (issue 14).

Fault injection on the real SQLite and PostgreSQL: a hook on the engine kills the writer
before each SQL statement of the action and before its commit (an exception that no code of
nblabel catches, then the connection is dropped as a dead process's would be). Read back
from a fresh connection, the store holds either the whole action or none of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from nblabel.session import ClassSession
from nblabel.store import Store, events_table, open_store
from nblabel.store.assign import Assignment, leases

CLASSES = ["a", "b"]


class Killed(BaseException):
    """The writer dies here (not an Exception: no handler of nblabel's catches it)."""


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request, tmp_path) -> Callable[[], str]:
    counter = iter(range(1000))
    if request.param == "sqlite":
        return lambda: str(tmp_path / f"team{next(counter)}.sqlite")
    server = request.getfixturevalue("pg_server")
    return lambda: server.url(server.create_database())


def start(url: str, name: str = "ann") -> ClassSession:
    df = pd.DataFrame({"text": [f"t{i}" for i in range(4)]}, index=[f"r{i}" for i in range(4)])
    return ClassSession(df, text="text", classes=CLASSES, store=url, annotator=name,
                        assignment=Assignment(lease_seconds=600))


def state(url: str, key: str) -> dict[str, Any]:
    """What the store says, read through a connection of its own."""
    with open_store(url, read_only=True) as st:
        events = [(e.item, e.action, e.status) for e in st.events("label")]
        table = leases(st, "label")
        mine = table[(table["item"] == key) & (table["annotator"] == "ann")]
        return {
            "events": events,
            "lease": None if mine.empty else (bool(mine["done"].iloc[0]),),
            "cursor": st.cursor("label", "ann"),
        }


#: action name -> (prepare the session, the action): each adds an event, changes the lease
#: of its item and writes the cursor (undo: to the undone item; labeling another item: the
#: cursor stays where the session is)
ACTIONS: dict[str, tuple[Callable[[ClassSession], None], Callable[[ClassSession], Any]]] = {
    "label": (lambda s: None, lambda s: s.set_label("a")),
    "undo": (lambda s: s.set_label("a"), lambda s: s.undo()),
    "undo on another item": (lambda s: (s.set_label("a"), s.next()), lambda s: s.undo()),
    "label another item": (lambda s: None, lambda s: s.set_label("b", key="r3")),
}


class Killer:
    """Counts the statements (and the commit) of an action; kills the writer at number
    ``at`` (``None``: only count)."""

    def __init__(self, engine: sa.Engine, at: int | None) -> None:
        self.engine, self.at, self.n, self.armed = engine, at, 0, False
        sa.event.listen(engine, "before_cursor_execute", self.step)
        sa.event.listen(engine, "commit", self.step)

    def step(self, *args: Any, **kw: Any) -> None:
        if not self.armed:
            return
        self.n += 1
        if self.at is not None and self.n == self.at:
            self.armed = False
            raise Killed(f"killed before step {self.n}")

    def remove(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self.step)
        sa.event.remove(self.engine, "commit", self.step)


def run(url: str, action: str, at: int | None) -> tuple[str | None, int, dict, dict]:
    """Do ``action`` on a fresh team store, killed at step ``at``; returns where the
    session is after it (``None``: killed), the number of steps, the store before and after."""
    prepare, act = ACTIONS[action]
    s = start(url)
    prepare(s)
    if action == "label another item":
        target = "r3"
    elif action.startswith("undo"):
        target = s.log.event(s.log.undoable(s.annotator)).item
    else:
        target = s.current.key
    before = state(url, target)
    killer = Killer(s.store.engine, at)
    killer.armed = True
    where = None
    try:
        act(s)
        where = s.current.key
    except Killed:
        s.store.conn.invalidate()  # the process is gone: its connection with it
    finally:
        killer.remove()
    s.store._conn = None
    return where, killer.n, before, state(url, target)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_killed_writer_leaves_the_whole_action_or_nothing(new_url, action):
    where, total, before, done = run(new_url(), action, None)
    assert total >= 3  # at least the event, the lease, the commit
    assert len(done["events"]) == len(before["events"]) + 1
    assert done["cursor"] == where and done["lease"] != before["lease"]
    outcomes = []
    for at in range(1, total + 1):
        _, _, before, after = run(new_url(), action, at)
        assert after in (before, done), f"half-done after a kill before step {at} of {total}"
        outcomes.append("nothing" if after == before else "all")
    # killed before the action's commit: nothing; after it: all (then only the session's
    # own moves may follow, which change nothing here)
    assert outcomes[0] == "nothing" and outcomes.count("nothing") >= 3
    assert outcomes == sorted(outcomes, key=["nothing", "all"].index)


def test_the_action_is_one_commit(new_url):
    """Event, lease and cursor: one commit, not three; then next(): one more."""
    url = new_url()
    s = start(url)
    commits = []
    sa.event.listen(s.store.engine, "commit", lambda conn: commits.append(1))
    s.set_label("a")
    assert len(commits) == 1
    s.next()  # SQLite: release, new lease and cursor in one short write transaction too
    assert s.store.cursor("label", "ann") == s.current.key == "r1"
    if s.store.is_sqlite:
        assert len(commits) == 2
    s.close()


def test_without_team_mode_an_action_is_still_one_event(tmp_path):
    s = ClassSession(pd.DataFrame({"t": ["x"]}), text="t", classes=CLASSES,
                     store=Store(tmp_path / "one.sqlite"))
    s.set_label("a")
    n = s.store.conn.execute(sa.select(sa.func.count()).select_from(events_table)).scalar()
    assert n == 1
    s.close()
