"""Tracker propagation: carry keyframe boxes across an image group or video frames.

From each keyframe box an OpenCV tracker runs forward to the next keyframe and backward to
the previous one; where the forward and backward runs both reach a frame they are merged
(averaged when they agree, the more confident one otherwise, and the confidence falls when
they disagree). The confidence of a tracked box combines the tracker's own response (where
OpenCV exposes one) with penalties for sudden size and position jumps; a run stops, leaving
frames without a box, when the tracker reports a loss or its confidence falls below
``min_score``.

Frames may have different sizes: each run resizes all its frames to the working size of its
keyframe (at most ``max_side`` pixels) and maps boxes back per frame.

Groups are independent, so :func:`propagate_groups` runs them on a process pool (all cores
by default) with a tqdm bar, and :func:`start_propagation` does that in a background thread
with a job object that can be cancelled.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from nblabel.errors import ImageError, InputError, InvalidBoxError
from nblabel.shapes import Box

__all__ = [
    "TRACKERS",
    "PropagationJob",
    "TrackParams",
    "make_tracker",
    "propagate",
    "propagate_groups",
    "read_video",
    "start_propagation",
    "track_step",
]

Frame = np.ndarray | str | os.PathLike


def _factories() -> dict[str, Callable[[], Any]]:
    leg = getattr(cv2, "legacy", None)
    f: dict[str, Callable[[], Any]] = {
        "csrt": cv2.TrackerCSRT.create,
        "kcf": cv2.TrackerKCF.create,
        "mil": cv2.TrackerMIL.create,
    }
    if leg is not None:
        for name in ("CSRT", "KCF", "MIL", "MOSSE", "MedianFlow", "Boosting", "TLD"):
            ctor = getattr(leg, f"Tracker{name}_create", None) or getattr(
                getattr(leg, f"Tracker{name}", None), "create", None)
            if ctor is not None:
                f[f"legacy-{name.lower()}"] = ctor
    return f


#: Names accepted by ``tracker=``: ``csrt`` (default), ``kcf``, ``mil`` and the
#: ``legacy-*`` trackers of opencv-contrib (``legacy-mosse``, ``legacy-medianflow``, ...).
TRACKERS: tuple[str, ...] = tuple(_factories())


def make_tracker(name: str = "csrt") -> Any:
    """A fresh OpenCV tracker by name (see :data:`TRACKERS`)."""
    f = _factories()
    if name not in f:
        raise InputError(f"unknown tracker {name!r}; use one of {', '.join(f)}")
    return f[name]()


@dataclass(frozen=True)
class TrackParams:
    """How propagation runs and scores its boxes.

    Parameters
    ----------
    tracker : str
        Tracker name (:data:`TRACKERS`).
    max_side : int or None
        Frames are tracked at most this many pixels on their longer side (speed).
    min_score : float
        A run stops when a box's confidence falls below this.
    size_scale, shift_scale : float
        Confidence penalty scales: ``exp(-|log area ratio| / size_scale)`` and
        ``exp(-centre shift in box diagonals / shift_scale)`` per step.
    decay : float
        Confidence multiplier per frame away from the keyframe.
    """

    tracker: str = "csrt"
    max_side: int | None = 480
    min_score: float = 0.2
    size_scale: float = 0.7
    shift_scale: float = 0.8
    decay: float = 0.98


def read_video(path: str | os.PathLike, *, step: int = 1, max_frames: int | None = None
               ) -> list[np.ndarray]:
    """Decode a video file into RGB frames with ``cv2.VideoCapture`` (every ``step``-th)."""
    p = Path(path)
    if not p.exists():
        raise ImageError(f"video file not found: {p}")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise ImageError(f"OpenCV cannot open video {p} (unsupported codec or not a video)")
    frames: list[np.ndarray] = []
    i = 0
    try:
        while max_frames is None or len(frames) < max_frames:
            ok, bgr = cap.read()
            if not ok:
                break
            if i % step == 0:
                frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            i += 1
    finally:
        cap.release()
    if not frames:
        raise ImageError(f"video {p} has no readable frames")
    return frames


def _load(frame: Frame) -> np.ndarray:
    if isinstance(frame, np.ndarray):
        if frame.ndim == 2:
            return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        return frame[..., :3]
    try:
        from nblabel.data.images import load_image
    except ImportError:  # pragma: no cover - images.py is part of the package
        bgr = cv2.imread(str(frame))
        if bgr is None:
            raise ImageError(f"cannot read image {frame}") from None
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return load_image(frame).pixels


def _response(tr: Any) -> float | None:
    """The tracker's own score in [0, 1], or ``None`` where OpenCV reports none (-1)."""
    get = getattr(tr, "getTrackingScore", None)
    if get is None:
        return None
    try:
        r = float(get())
    except cv2.error:
        return None
    if not math.isfinite(r) or r < 0:
        return None
    return min(1.0, r)


