"""One background-worker shape for everything the assistants do off the kernel's main thread.

A :class:`Lane` is one worker thread with a clear lifecycle:

- ``submit(fn, *args, key=...)`` queues a job and returns a
  :class:`concurrent.futures.Future` of its result; a queued (not yet running) job with the
  same ``key`` is replaced by the newer one, which takes over its future (the newest request
  wins, e.g. "refit on the labels as they are now");
- every job gets the lane's *generation* at submit time; :meth:`Lane.cancel` bumps the
  generation, drops queued jobs and makes :meth:`Lane.current` false for the running one,
  which checks it between steps and stops early;
- a failing job is recorded (``status = "failed"``, ``error``, a row in ``history``), logged
  and passed to ``on_error``: never swallowed; the lane goes on with the next job;
- :meth:`Lane.wait` blocks until nothing is queued or running (scripts, tests, benchmarks);
- :meth:`Lane.close` cancels and joins the thread: nothing is left running.

Nothing here imports widget libraries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Job", "Lane"]

log = logging.getLogger("nblabel")


@dataclass
class Job:
    """A queued unit of work of a :class:`Lane`."""

    key: Hashable
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    generation: int
    label: str = ""
    future: Future = field(default_factory=Future)
    submitted: float = field(default_factory=time.perf_counter)


def _callback(fn: Callable[..., None] | None, *args: Any) -> None:
    """Call a user callback; its failure is logged, never raised into the worker."""
    if fn is None:
        return
    try:
        fn(*args)
    except Exception:
        log.exception("nblabel callback %r failed", fn)


class Lane:
    """A single background worker thread with newest-wins queueing and cancellation.

    Parameters
    ----------
    name : str
        Thread name suffix and the name shown in status lines.
    on_error : callable, optional
        ``on_error(job_label, exc)``, called from the worker thread after a job failed.
    on_done : callable, optional
        ``on_done(job_label, result)``, called after a job succeeded.
    on_finish : callable, optional
        ``on_finish()``, called after every job (the lane is then idle or runs the next).
    keep_history : int
        Rows of :attr:`history` kept (oldest dropped).
    """

    def __init__(
        self,
        name: str,
        *,
        on_error: Callable[[str, BaseException], None] | None = None,
        on_done: Callable[[str, Any], None] | None = None,
        on_finish: Callable[[], None] | None = None,
        keep_history: int = 1000,
    ) -> None:
        self.name = name
        self.on_error = on_error
        self.on_done = on_done
        self.on_finish = on_finish
        self.keep_history = keep_history
        self.status = "idle"  # idle | running | failed | closed
        self.error: BaseException | None = None
        self.history: list[dict[str, Any]] = []
        self.running_label = ""
        self._queue: OrderedDict[Hashable, Job] = OrderedDict()
        self._cond = threading.Condition()
        self._generation = 0
        self._running: Job | None = None
        self._closed = False
        self._thread: threading.Thread | None = None
        self._seq = 0

    # -- submitting ------------------------------------------------------------------------
    def submit(
        self, fn: Callable[..., Any], *args: Any, key: Hashable | None = None, label: str = ""
    ) -> Future:
        """Queue ``fn(generation, *args)``; a queued job with the same ``key`` is replaced
        by this one (its future now waits for this job). ``key=None`` never replaces
        anything. Returns a future of the result (the job's exception, if it fails; ``None``
        if the lane was cancelled before it ran)."""
        with self._cond:
            if self._closed:
                raise RuntimeError(f"the {self.name} lane is closed")
            if key is None:
                self._seq += 1
                key = ("_unique", self._seq)
            old = self._queue.pop(key, None)
            job = Job(key, fn, args, self._generation, label or self.name)
            if old is not None:
                job.future = old.future
            self._queue[key] = job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name=f"nblabel-{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify_all()
            return job.future

    def pending(self, key: Hashable) -> bool:
        """A job with this key is queued or running."""
        with self._cond:
            return key in self._queue or (self._running is not None
                                          and self._running.key == key)

    # -- state -----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Something is queued or running."""
        with self._cond:
            return bool(self._queue) or self._running is not None

    @property
    def generation(self) -> int:
        return self._generation

    def current(self, generation: int) -> bool:
        """``False`` once the lane was cancelled or closed after a job with ``generation``
        was submitted: long jobs poll it and stop early."""
        return generation == self._generation and not self._closed

    def cancel(self) -> None:
        """Drop queued jobs and tell the running one to stop (its result is discarded)."""
        with self._cond:
            self._generation += 1
            dropped = list(self._queue.values())
            self._queue.clear()
            self._cond.notify_all()
        for job in dropped:
            job.future.set_result(None)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or running; ``True`` when idle, ``False`` on
        timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._running is not None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def close(self, timeout: float | None = 30.0) -> None:
        """Cancel, stop the thread and wait for it (a running job is asked to stop)."""
        with self._cond:
            self._generation += 1
            dropped = list(self._queue.values())
            self._queue.clear()
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        for job in dropped:
            job.future.set_result(None)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        self.status = "closed"

    @property
    def alive(self) -> bool:
        """The worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    # -- the worker thread -----------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                _, job = self._queue.popitem(last=False)
                self._running = job
                self.running_label = job.label
                self.status = "running"
            t0 = time.perf_counter()
            row: dict[str, Any] = {"job": job.label, "queued_seconds": round(t0 - job.submitted, 3)}
            try:
                result = job.fn(job.generation, *job.args)
            except Exception as e:  # recorded, logged, reported: never swallowed
                row.update(ok=False, error=f"{type(e).__name__}: {e}")
                self.error = e
                log.error("nblabel background %s failed (%s)", job.label, self.name, exc_info=e)
                _callback(self.on_error, job.label, e)
                self._finish(row, t0, failed=True)
                job.future.set_exception(e)
                continue
            row["ok"] = True
            if self.current(job.generation):
                _callback(self.on_done, job.label, result)
            self._finish(row, t0, failed=False)
            job.future.set_result(result)

    def _finish(self, row: dict[str, Any], t0: float, *, failed: bool) -> None:
        row["seconds"] = round(time.perf_counter() - t0, 3)
        with self._cond:
            self.history.append(row)
            del self.history[: -self.keep_history]
            self._running = None
            self.running_label = ""
            if failed:
                self.status = "failed"
            elif self.status != "closed":
                self.status = "idle"
            self._cond.notify_all()
        _callback(self.on_finish)

    def __repr__(self) -> str:
        return f"Lane({self.name!r}, status={self.status}, queued={len(self._queue)})"
