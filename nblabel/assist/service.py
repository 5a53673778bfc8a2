"""``nblabel assist STORE``: the team's labeling assistant as a process of its own.

Usage::

    nblabel assist labels.sqlite --sample food [--task boxes]        # the app's sample data
    nblabel assist postgresql://host/db --table photos.csv --image path --group group \\
        --classes apple,banana,egg,coin [--item-class food]

It opens the task on the store, as every annotator's kernel does, and runs the
:class:`~nblabel.assist.team.SharedAssistant` there: it takes the leader lease (or waits
for the current leader's to expire), tracks, trains and predicts, and posts its
suggestions and the queue order to the store. Annotators' kernels started with
``SharedAssistant(lead=False)`` (``nblabel app --assist external``) then run no assistant
at all. SIGINT/SIGTERM stop it and hand the lease over.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["load_items", "main", "parse_args"]

#: the classes of notebooks/app.ipynb, for ``--sample food``
SAMPLE_CLASSES = ["apple", "banana", "egg", "coin"]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``nblabel assist`` arguments."""
    p = argparse.ArgumentParser(prog="nblabel assist", description=__doc__.split("\n")[0])
    p.add_argument("store", help="SQLite file or PostgreSQL URL that the annotators use")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--sample", choices=["food"], help="the bundled sample (as the app)")
    src.add_argument("--table", help="CSV, Parquet or JSON-lines file of the items (one row "
                     "each, index in the first column)")
    p.add_argument("--image", default="path", help="column of image paths (default: path)")
    p.add_argument("--group", default="group", help="column of image groups (default: group)")
    p.add_argument("--classes", default=None, help="comma-separated box classes")
    p.add_argument("--item-class", default=None, help="column of image-level classes")
    p.add_argument("--task", "--column", dest="column", default=None,
                   help="the task: the label column the annotators' sessions use (default: "
                   "boxes)")
    p.add_argument("--lease", type=float, default=15.0, help="leader lease seconds")
    p.add_argument("--poll", type=float, default=0.5, help="seconds between looks")
    p.add_argument("--seconds", type=float, default=None,
                   help="stop after this long (default: run until stopped)")
    args = p.parse_args(list(argv))
    if args.table and not args.classes:
        p.error("--table needs --classes")
    return args


def load_items(args: argparse.Namespace) -> tuple[pd.DataFrame, list[str]]:
    """The items and classes named by the arguments."""
    if args.sample:
        from nblabel.data.datasets import food_sample

        images, _ = food_sample()
        classes = args.classes.split(",") if args.classes else SAMPLE_CLASSES
        return images, classes
    path = Path(args.table)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif path.suffix in (".jsonl", ".json"):
        df = pd.read_json(path, lines=path.suffix == ".jsonl")
    else:
        df = pd.read_csv(path, index_col=0)
    return df, [c.strip() for c in args.classes.split(",") if c.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nblabel assist``."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from nblabel.assist.boxes import BoxAssistant
    from nblabel.assist.team import SharedAssistant
    from nblabel.session import BoxSession

    df, classes = load_items(args)
    kwargs: dict[str, Any] = {"column": args.column} if args.column else {}
    session = BoxSession(df, image=args.image, classes=classes, group=args.group,
                         store=args.store, annotator="assistant", **kwargs)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    shared = SharedAssistant(lambda: BoxAssistant(item_class=args.item_class),
                             lease_seconds=args.lease, poll_seconds=args.poll)
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    last = ""
    try:
        shared.attach(session)
        while not stop.wait(1.0):
            role = "leading" if shared.is_leader else "waiting for the lease"
            line = f"{role}: {shared.status}"
            if line != last:
                print(f"nblabel assist: {line}", flush=True)
                last = line
            if deadline is not None and time.monotonic() > deadline:
                break
    finally:
        shared.close()
        session.close()
    print("nblabel assist: stopped; the lease is handed over", flush=True)
    return 0
