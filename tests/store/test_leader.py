"""The leader lease (take, renew, expire, hand over), the board, and ``session.pull`` --
on SQLite and PostgreSQL alike, with separate processes where a race matters."""

from __future__ import annotations

import multiprocessing as mp
import time

import pandas as pd
import pytest

from nblabel.errors import InputError
from nblabel.session import ClassSession
from nblabel.store import board, open_store
from nblabel.store.assign import Assignment
from nblabel.store.leader import LeaderLease, default_holder, leaders


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "team.sqlite")
    return request.getfixturevalue("pg_url")


def test_one_leader_renews_and_hands_over(url):
    a_store, b_store = open_store(url), open_store(url)
    a = LeaderLease(a_store, "boxes", "a@host:1", lease_seconds=30)
    b = LeaderLease(b_store, "boxes", "b@host:2", lease_seconds=30)
    assert a.acquire() and a.held
    assert not b.acquire() and not b.held  # held by a: b cannot take it
    assert b.holder() == "a@host:1"
    assert a.renew() and a.acquire()  # renewing (or asking again) keeps it
    a.release()
    assert a.holder() is None
    assert b.acquire() and b.holder() == "b@host:2"
    assert not a.renew() and not a.held  # a lost it: renewing does not steal it back
    table = leaders(a_store, "boxes")
    assert table[["role", "holder"]].values.tolist() == [["assistant", "b@host:2"]]
    assert table["live"].tolist() == [True]
    a_store.close()
    b_store.close()


def test_an_expired_lease_goes_to_the_next_who_asks(url):
    a_store, b_store = open_store(url), open_store(url)
    a = LeaderLease(a_store, "boxes", "a", lease_seconds=0.3)
    b = LeaderLease(b_store, "boxes", "b", lease_seconds=0.3)
    assert a.acquire()
    assert not b.acquire()
    time.sleep(0.45)  # a stopped renewing (its kernel died)
    assert b.holder() is None
    assert b.acquire() and b.holder() == "b"
    assert not a.renew()  # the old leader learns it lost the lease
    a_store.close()
    b_store.close()


def _race(url: str, name: str, start: float, out) -> None:
    store = open_store(url)
    lease = LeaderLease(store, "boxes", name, lease_seconds=60)
    while time.time() < start:
        time.sleep(0.001)
    out.put((name, lease.acquire()))
    store.close()


def test_processes_racing_for_the_lease_elect_exactly_one(url):
    LeaderLease(open_store(url), "boxes", "setup").ensure()  # table made: a race on rows
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start = time.time() + 3.0
    procs = [ctx.Process(target=_race, args=(url, f"p{i}", start, out)) for i in range(4)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    winners = [n for n, won in results.items() if won]
    assert len(winners) == 1, results
    assert LeaderLease(open_store(url), "boxes", "x").holder() == winners[0]


def test_holder_names_the_process():
    assert default_holder("ann").startswith("ann@") and default_holder().split(":")[-1].isdigit()
    with pytest.raises(InputError):
        LeaderLease(open_store(":memory:"), "t", lease_seconds=0)


def test_board_publishes_versions(url):
    s1, s2 = open_store(url), open_store(url)
    assert board.read(s2, "boxes", "queue") is None  # never published (no table yet)
    assert board.publish(s1, "boxes", "queue", {"keys": ["a", "b"]}) == 1
    assert board.publish(s1, "boxes", "queue", {"keys": ["b", "a"]}) == 2
    assert board.read(s2, "boxes", "queue") == (2, {"keys": ["b", "a"]})
    assert board.read(s2, "boxes", "queue", newer_than=2) is None  # nothing new
    assert board.read(s2, "other", "queue") is None
    s1.close()
    s2.close()


def frame(n=6):
    return pd.DataFrame({"text": [f"t{i}" for i in range(n)]}, index=[f"r{i}" for i in range(n)])


def test_pull_brings_other_annotators_labels_and_suggestions(url):
    a = ClassSession(frame(), text="text", classes=["x", "y"], store=url, annotator="a",
                     assignment=Assignment())
    b_df = frame()
    b = ClassSession(b_df, text="text", classes=["x", "y"], store=url, annotator="b",
                     assignment=Assignment())
    seen = []
    b.on_change(lambda what, key: seen.append((what, key)))
    a.set_label("x", "r5")
    a.suggest("r4", "y", source="model", score=0.7)
    assert b.value("r5") is None  # not pulled yet
    assert sorted(b.pull()) == ["r4", "r5"]
    assert b_df.loc["r5", "label"] == "x"  # written back into b's DataFrame
    assert [s.value for s in b.suggestions("r4")] == ["y"]
    assert ("value", "r5") in seen and ("suggestions", "r4") in seen
    assert b.pull() == []  # nothing applied twice
    b.accept(0, "r4")
    a.pull()
    assert a.value("r4") == "y" and a.suggestions("r4") == []
    assert b.labels.shape[0] == 2
    a.close()
    b.close()
