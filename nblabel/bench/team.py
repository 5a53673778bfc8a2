"""``nblabel bench team``: N annotator processes x M actions on one store, then checks.

    nblabel bench team [--procs 8] [--actions 2000] [--backends sqlite,postgresql]
                       [--pace 0] [--pg-url URL] [--overlap 0.1]
                       [--out benchmarks/results/team-DATE.json]

Each annotator is a separate Python process with a :class:`~nblabel.session.ClassSession`
in team mode (:class:`~nblabel.store.assign.Assignment`). One *action* is: label the current item
(5 % of the time followed by an undo and a different label), then ``next()`` (lease the next
item). By default annotators act back to back (a stress test: every process always
wants the CPU and the store); ``--pace S`` makes each one think for a random 0.5-1.5 x S
seconds before each action, as people do (a class labeling a photo every few seconds), and
the think time is not counted in the latency. Workers start together (a barrier file) and
time themselves; the report gives
actions/s and events/s over the labeling time of the slowest worker (``wall_seconds`` adds
process exit and reporting), the latency of one action
as each annotator sees it (p50/p95/max, ms), and the checks:

- ``lost_events``: events a worker got an id for that are not in the store, plus store events
  no worker wrote (both must be 0);
- ``duplicate_assignments``: items served to more annotators than they need (0);
- ``replay_mismatches``: items whose replayed label differs from the value the last writer's
  session held (0).

Without ``--pg-url`` a throwaway PostgreSQL cluster is started (initdb/pg_ctl on PATH or in
/usr/lib/postgresql/*/bin) and removed afterwards. ``python -m nblabel.bench.team --worker``
is the worker (used by the tests too).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CLASSES = ["cat", "dog", "bird"]
TASK = "label"


def frame(n_items: int) -> pd.DataFrame:
    """The DataFrame every worker labels (the same in each process)."""
    return pd.DataFrame({"text": [f"text {i}" for i in range(n_items)]},
                        index=pd.Index([f"item{i:06d}" for i in range(n_items)], name="id"))


# -- worker ---------------------------------------------------------------------------------
def worker(args: argparse.Namespace) -> int:
    """One annotator: label ``args.actions`` items (forever with ``--actions 0``)."""
    from nblabel.session import ClassSession
    from nblabel.store import open_store
    from nblabel.store.assign import Assignment

    rng = np.random.default_rng(zlib.crc32(args.annotator.encode()))
    store = open_store(args.url)
    ids: list[int] = []
    write_action = store.write_action

    def recording_write(events, then=None):  # one action: reported once committed
        stored = write_action(events, then)
        for ev in stored:
            ids.append(int(ev.id))
            print(f"event {ev.id} {ev.action} {ev.item}", flush=True)
        return stored

    store.write_action = recording_write  # type: ignore[method-assign]
    assignment = Assignment(lease_seconds=args.lease, overlap=args.overlap, seed=0)
    session = ClassSession(frame(args.items), text="text", classes=CLASSES, store=store,
                           annotator=args.annotator, assignment=assignment)
    print(f"ready {session.current.key if session.current else None}", flush=True)
    if args.go:
        while not Path(args.go).exists():
            time.sleep(0.005)
    served: list[str] = []
    t0 = time.perf_counter()
    done = 0
    latencies: list[float] = []
    while args.actions == 0 or done < args.actions:
        if args.pace:  # the person looks at the item (not counted in the latency)
            time.sleep(args.pace * rng.uniform(0.5, 1.5))
        t_action = time.perf_counter()
        item = session.current
        if item is None or (served and item.key == served[-1] and session.is_labeled()):
            break  # nothing left to lease
        served.append(item.key)
        session.set_label(CLASSES[int(rng.integers(len(CLASSES)))])
        if rng.random() < args.undo:
            session.undo()
            session.set_label(CLASSES[int(rng.integers(len(CLASSES)))], item.key)
        done += 1
        session.next()
        latencies.append(time.perf_counter() - t_action)
    elapsed = time.perf_counter() - t0
    final = {}
    for key in dict.fromkeys(served):
        ev = session.log.current(key)
        final[key] = [session.value(key), None if ev is None else ev.id]
    report = {"annotator": args.annotator, "actions": done, "seconds": elapsed,
              "served": served, "event_ids": ids, "final": final, "latencies": latencies}
    if args.report:
        Path(args.report).write_text(json.dumps(report))
    session.close()
    store.close()
    return 0


def _worker_cmd(url: str, annotator: str, *, actions: int, items: int, report: str | None,
                go: str | None = None, lease: float = 60.0, overlap: float = 0.1,
                undo: float = 0.05, pace: float = 0.0) -> list[str]:
    cmd = [sys.executable, "-m", "nblabel.bench.team", "--worker", "--url", url,
           "--annotator", annotator, "--actions", str(actions), "--items", str(items),
           "--lease", str(lease), "--overlap", str(overlap), "--undo", str(undo),
           "--pace", str(pace)]
    if report:
        cmd += ["--report", report]
    if go:
        cmd += ["--go", go]
    return cmd


def spawn(url: str, annotator: str, **kwargs: Any) -> subprocess.Popen:
    """Start one worker process (stdout: ``ready ...`` then one ``event ID ACTION ITEM``
    line per committed event)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(_worker_cmd(url, annotator, **kwargs), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


# -- load run and checks --------------------------------------------------------------------
def run_load(url: str, *, procs: int, actions: int, overlap: float = 0.1,
             undo: float = 0.05, lease: float = 60.0, timeout: float = 600.0,
             pace: float = 0.0) -> dict[str, Any]:
    """Run ``procs`` workers x ``actions`` on ``url`` (``pace``: mean think time before each
    action, seconds); returns figures and check results."""
    from nblabel.store import open_store

    n_items = procs * actions
    open_store(url).close()  # create the schema once
    with tempfile.TemporaryDirectory(prefix="nblabel-team-") as tmp:
        go = Path(tmp) / "go"
        workers: list[tuple[subprocess.Popen, str]] = []
        try:
            for i in range(procs):
                report = str(Path(tmp) / f"w{i}.json")
                p = spawn(url, f"annotator{i}", actions=actions, items=n_items, report=report,
                          go=str(go), lease=lease, overlap=overlap, undo=undo, pace=pace)
                workers.append((p, report))
            for p, _ in workers:  # barrier: every worker has opened its session
                line = p.stdout.readline()
                if not line.startswith("ready"):
                    p.wait(timeout=30)
                    raise RuntimeError(f"worker failed to start: {line}{p.stderr.read()}")
            t0 = time.perf_counter()
            go.touch()
            reports = []
            for p, report in workers:
                _, err = p.communicate(timeout=timeout)
                if p.returncode != 0:
                    raise RuntimeError(f"worker exited with {p.returncode}: {err[-2000:]}")
                reports.append(json.loads(Path(report).read_text()))
            wall = time.perf_counter() - t0
        finally:  # a failed run leaves no worker waiting for the start signal
            for p, _ in workers:
                if p.poll() is None:
                    p.kill()
                    p.wait(timeout=30)
    checks = verify(url, reports, overlap=overlap)
    total = sum(r["actions"] for r in reports)
    busy = max(max(r["seconds"] for r in reports), 1e-9)  # the slowest worker's labeling loop
    lat = np.concatenate([r["latencies"] for r in reports]) * 1e3 if total else np.zeros(1)
    n_events = sum(len(r["event_ids"]) for r in reports)
    return {"procs": procs, "actions_per_proc": actions, "pace_seconds": pace,
            "items": n_items, "overlap": overlap,
            "undo_share": undo, "actions": total, "events": n_events,
            "wall_seconds": round(wall, 3), "slowest_worker_seconds": round(busy, 3),
            "actions_per_s": round(total / busy, 1), "events_per_s": round(n_events / busy, 1),
            "action_ms_p50": round(float(np.percentile(lat, 50)), 2),
            "action_ms_p95": round(float(np.percentile(lat, 95)), 2),
            "action_ms_max": round(float(lat.max()), 2),
            "worker_seconds": [round(r["seconds"], 3) for r in reports], **checks}


def verify(url: str, reports: list[dict[str, Any]], *, overlap: float) -> dict[str, Any]:
    """Compare what the workers did with the store and its replay."""
    from nblabel.store import open_store
    from nblabel.store.assign import Assignment, leases
    from nblabel.store.log import LabelLog

    store = open_store(url, read_only=True)
    try:
        events = list(store.events(TASK))
        table = leases(store, TASK)
        integrity = None
        if store.is_sqlite:
            import sqlalchemy as sa

            integrity = store.conn.execute(sa.text("PRAGMA integrity_check")).scalar_one()
    finally:
        store.close()
    stored_ids = {int(e.id) for e in events}
    written = [i for r in reports for i in r["event_ids"]]
    lost = len(set(written) - stored_ids) + len(stored_ids - set(written))
    needed = Assignment(overlap=overlap, seed=0)
    needed.task = TASK
    served: dict[str, set[str]] = defaultdict(set)
    for r in reports:
        for key in r["served"]:
            served[key].add(r["annotator"])
    labelers: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.action == "label":
            labelers[e.item].add(e.annotator)
    dup = sum(len(a) > needed.needed(k) for k, a in served.items())
    dup += sum(len(a) > needed.needed(k) for k, a in labelers.items())
    done_rows = table[table["done"]].groupby("item")["annotator"].agg(list)
    dup += sum(len(a) != len(set(a)) or len(a) > needed.needed(k) for k, a in done_rows.items())
    replay = LabelLog()
    for e in events:
        replay.apply(e)
    last_writer: dict[str, tuple[int, Any]] = {}
    for r in reports:
        for key, (value, ev_id) in r["final"].items():
            if ev_id is not None and (key not in last_writer or ev_id > last_writer[key][0]):
                last_writer[key] = (ev_id, value)
    mismatches = 0
    for key, (_, value) in last_writer.items():
        ev = replay.current(key)
        got = None if ev is None or ev.status == "deleted" else ev.payload
        mismatches += got != value
    return {"stored_events": len(stored_ids), "lost_events": lost,
            "duplicate_assignments": int(dup), "replay_mismatches": int(mismatches),
            "items_served": len(served), "overlap_items_served_twice":
            sum(len(a) >= 2 for a in served.values()), "sqlite_integrity": integrity}


# -- entry point ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="nblabel bench team", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--annotator", help=argparse.SUPPRESS)
    p.add_argument("--items", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--report", help=argparse.SUPPRESS)
    p.add_argument("--go", help=argparse.SUPPRESS)
    p.add_argument("--procs", type=int, default=8)
    p.add_argument("--actions", type=int, default=2000, help="actions per annotator process")
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--pg-url", default=os.environ.get("NBLABEL_BENCH_PG_URL"))
    p.add_argument("--overlap", type=float, default=0.1)
    p.add_argument("--undo", type=float, default=0.05)
    p.add_argument("--lease", type=float, default=60.0)
    p.add_argument("--pace", type=float, default=0.0,
                   help="mean seconds each annotator thinks before an action (0: back to back)")
    p.add_argument("--out", default=None)
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.worker:
        return worker(args)

    from nblabel.bench.common import write_json

    results: dict[str, Any] = {}
    server = None
    with tempfile.TemporaryDirectory(prefix="nblabel-bench-team-") as tmp:
        try:
            for backend in args.backends.split(","):
                if backend == "sqlite":
                    url = str(Path(tmp) / "team.sqlite")
                elif backend == "postgresql":
                    url = args.pg_url
                    if url is None:
                        from nblabel.bench._pgtemp import PgServer, find_bindir

                        bindir = find_bindir()
                        if bindir is None:
                            print("postgresql: server binaries not found, skipped")
                            continue
                        server = PgServer(bindir)
                        url = server.url(server.create_database())
                else:
                    raise SystemExit(f"unknown backend {backend!r}")
                print(f"== {backend}: {args.procs} processes x {args.actions} actions", flush=True)
                res = run_load(url, procs=args.procs, actions=args.actions,
                               overlap=args.overlap, undo=args.undo, lease=args.lease,
                               pace=args.pace)
                print(json.dumps(res | {"worker_seconds": "..."}), flush=True)
                results[backend] = res
        finally:
            if server is not None:
                server.close()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    out = Path(args.out or f"benchmarks/results/team-{stamp}.json")
    write_json(out, {"benchmark": "team", "command": "nblabel bench team " + " ".join(
        a for a in (argv or sys.argv[1:]) if a), "results": results})
    print(f"wrote {out}")
    bad = [b for b, r in results.items()
           if r["lost_events"] or r["duplicate_assignments"] or r["replay_mismatches"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
