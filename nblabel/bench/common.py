"""Small helpers shared by the benchmarks: machine info, date, git commit, JSON output."""

from __future__ import annotations

import datetime as _dt
import inspect
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["git_commit", "machine_info", "utc_now", "write_json"]


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def defaults_of(cls: type) -> dict[str, Any]:
    """Keyword defaults of ``cls(...)``: a benchmark's options default to the product's own."""
    return {
        name: p.default
        for name, p in inspect.signature(cls).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def machine_info() -> dict[str, Any]:
    """Platform, CPU counts (total and usable by this process) and library versions.

    Torch and OpenCV versions are read from package metadata, so nothing heavy is imported.
    """
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    cv = None
    for dist in ("opencv-contrib-python-headless", "opencv-contrib-python",
                 "opencv-python-headless", "opencv-python"):
        cv = cv or _version(dist)
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable,
        "python": sys.version.split()[0],
        "numpy": _version("numpy"),
        "torch": _version("torch"),
        "opencv": cv,
    }


def utc_now() -> str:
    """Current UTC time, ISO 8601 with a ``Z``."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_commit(cwd: str | os.PathLike | None = None) -> str | None:
    """``git rev-parse HEAD`` of the repository holding this file (``None`` outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd or Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=10, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def write_json(path: str | os.PathLike, data: dict[str, Any]) -> Path:
    """Write ``data`` plus ``machine``/``date``/``git_commit`` (unless present) as JSON."""
    full = {"date": utc_now(), "git_commit": git_commit(), "machine": machine_info(), **data}
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(full, indent=2, sort_keys=False, default=str) + "\n")
    return p
