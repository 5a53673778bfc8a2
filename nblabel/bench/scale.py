"""``nblabel bench scale``: time and peak memory of the box model's work as the data set grows.

Generated photos (a coloured ellipse, the object, and a small bright disc on a noisy
background; 64-160 px JPEGs, written by a process pool) stand in for a large DataFrame of
image paths. For each size N it measures, each in a fresh process, what a user runs:

- **items**: a :class:`~nblabel.session.BoxSession` over a DataFrame of N paths;
- **predict**: one prediction pass over all N images
  (:meth:`nblabel.models.BoxModel.predict_paths`: background decoding processes, batches,
  optionally through the disk cache);
- **retrain**: one warm-started retrain on all N images and their boxes
  (:meth:`~nblabel.models.BoxModel.fit_paths`, a fixed number of steps).

Peak memory (:class:`PeakRss`): the measuring process's own high-water mark, and the
peak of its resident memory plus its decoding workers' together (sampled). Linux only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import resource
import shutil
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from nblabel.bench.common import write_json
from nblabel.shapes import Box

__all__ = ["generate_images", "main", "run"]

_CHUNK = 1000


def _make_chunk(root: str, start: int, stop: int, seed: int) -> list[tuple[float, ...]]:
    """Write images ``start..stop-1``; return each one's box (x0, y0, x1, y1)."""
    import cv2

    cv2.setNumThreads(1)
    rng = np.random.default_rng([seed, start])
    folder = Path(root) / f"{start // _CHUNK:04d}"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(start, stop):
        w, h = (int(v) for v in rng.integers(64, 161, size=2))
        img = rng.normal(120, 25, (h, w, 3)).clip(0, 255).astype(np.uint8)
        bw, bh = int(rng.integers(w // 5, w // 2)), int(rng.integers(h // 5, h // 2))
        x0, y0 = int(rng.integers(2, w - bw - 2)), int(rng.integers(2, h - bh - 2))
        cv2.ellipse(img, (x0 + bw // 2, y0 + bh // 2), (bw // 2, bh // 2), 0, 0, 360,
                    (40, 60, 230), -1)
        cx, cy = int(rng.integers(4, w - 4)), int(rng.integers(4, h - 4))
        cv2.circle(img, (cx, cy), 3, (240, 240, 240), -1)
        _, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        (folder / f"{i:06d}.jpg").write_bytes(data.tobytes())
        out.append((float(x0), float(y0), float(x0 + 2 * (bw // 2)), float(y0 + 2 * (bh // 2))))
    return out


def generate_images(root: str | os.PathLike, n: int, *, processes: int = 2,
                    seed: int = 0) -> tuple[list[str], list[tuple[Box, ...]]]:
    """Write ``n`` generated JPEGs under ``root`` (1,000 per folder); their paths and boxes.

    Images ``0..k-1`` are the same for any ``n >= k`` (each chunk has its own seed).
    """
    starts = list(range(0, n, _CHUNK))
    # spawn: a forked copy of a process running threads (torch's, a test runner's) can
    # deadlock on a lock held at the fork
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(1, processes), mp_context=ctx) as ex:
        chunks = list(ex.map(_make_chunk, [str(root)] * len(starts), starts,
                             [min(s + _CHUNK, n) for s in starts], [seed] * len(starts)))
    paths = [str(Path(root) / f"{i // _CHUNK:04d}" / f"{i:06d}.jpg") for i in range(n)]
    boxes = [(Box("fruit", *b),) for chunk in chunks for b in chunk]
    return paths, boxes


# ------------------------------------------------------------------ measured phases
def _status_kb(pid: int | str, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children(pid: int) -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                continue
    return out


def _cpu_seconds() -> float:
    """CPU time (user + system) of this process and its waited-for children."""
    me, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                  resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class PeakRss:
    """Peak resident memory of this process (``VmHWM``, exact) and of this process plus
    its child processes together (sampled every ``interval`` seconds). Linux only.

    ``getrusage``'s ``ru_maxrss`` is no use here: a process started by fork + exec
    inherits the high-water mark of its parent at the fork.
    """

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        self.interval = interval
        self.total_kb = 0
        self.workers_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nblabel-bench-rss",
                                        daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            kids = sum(_status_kb(c, "VmRSS:") for c in _children(me))
            self.workers_kb = max(self.workers_kb, kids)
            self.total_kb = max(self.total_kb, _status_kb(me, "VmRSS:") + kids)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def result(self) -> dict[str, float]:
        """``rss_main_mb`` (peak of this process), ``rss_workers_mb`` (peak of the child
        processes together) and ``rss_total_mb`` (peak of all together), in MiB."""
        main = _status_kb("self", "VmHWM:")
        return {"rss_main_mb": round(main / 1024, 1),
                "rss_workers_mb": round(self.workers_kb / 1024, 1),
                "rss_total_mb": round(max(self.total_kb, main) / 1024, 1)}


def _phase(phase: str, n: int, spec: dict[str, Any], out: Any) -> None:
    """Run one phase on the first ``n`` images in this (fresh) process; put the result."""
    import pickle

    import pandas as pd

    from nblabel.session import BoxSession

    paths = spec["paths"][:n]
    row: dict[str, Any] = {"phase": phase, "images": n}
    model = None
    if phase != "items":
        with open(spec["model"], "rb") as f:
            model = pickle.load(f)
    row["rss_before_mb"] = round(_status_kb("self", "VmRSS:") / 1024, 1)
    t0, cpu0 = time.perf_counter(), _cpu_seconds()

    with PeakRss() as peak:
        if model is None:
            df = pd.DataFrame({"path": paths})
            s = BoxSession(df, image="path", classes=["fruit"],
                           store=spec["store"] + f"-{n}.db")
            row["items"] = len(s.items)
            s.close()
        elif phase == "predict":
            cache = f"{spec['cache']}-{n}" if spec["cache"] else None
            found: list[Any] = []
            for batch in model.iter_predict_paths(
                    paths, batch_size=spec["batch"], cache=cache,
                    num_workers=spec["workers"], progress=spec["progress"]):
                if not found:  # start-up: the workers' imports, the first batch decoded
                    row["first_batch_seconds"] = round(time.perf_counter() - t0, 2)
                found.extend(bs for _, bs in batch)
            rest = time.perf_counter() - t0 - row.get("first_batch_seconds", 0.0)
            after = n - min(n, spec["batch"])  # images after the first batch
            row["steady_seconds_per_1000"] = round(rest / after * 1000, 3) if after else None
            row["with_boxes"] = sum(1 for bs in found if bs)
            ious = [bs[0].iou(t[0]) if bs else 0.0 for bs, t in zip(found, spec["boxes"])]
            row["mean_iou"] = round(float(np.mean(ious)), 3)
        else:
            model.max_steps = spec["retrain_steps"]
            model.fit_paths(paths, spec["boxes"][:n], num_workers=spec["workers"])
            row["steps"] = model.n_steps_
    seconds, cpu = time.perf_counter() - t0, _cpu_seconds() - cpu0
    # CPU time (process + decoding workers) is steadier than wall time on a shared machine
    row.update(seconds=round(seconds, 2), seconds_per_1000=round(seconds / n * 1000, 3),
               cpu_seconds=round(cpu, 2), cpu_seconds_per_1000=round(cpu / n * 1000, 3),
               load_average=round(os.getloadavg()[0], 1),
               **peak.result())
    out.put(row)


def _measure(phase: str, n: int, spec: dict[str, Any]) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_phase, args=(phase, n, spec, q), name=f"bench-{phase}-{n}")
    p.start()
    try:
        while True:
            try:
                row = q.get(timeout=1.0)
                break
            except queue.Empty:
                if not p.is_alive():
                    raise RuntimeError(f"the {phase} phase at {n} images failed (exit code "
                                       f"{p.exitcode}); its error is printed above") from None
    finally:
        p.join()
    print(row, flush=True)
    return row


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Generate the images, train once, then measure every phase at every size."""
    import pickle

    from nblabel.models import BoxModel

    sizes = sorted(int(s) for s in str(args.images).split(","))
    work = Path(args.workdir or tempfile.mkdtemp(prefix="nblabel-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"benchmark": "scale", "sizes": sizes, "settings": {
        "workers": args.workers, "batch": args.batch, "input_size": args.input_size,
        "tta": args.tta, "fit_steps": args.fit_steps, "retrain_steps": args.retrain_steps,
        "cache": args.cache, "image_sides": "64-160 px JPEG q90"}}
    try:
        t0 = time.perf_counter()
        paths, boxes = generate_images(work / "images", sizes[-1], processes=args.workers)
        result["generate_seconds"] = round(time.perf_counter() - t0, 1)
        model = BoxModel(input_size=args.input_size, tta=args.tta, max_steps=args.fit_steps,
                         warm_start=True, random_state=args.seed)
        k = min(500, len(paths))
        model.fit_paths(paths[:k], boxes[:k], num_workers=0)
        result["first_fit"] = {"images": k, "steps": model.n_steps_,
                               "seconds": round(model.fit_seconds_, 1), "device": model.device_}
        print(result["first_fit"], flush=True)
        with open(work / "model.pkl", "wb") as f:
            pickle.dump(model, f)
        spec = {"paths": paths, "boxes": boxes, "model": str(work / "model.pkl"),
                "store": str(work / "store"), "batch": args.batch, "workers": args.workers,
                "retrain_steps": args.retrain_steps, "progress": args.progress,
                "cache": str(work / "cache") if args.cache else ""}
        rows = []
        for phase in args.phases.split(","):
            for n in sizes:
                rows.append(_measure(phase, n, spec))
                write_json(args.out, {**result, "rows": rows, "complete": False})
        result["rows"] = rows
        result["complete"] = True
        write_json(args.out, result)
        if args.plot:
            plot(result, args.plot)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


def plot(result: dict[str, Any], path: str | os.PathLike) -> None:
    """Seconds per 1,000 images, seconds per retrain and peak memory against N."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def rows(phase: str) -> list[dict[str, Any]]:
        return [r for r in result.get("rows", []) if r["phase"] == phase]

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(14, 4))
    n = [r["images"] for r in rows("predict")]
    a.plot(n, [r["seconds_per_1000"] for r in rows("predict")], "o-", label="prediction pass")
    a.plot(n, [r["steady_seconds_per_1000"] for r in rows("predict")], "s--",
           label="prediction pass after the first batch")
    if all("cpu_seconds_per_1000" in r for r in rows("predict")):
        a.plot(n, [r["cpu_seconds_per_1000"] for r in rows("predict")], "d:",
               label="prediction pass, CPU seconds (process + workers)")
    items = rows("items")
    a.plot([r["images"] for r in items], [r["seconds_per_1000"] for r in items], "^-",
           label="building items")
    retrain = rows("retrain")
    b.plot([r["images"] for r in retrain], [r["seconds"] for r in retrain], "o-",
           label=f"{result['settings']['retrain_steps']} steps")
    for phase in ("predict", "retrain", "items"):
        c.plot([r["images"] for r in rows(phase)], [r["rss_total_mb"] for r in rows(phase)],
               "o-", label=phase)
    c.axhline(2048, color="grey", ls="--", label="2 GiB")
    a.set(title="time per 1,000 images", ylabel="seconds")
    b.set(title="one retrain (fit_paths)", ylabel="seconds")
    c.set(title="peak RSS, process + decoding workers", ylabel="MiB")
    for ax in (a, b, c):
        ax.set(xscale="log", xlabel="images")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
    fig.suptitle(f"nblabel bench scale ({result.get('machine', {}).get('cpu_usable')} CPU "
                 f"cores, no GPU; {result.get('date', '')})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nblabel bench scale", description=__doc__.split("\n")[0])
    p.add_argument("--images", default="1000,10000,100000", help="sizes N, comma-separated")
    p.add_argument("--out", default="benchmarks/results/scale.json", help="output JSON file")
    p.add_argument("--plot", default="", help="also write this PNG (with --replot JSON: only "
                   "draw the PNG of an earlier run)")
    p.add_argument("--replot", default="", help="JSON of an earlier run to plot")
    p.add_argument("--phases", default="items,predict,retrain")
    p.add_argument("--workers", type=int, default=min(2, len(os.sched_getaffinity(0))),
                   help="decoding processes (and image generation processes)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--input-size", type=int, default=128)
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=True,
                   help="mirror test-time augmentation (the model's default; --no-tta halves "
                   "the prediction cost)")
    p.add_argument("--fit-steps", type=int, default=300, help="steps of the first fit")
    p.add_argument("--retrain-steps", type=int, default=200)
    p.add_argument("--cache", action="store_true", help="predict through the disk cache")
    p.add_argument("--progress", action="store_true", help="tqdm bars on stderr")
    p.add_argument("--workdir", default="", help="where images go (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``nblabel bench scale``."""
    args = _parser().parse_args(argv)
    if args.replot:
        import json

        plot(json.loads(Path(args.replot).read_text()), args.plot or
             Path(args.replot).with_suffix(".png"))
        return 0
    run(args)
    return 0