_PATCH = 24


def _patch(img: np.ndarray, r: tuple[float, float, float, float]) -> np.ndarray | None:
    """Zero-mean, unit-norm grey patch of rect ``(x, y, w, h)``, the appearance template."""
    x, y, w, h = (round(v) for v in r)
    H, W = img.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    g = cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    v = cv2.resize(g, (_PATCH, _PATCH), interpolation=cv2.INTER_AREA).astype(np.float32)
    v -= v.mean()
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-6 else None


def _similarity(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Normalised cross-correlation of two templates mapped to [0, 1]."""
    if a is None or b is None:
        return 0.5
    return float(np.clip((1.0 + float((a * b).sum())) / 2.0, 0.0, 1.0))


class _Canvas:
    """Frames resized to one working size; maps boxes between frame and canvas pixels."""

    def __init__(self, frames: Sequence[Frame], ref: int, max_side: int | None) -> None:
        self.frames = frames
        self._cache: dict[int, tuple[np.ndarray, float, float, int, int]] = {}
        h, w = _load(frames[ref]).shape[:2]
        s = 1.0 if max_side is None else min(1.0, max_side / max(h, w))
        self.size = (max(8, round(w * s)), max(8, round(h * s)))

    def get(self, i: int) -> tuple[np.ndarray, float, float, int, int]:
        if i not in self._cache:
            img = _load(self.frames[i])
            h, w = img.shape[:2]
            cw, ch = self.size
            interp = cv2.INTER_AREA if cw < w else cv2.INTER_LINEAR
            small = cv2.resize(img, (cw, ch), interpolation=interp)
            self._cache[i] = (cv2.cvtColor(small, cv2.COLOR_RGB2BGR), cw / w, ch / h, w, h)
        return self._cache[i]


def _rect(b: Box, sx: float, sy: float) -> tuple[int, int, int, int]:
    x, y = round(b.x0 * sx), round(b.y0 * sy)
    return (x, y, max(2, round(b.x1 * sx) - x), max(2, round(b.y1 * sy) - y))


def _run(canvas: _Canvas, key: int, box: Box, order: Sequence[int], p: TrackParams
         ) -> dict[int, Box]:
    """Track ``box`` from frame ``key`` through ``order``; stop when lost."""
    if not order:  # nothing to reach: skip the tracker's (costly) init
        return {}
    img, sx, sy, _, _ = canvas.get(key)
    tr = make_tracker(p.tracker)
    r0 = _rect(box, sx, sy)
    tr.init(img, r0)
    template = _patch(img, r0)
    out: dict[int, Box] = {}
    prev = tuple(float(v) for v in r0)  # jumps are measured in canvas pixels
    conf = 1.0
    for i in order:
        img, sx, sy, w, h = canvas.get(i)
        ok, r = tr.update(img)
        if not ok or r[2] <= 0 or r[3] <= 0:
            break
        x, y, rw, rh = (float(v) for v in r)
        try:
            b = Box(box.label, x / sx, y / sy, (x + rw) / sx, (y + rh) / sy).clip(w, h)
        except InvalidBoxError:
            break
        size = abs(math.log(max(rw * rh, 1e-6) / max(prev[2] * prev[3], 1e-6)))
        diag = math.hypot(prev[2], prev[3]) or 1.0
        shift = math.hypot(x + rw / 2 - prev[0] - prev[2] / 2,
                           y + rh / 2 - prev[1] - prev[3] / 2) / diag
        resp = _response(tr)
        if resp is None:  # OpenCV gives no score: appearance similarity to the keyframe
            resp = _similarity(template, _patch(img, (x, y, rw, rh)))
        step = resp * math.exp(-size / p.size_scale) * math.exp(-shift / p.shift_scale)
        conf = min(conf * p.decay, conf * (0.5 + 0.5 * step), step)
        if conf < p.min_score:
            break
        out[i] = b.replace(score=round(conf, 4), source="tracker")
        prev = (x, y, rw, rh)
    return out


def _merge(a: Box | None, b: Box | None) -> Box | None:
    if a is None or b is None:
        return a or b
    sa, sb = a.score or 0.0, b.score or 0.0
    agree = a.iou(b)
    if agree >= 0.5:
        wa = sa / (sa + sb) if sa + sb > 0 else 0.5
        c = [wa * u + (1 - wa) * v for u, v in zip(a.xyxy, b.xyxy)]
        score = agree * (1.0 - (1.0 - sa) * (1.0 - sb))
        return Box(a.label, *c, score=round(score, 4), source="tracker")
    best = a if sa >= sb else b
    return best.replace(score=round(max(sa, sb) * agree, 4))


def propagate(
    frames: Sequence[Frame],
    keyframes: Mapping[int, Box | Sequence[Box]],
    *,
    params: TrackParams | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[tuple[Box, ...]]:
    """Propagate keyframe boxes over the frames of one group.

    Parameters
    ----------
    frames : sequence
        RGB arrays or image paths, in the group's order (sizes may differ).
    keyframes : mapping
        ``frame index -> box`` (or boxes) given by a human; each box is tracked on its own.
    params : TrackParams, optional
        Tracker name, working size and confidence settings.
    should_stop : callable, optional
        Polled before each tracker run; returning ``True`` cancels.

    Returns
    -------
    list of tuple of Box
        For each frame: the keyframe boxes themselves on keyframes, tracked boxes
        (``source="tracker"``, ``score`` = confidence) elsewhere, ``()`` where every run
        was lost.
    """
    p = params or TrackParams()
    n = len(frames)
    keys = {int(k): (v,) if isinstance(v, Box) else tuple(v) for k, v in keyframes.items()}
    bad = [k for k in keys if not 0 <= k < n]
    if bad:
        raise InputError(f"keyframe indices {bad} outside 0..{n - 1}")
    result: list[list[Box]] = [[] for _ in range(n)]
    if not keys:
        return [() for _ in range(n)]
    for k, bs in keys.items():
        result[k] = list(bs)
    labels = sorted({b.label for bs in keys.values() for b in bs})
    kf = sorted(keys)
    for label in labels:
        fwd: dict[int, Box] = {}
        bwd: dict[int, Box] = {}
        for j, k in enumerate(kf):
            for box in (b for b in keys[k] if b.label == label):
                canvas = _Canvas(frames, k, p.max_side)
                nxt = kf[j + 1] if j + 1 < len(kf) else n
                prv = kf[j - 1] if j > 0 else -1
                for target, order in ((fwd, range(k + 1, nxt)), (bwd, range(k - 1, prv, -1))):
                    if should_stop is not None and should_stop():
                        raise _Cancelled
                    for i, b in _run(canvas, k, box, order, p).items():
                        target[i] = _merge(target.get(i), b) if i in target else b
        for i in range(n):
            if i in keys:
                continue
            m = _merge(fwd.get(i), bwd.get(i))
            if m is not None:
                result[i].append(m)
    return [tuple(r) for r in result]


def track_step(src: Frame, box: Box, dst: Frame, *, params: TrackParams | None = None
               ) -> Box | None:
    """Track one box from frame ``src`` to frame ``dst`` (``None`` when lost)."""
    out = propagate([src, dst], {0: box}, params=params)[1]
    return out[0] if out else None


class _Cancelled(Exception):
    pass


def _group_task(args: tuple[Hashable, Sequence[Frame], Mapping[int, Any], TrackParams]
                ) -> tuple[Hashable, list[tuple[Box, ...]]]:
    key, frames, keyframes, params = args
    cv2.setNumThreads(1)
    return key, propagate(frames, keyframes, params=params)


def propagate_groups(
    groups: Mapping[Hashable, tuple[Sequence[Frame], Mapping[int, Box | Sequence[Box]]]],
    *,
    params: TrackParams | None = None,
    processes: int | None = None,
    progress: bool = True,
    should_stop: Callable[[], bool] | None = None,
    on_result: Callable[[Hashable, list[tuple[Box, ...]]], None] | None = None,
) -> dict[Hashable, list[tuple[Box, ...]]]:
    """Propagate many groups, in parallel across groups.

    Parameters
    ----------
    groups : mapping
        ``group key -> (frames, keyframes)`` as for :func:`propagate`. Pass frames as paths
        when possible: they are cheaper to send to worker processes than arrays.
    processes : int, optional
        Worker processes (default: all usable cores); ``1`` runs in this process.
    progress : bool
        Show a tqdm bar (groups done).
    should_stop : callable, optional
        Polled between groups; when it returns ``True`` queued groups are dropped and the
        groups finished so far are returned.
    on_result : callable, optional
        Called with ``(key, boxes)`` as each group finishes (e.g. to refresh suggestions).
    """
    from tqdm.auto import tqdm

    p = params or TrackParams()
    n_proc = processes or len(os.sched_getaffinity(0))
    todo = [(k, fr, kf, p) for k, (fr, kf) in groups.items() if kf]
    out: dict[Hashable, list[tuple[Box, ...]]] = {}
    bar = tqdm(total=len(todo), desc="tracking", unit="group", disable=not progress)
    try:
        if n_proc <= 1 or len(todo) <= 1:
            for job in todo:
                if should_stop is not None and should_stop():
                    break
                try:
                    key, res = job[0], propagate(job[1], job[2], params=p,
                                                 should_stop=should_stop)
                except _Cancelled:
                    break
                out[key] = res
                if on_result:
                    on_result(key, res)
                bar.update()
            return out
        # "spawn": forking a process that runs threads (tqdm's monitor, OpenCV/torch pools,
        # a kernel's own) can deadlock the children on a lock held at fork time
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(n_proc, mp_context=ctx) as pool:
            pending: set[Future] = set()
            it = iter(todo)
            for job in it:  # keep the pool fed, a few groups ahead
                pending.add(pool.submit(_group_task, job))
                if len(pending) >= 2 * n_proc:
                    break
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for fut in done:
                    key, res = fut.result()
                    out[key] = res
                    if on_result:
                        on_result(key, res)
                    bar.update()
                if should_stop is not None and should_stop():
                    for fut in pending:
                        fut.cancel()
                    wait(pending)
                    for fut in pending:
                        if not fut.cancelled() and fut.exception() is None:
                            key, res = fut.result()
                            out[key] = res
                    break
                for job in it:
                    pending.add(pool.submit(_group_task, job))
                    if len(pending) >= 2 * n_proc:
                        break
        return out
    finally:
        bar.close()


@dataclass
class PropagationJob:
    """A propagation running in a background thread; see :func:`start_propagation`."""

    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    results: dict[Hashable, list[tuple[Box, ...]]] = field(default_factory=dict)
    error: BaseException | None = None
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def cancel(self) -> None:
        """Ask the job to stop; groups already finished stay in :attr:`results`."""
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def done(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def result(self, timeout: float | None = None) -> dict[Hashable, list[tuple[Box, ...]]]:
        """Wait for the job; re-raise its error, if any."""
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"propagation still running after {timeout} s")
        if self.error is not None:
            raise self.error
        return self.results


def start_propagation(
    groups: Mapping[Hashable, tuple[Sequence[Frame], Mapping[int, Box | Sequence[Box]]]],
    *,
    params: TrackParams | None = None,
    processes: int | None = None,
    progress: bool = True,
    on_result: Callable[[Hashable, list[tuple[Box, ...]]], None] | None = None,
) -> PropagationJob:
    """Run :func:`propagate_groups` in a background thread; returns at once.

    ``job.cancel()`` stops it between groups; ``job.results`` fills as groups finish
    (``on_result`` is called for each, from the background thread); ``job.result()`` waits.
    """
    job = PropagationJob()

    def run() -> None:
        try:
            propagate_groups(groups, params=params, processes=processes, progress=progress,
                             should_stop=job._stop.is_set, on_result=_collect)
        except BaseException as e:  # surfaced by job.result(), never swallowed
            job.error = e
        finally:
            job.finished = time.perf_counter()

    def _collect(key: Hashable, res: list[tuple[Box, ...]]) -> None:
        job.results[key] = res
        if on_result is not None:
            on_result(key, res)

    job._thread = threading.Thread(target=run, name="nblabel-propagation", daemon=True)
    job._thread.start()
    return job
