"""The tracking half of :class:`~nblabel.assist.boxes.BoxAssistant`.

A label on one image of a group is carried through the group, forward and backward
(``track_ahead`` images each way, never past the next labeled image), by
:func:`track_chain` on an executor: a local process pool by default, or any
:class:`concurrent.futures.Executor` (a ``dask.distributed`` client's ``get_executor()``).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

from nblabel.data.images import LoadedImage, load_image
from nblabel.shapes import Box
from nblabel.suggest.tracker import TrackParams, propagate

__all__ = ["InlineExecutor", "TrackingMixin", "scaled", "track_chain"]

log = logging.getLogger("nblabel")


# ------------------------------------------------------------------ executor-side work
def _frame(frame: Any, max_side: int) -> LoadedImage:
    if isinstance(frame, np.ndarray):
        from nblabel.data.items import _array_image

        return _array_image(frame, 0, max_side)
    return load_image(frame, max_side=max_side)


def track_chain(frames: Sequence[Any], boxes: Sequence[Box], max_side: int,
                params: TrackParams) -> list[tuple[Box, ...]]:
    """Track ``boxes`` (image pixels of ``frames[0]``) through ``frames[1:]``.

    Runs on an executor (a worker process or a dask worker): frames are image paths (or
    arrays), decoded here at ``max_side``. Returns, for each of ``frames[1:]``, the tracked
    boxes in that image's own pixels (``()`` where the tracker lost the object).
    """
    import cv2

    cv2.setNumThreads(1)
    loaded = [_frame(f, max_side) for f in frames]
    work = scaled(boxes, loaded[0].scale)
    found = propagate([im.pixels for im in loaded], {0: work}, params=params)
    return [tuple(scaled(bs, 1.0 / im.scale)) for im, bs in zip(loaded[1:], found[1:])]


def _exit_with_parent() -> None:
    """Initializer of each local worker process: end it when the process that started it
    ends, even by SIGKILL (a killed kernel), instead of leaving it behind."""
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        from multiprocessing.connection import wait

        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="nblabel-parent-watch", daemon=True).start()


def _import_tracker() -> None:
    """Warm-up job of a worker process: import what tracking needs."""
    import cv2  # noqa: F401


def scaled(boxes: Sequence[Box], s: float) -> list[Box]:
    return [b.replace(x0=b.x0 * s, y0=b.y0 * s, x1=b.x1 * s, y1=b.y1 * s) for b in boxes]


#: said once when the local worker processes could not run a tracking job
POOL_BROKEN = (
    "tracking moved into this process: its worker processes stopped ({error}). In a Python "
    "script, put the code that starts the assistant under `if __name__ == \"__main__\":` -- "
    "worker processes start by importing the script again (the spawn start method)"
)


class InlineExecutor(Executor):
    """Runs each submitted call at once, in the caller's thread (the fallback when the
    local process pool cannot run)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:  # handed to the caller through the future
            fut.set_exception(e)
        return fut


class TrackingMixin:
    """Tracking jobs of :class:`~nblabel.assist.boxes.BoxAssistant` (its state: ``session``,
    ``tracker``, ``track_ahead``, ``work_side``, ``executor``, ``processes``, ``_groups``,
    ``_group_of``, ``_labeled``, ``_tracked``, ``_track_lane``, ``_lock``)."""

    _owned_executor: Executor | None

    def _request_tracking(self, pos: int) -> None:
        if self.tracker is None or self._closed:
            return
        g = int(self._group_of[pos])
        if len(self._groups[g]) < 2:
            return
        # one queued job per group: a newer label of the group supersedes a queued older one
        # (whose images the annotator has passed meanwhile)
        self._track_lane.submit(self._track_job, pos, key=("track", g),
                                label=f"tracking group {self._group_names[g]}")
        self._emit("status")

    def _executor(self) -> Executor:
        if self.executor is not None:
            return self.executor
        if self._owned_executor is None:
            n = self.processes or min(2, len(os.sched_getaffinity(0)))
            # spawn: forking a process that runs threads can deadlock the child
            self._owned_executor = ProcessPoolExecutor(
                n, mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent)
        return self._owned_executor

    def _submit(self, fn: Any, *args: Any) -> Future:
        try:
            return self._executor().submit(fn, *args)
        except BrokenProcessPool as e:  # broke before this job (e.g. while warming up)
            if self.executor is not None:
                raise
            self._pool_broken(e)
            return self._executor().submit(fn, *args)

    def _warm_up_tracking(self) -> None:
        """Start the local worker processes now (they import OpenCV), so the first box
        drawn is carried to the next photo in about 0.1 s rather than 2 s."""
        if (self.tracker is None or self.executor is not None
                or not any(len(g) > 1 for g in self._groups)):
            return
        n = self.processes or min(2, len(os.sched_getaffinity(0)))
        for _ in range(n):
            self._submit(_import_tracker)

    def _pool_broken(self, error: BaseException) -> None:
        """Replace a local process pool that broke (its workers died, or could not start)
        by tracking in this process, and say so once."""
        pool, self._owned_executor = self._owned_executor, InlineExecutor()
        if pool is not None and not isinstance(pool, InlineExecutor):
            pool.shutdown(wait=False, cancel_futures=True)
            msg = "assistant: " + POOL_BROKEN.format(error=f"{type(error).__name__}: {error}")
            log.warning(msg)
            self.errors.append(msg)
            self._emit("error", error=msg)

    def _segment(self, pos: int, step: int) -> list[int]:
        members = self._groups[int(self._group_of[pos])]
        j = members.index(pos) + step
        out: list[int] = []
        while 0 <= j < len(members) and members[j] not in self._labeled:
            out.append(members[j])
            if self.track_ahead is not None and len(out) >= self.track_ahead:
                break
            j += step
        return out

    def _track_job(self, generation: int, pos: int) -> None:
        s = self.session
        key = str(s.items.keys[pos])
        if pos not in self._labeled:
            return
        boxes = tuple(s.value(key))
        if not boxes:
            return
        params = TrackParams(tracker=self.tracker or "csrt", max_side=None)
        runs = []
        for step in (1, -1):
            targets = self._segment(pos, step)
            if targets:
                frames = [self._frame_ref(p) for p in (pos, *targets)]
                runs.append((targets, frames, self._submit(track_chain, frames, boxes,
                                                           self.work_side, params)))
        for targets, frames, fut in runs:
            try:
                found = fut.result()
            except BrokenProcessPool as e:
                if self.executor is not None:
                    raise  # the user's executor: theirs to mend
                self._pool_broken(e)
                found = track_chain(frames, boxes, self.work_side, params)
            if not self._track_lane.current(generation):
                return
            for p, bs in zip(targets, found):
                if bs and p not in self._labeled:
                    with self._lock:
                        self._tracked[p] = bs
                    self._post(p)
        self._request_tracked_refinement()

    def _frame_ref(self, pos: int) -> Any:
        items = self.session.items
        path = items.path(pos)
        return str(path) if path is not None else items.frame.iat[
            pos, items.frame.columns.get_loc(items.image_column)]

