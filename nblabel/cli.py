"""Command line: ``nblabel bench NAME ...`` runs a benchmark, ``nblabel app NOTEBOOK`` serves a
labeling app with Voila, ``nblabel assist STORE ...`` runs a team's labeling assistant as its
own process (see ``nblabel --help``)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _benchmarks() -> list[str]:
    import nblabel.bench as bench

    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                  if m.name not in ("common",) and not m.name.startswith("_"))


def _exit_on_sigterm() -> None:
    """SIGTERM ends a benchmark as Ctrl-C does: its ``finally`` blocks close sessions and
    assistants, so no worker process is left behind (the default action kills this
    process alone and orphans its pools)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nblabel`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="nblabel", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bench", help="run a benchmark (writes JSON)", add_help=False)
    b.add_argument("name", nargs="?", help=f"one of: {', '.join(_benchmarks())}")
    a = sub.add_parser("app", help="serve a labeling notebook as a Voila app", add_help=False)
    a.add_argument("target", nargs="?")
    sub.add_parser("assist", help="run a team's labeling assistant as its own process",
                   add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        if not args.name or args.name in ("-h", "--help"):
            print(f"usage: nblabel bench NAME [options]\nbenchmarks: {', '.join(_benchmarks())}")
            return 0
        if args.name not in _benchmarks():
            parser.error(f"unknown benchmark {args.name!r}; choose from {_benchmarks()}")
        module = importlib.import_module(f"nblabel.bench.{args.name}")
        _exit_on_sigterm()
        return int(module.main(rest) or 0)
    if args.command == "app":
        module = importlib.import_module("nblabel.app")
        return int(module.main([args.target, *rest] if args.target else rest) or 0)
    if args.command == "assist":
        from nblabel.assist.service import main as assist_main

        return int(assist_main(rest) or 0)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
