"""``nblabel bench core``: cost of a label action with DataFrame write-back, and of resuming.

    nblabel bench core --out benchmarks/results/core.json [--sizes 1000,10000,100000,1000000]
                       [--actions 10000] [--resume-events 100000]

For each DataFrame size, a :class:`~nblabel.session.ClassSession` on a fresh SQLite file
labels ``--actions`` items (``set_label`` then ``next``), timing each call; the report gives
median and p95 per call and the ratio of the largest to the smallest size (flat = ~1).
Then a store with ``--resume-events`` events is reopened and the time to resume is measured.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nblabel.bench.common import write_json
from nblabel.session import ClassSession
from nblabel.store import LabelEvent, Store

CLASSES = ["a", "b", "c"]


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"text": np.full(n, "x", dtype=object)},
                        index=pd.Index([f"row{i}" for i in range(n)], name="id"))


def actions(n_rows: int, n_actions: int, workdir: Path) -> dict:
    df = _frame(n_rows)
    path = workdir / f"actions-{n_rows}.sqlite"
    session = ClassSession(df, text="text", classes=CLASSES, store=path, annotator="bench")
    label_t, next_t = [], []
    for i in range(min(n_actions, n_rows)):
        t0 = time.perf_counter()
        session.set_label(CLASSES[i % 3])
        t1 = time.perf_counter()
        session.next()
        t2 = time.perf_counter()
        label_t.append(t1 - t0)
        next_t.append(t2 - t1)
    assert df["label"].notna().sum() == min(n_actions, n_rows)
    session.close()
    ms = lambda xs, q: float(np.percentile(xs, q) * 1e3)  # noqa: E731
    return {"rows": n_rows, "actions": len(label_t),
            "label_median_ms": ms(label_t, 50), "label_p95_ms": ms(label_t, 95),
            "next_median_ms": ms(next_t, 50), "next_p95_ms": ms(next_t, 95),
            "action_plus_next_median_ms": float(np.median(np.add(label_t, next_t)) * 1e3)}


def resume(n_events: int, n_rows: int, workdir: Path) -> dict:
    path = workdir / "resume.sqlite"
    store = Store(path)
    rng = np.random.default_rng(0)
    items = rng.integers(0, n_rows, n_events)
    batch = []
    for i, it in enumerate(items):
        batch.append(LabelEvent.make("label", f"row{it}", "label", "accepted",
                                     annotator="bench", payload=CLASSES[i % 3]))
        if len(batch) == 10_000:
            store.append_many(batch)
            batch = []
    store.append_many(batch)
    store.set_cursor("label", "bench", f"row{items[-1]}")
    store.close()
    times, cpu = [], []
    for _ in range(5):
        df = _frame(n_rows)
        t0, c0 = time.perf_counter(), time.process_time()
        s = ClassSession(df, text="text", classes=CLASSES, store=path, annotator="bench")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        labeled = int(df["label"].notna().sum())
        s.close()
    return {"events": n_events, "rows": n_rows, "labeled_items": labeled,
            "resume_seconds_median": float(np.median(times)), "resume_seconds_all": times,
            "resume_cpu_seconds_median": float(np.median(cpu))}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="nblabel bench core", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/core.json"))
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--actions", type=int, default=10_000)
    ap.add_argument("--resume-events", type=int, default=100_000)
    ap.add_argument("--resume-rows", type=int, default=100_000)
    a = ap.parse_args(argv)
    sizes = [int(s) for s in a.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for n in sizes:
            r = actions(n, a.actions, Path(tmp))
            rows.append(r)
            print(f"rows={n:>9,}: label median {r['label_median_ms']:.3f} ms "
                  f"(p95 {r['label_p95_ms']:.3f}), next median {r['next_median_ms']:.3f} ms")
        res = resume(a.resume_events, a.resume_rows, Path(tmp))
        print(f"resume {a.resume_events:,} events: {res['resume_seconds_median']:.3f} s "
              f"(cpu {res['resume_cpu_seconds_median']:.3f} s)")
    first, last = rows[0], rows[-1]
    out = {
        "benchmark": "core",
        "actions": rows,
        "label_median_ratio_largest_to_smallest":
            last["label_median_ms"] / first["label_median_ms"],
        "resume": res,
    }
    path = write_json(a.out, out)
    print(f"wrote {path}")
    return 0
