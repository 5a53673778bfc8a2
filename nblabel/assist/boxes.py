"""``BoxAssistant``: the live loop of a box session -- track, train, predict, fuse, reorder.

Attached to a :class:`~nblabel.session.BoxSession`, the assistant listens to every label
(drawn by a person or accepted from a suggestion) and, in the background:

1. **tracks** the new boxes ahead of the annotator through the item's image group,
   forward and backward (``track_ahead`` images each way, 2 by default, never past the next
   labeled image): the next image is ready before the annotator gets there, farther ones
   get theirs as labeling approaches them. Tracking runs on an executor (a local process
   pool by default; any :class:`concurrent.futures.Executor`, e.g. a ``dask.distributed``
   client's ``get_executor()``);
2. **retrains** the box model as the labels grow (first at ``first_fit`` labels, then each
   time they grow ``retrain_growth`` times; warm start), then **predicts** every unlabeled
   image;
3. **fuses** the tracker and model boxes of an image into one suggestion
   (:func:`nblabel.suggest.fusion.fuse_boxes`), learning from the annotator's decisions
   which source to trust when they disagree, applies the rules, and posts it (source
   ``tracker`` or ``model``) with a *calibrated* score: the share of such suggestions the
   annotator accepted (:class:`~nblabel.suggest.calibration.AcceptanceCalibrator`; the raw
   score until a source has 20 decisions, which :meth:`BoxAssistant.note` says);
4. **refines** every suggested box before it is shown: each edge snaps to the strongest
   image boundary within 10% of the box's size (:func:`nblabel.suggest.snap.snap_box`, on
   the work-size image; ``refine=False`` turns it off);
5. **reorders** the queue: the group being labeled first, then the least certain groups,
   with an exploration share; inside a group the keyframe first
   (:mod:`nblabel.assist.ordering`).

Labeling never waits for it. Errors are recorded (:attr:`BoxAssistant.errors`), logged and
sent to the listeners (the widget shows them); a failing model does not stop the tracker.
:meth:`BoxAssistant.close` stops every thread and process it started.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import multiprocessing
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

import numpy as np

from nblabel.assist._worker import Lane
from nblabel.assist.ordering import group_order, priorities, spread_order
from nblabel.errors import InputError
from nblabel.images import LoadedImage, load_image
from nblabel.shapes import Box
from nblabel.suggest.calibration import AcceptanceCalibrator
from nblabel.suggest.fusion import Trust, align_classes, fuse_boxes
from nblabel.suggest.rules import DEFAULT_RULES, ItemInfo, Rule, apply_rules
from nblabel.suggest.tracker import TRACKERS, TrackParams, propagate

__all__ = ["BoxAssistant", "track_chain"]

log = logging.getLogger("nblabel")
Listener = Callable[[str, dict[str, Any]], None]


# ------------------------------------------------------------------ executor-side work
def _frame(frame: Any, max_side: int) -> LoadedImage:
    if isinstance(frame, np.ndarray):
        from nblabel.items import _array_image

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
    work = _scaled(boxes, loaded[0].scale)
    found = propagate([im.pixels for im in loaded], {0: work}, params=params)
    return [tuple(_scaled(bs, 1.0 / im.scale)) for im, bs in zip(loaded[1:], found[1:])]


def _scaled(boxes: Sequence[Box], s: float) -> list[Box]:
    return [b.replace(x0=b.x0 * s, y0=b.y0 * s, x1=b.x1 * s, y1=b.y1 * s) for b in boxes]


# --------------------------------------------------------------------------- assistant
class BoxAssistant:
    """Tracker propagation, background retraining and queue order for a box session.

    Parameters
    ----------
    model : estimator, "default" or None
        A box model (``fit(images, boxes)``, ``predict(images)``; see
        :mod:`nblabel.suggest.model`). ``"default"``: :class:`nblabel.models.BoxModel`
        when torch is installed (else no model). ``None``: tracker only.
    tracker : str or None
        OpenCV tracker name (:data:`nblabel.suggest.tracker.TRACKERS`); ``None``: model only.
    rules : sequence of callables
        Applied to every fused suggestion (:mod:`nblabel.suggest.rules`).
    explore : float
        Share of groups served at random instead of least certain first.
    random_state : int
        Seed of exploration and of the default model.
    item_class : str, optional
        Column of image-level classes (e.g. photos already sorted into food types): every
        suggestion of a row gets that row's class, one box per image.
    first_fit : int
        Labels before the first model fit.
    retrain_growth, retrain_min_new : float, int
        Refit when the labels reach ``max(growth x, +min_new)`` those of the last fit.
    max_fit_labels : int
        No refit once a model was trained on this many labels.
    fit_steps, retrain_steps : int
        Training steps of the first and later fits (the default model only).
    work_side : int
        Images are tracked and modelled at most this many pixels on their longer side.
    track_ahead : int or None
        Track at most this many images each way from a new label (``None``: up to the next
        labeled image, the rest of the group; costs one tracker step per image per label).
    executor : concurrent.futures.Executor, optional
        Where tracking runs (default: a local process pool, started on first use and shut
        down by :meth:`close`). A ``dask.distributed`` client's ``get_executor()`` works.
    processes : int, optional
        Size of the default process pool (default: 2, or 1 on a one-core machine).
    reorder : bool
        Reorder the session's queue (by group, least certain first).
    refine : bool
        Snap the edges of every suggested box to the nearest strong boundary before it is
        shown (``refine_band``: how far, as a share of the box's size).
    cache_images : int
        Decoded work-size images kept in memory for training and prediction.
    """

    def __init__(
        self,
        model: Any = "default",
        *,
        tracker: str | None = "csrt",
        rules: Sequence[Rule] = DEFAULT_RULES,
        explore: float = 0.2,
        random_state: int = 0,
        item_class: str | None = None,
        first_fit: int = 40,
        retrain_growth: float = 1.5,
        retrain_min_new: int = 60,
        max_fit_labels: int = 1000,
        fit_steps: int = 2000,
        retrain_steps: int = 2000,
        work_side: int = 320,
        track_ahead: int | None = 2,
        executor: Executor | None = None,
        processes: int | None = None,
        reorder: bool = True,
        refine: bool = True,
        refine_band: float = 0.1,
        cache_images: int = 4096,
    ) -> None:
        self.model = model
        self.tracker = tracker
        self.rules = rules
        self.explore = explore
        self.random_state = random_state
        self.item_class = item_class
        self.first_fit = first_fit
        self.retrain_growth = retrain_growth
        self.retrain_min_new = retrain_min_new
        self.max_fit_labels = max_fit_labels
        self.fit_steps = fit_steps
        self.retrain_steps = retrain_steps
        self.work_side = work_side
        self.track_ahead = track_ahead
        self.executor = executor
        self.processes = processes
        self.reorder = reorder
        self.refine = refine
        self.refine_band = refine_band
        self.cache_images = cache_images
        self.session: Any = None
        self._listeners: list[Listener] = []

    # ------------------------------------------------------------------ binding
    def attach(self, session: Any) -> BoxAssistant:
        """Follow ``session`` (a :class:`~nblabel.session.BoxSession`): from now on its
        labels are tracked, learned from and its queue reordered. Returns ``self``."""
        if self.session is not None:
            raise RuntimeError("this BoxAssistant is already attached; make a new one")
        if not hasattr(session, "classes") or session.items.image_column is None:
            raise InputError("BoxAssistant needs a BoxSession of images")
        if self.tracker is not None and self.tracker not in TRACKERS:
            raise InputError(f"unknown tracker {self.tracker!r}; use one of {TRACKERS}")
        if not 0.0 <= self.explore <= 1.0:
            raise InputError(f"explore must be in [0, 1], got {self.explore}")
        self.session = session
        self.model_ = self._make_model()
        self.model_version = 0  # labels the current model was trained on (0: none)
        self.fits: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.trust = Trust()
        self.calibrator = AcceptanceCalibrator()
        self.refine_ms: list[float] = []  # time to refine each posted suggestion
        self._shown: dict[int, tuple[str, float]] = {}  # position -> (source, raw score)
        self._lock = threading.RLock()
        self._tracked: dict[int, tuple[Box, ...]] = {}
        self._predicted: dict[int, tuple[Box, ...]] = {}
        self._posted: dict[int, tuple[Box, ...]] = {}
        self._scores: dict[int, float] = {}
        self._cache: OrderedDict[int, LoadedImage] = OrderedDict()
        self._owned_executor: Executor | None = None
        self._reorders = 0
        self._closed = False
        self._model_note = ""
        self._groups, self._group_of, self._group_names = self._make_groups(session)
        self._classes_of = self._item_classes(session)
        self._labeled: set[int] = {
            p for p in range(len(session.items))
            if session.is_labeled(session.items.keys[p]) and session.value(session.items.keys[p])
        }
        self._track_lane = Lane("tracker", on_error=self._failed,
                                on_finish=lambda: self._emit("status"))
        self._model_lane = Lane("model", on_error=self._failed,
                                on_finish=lambda: self._emit("status"))
        session.on_change(self._on_change)
        self._reorder_queue()
        for pos in sorted(self._labeled):  # a resumed session: carry what is there
            self._request_tracking(pos)
        self._maybe_fit()
        return self

    def _make_model(self) -> Any:
        if isinstance(self.model, str) and self.model == "default":
            try:
                from nblabel.models.boxes import BoxModel, _torch

                _torch()
            except ImportError:
                self._model_note = "no model (install nblabel[torch])"
                return None
            return BoxModel(max_steps=self.fit_steps, warm_start=True,
                            random_state=self.random_state)
        if self.model is None:
            return None
        from nblabel.suggest.model import check_box_model

        return check_box_model(self.model)

    @staticmethod
    def _make_groups(session: Any) -> tuple[list[list[int]], np.ndarray, list[Hashable]]:
        n = len(session.items)
        if session.group_column is None:
            return [[p] for p in range(n)], np.arange(n), list(session.items.keys)
        values = session.items.frame[session.group_column].tolist()
        index: dict[Hashable, int] = {}
        groups: list[list[int]] = []
        group_of = np.empty(n, dtype=np.int64)
        for p, v in enumerate(values):
            g = index.setdefault(v, len(groups))
            if g == len(groups):
                groups.append([])
            groups[g].append(p)
            group_of[p] = g
        return groups, group_of, list(index)

    def _item_classes(self, session: Any) -> list[str] | None:
        if self.item_class is None:
            return None
        frame = session.items.frame
        if self.item_class not in frame.columns:
            raise InputError(f"item_class column {self.item_class!r} not in the DataFrame")
        values = [str(v) for v in frame[self.item_class].tolist()]
        unknown = sorted(set(values) - set(session.classes))
        if unknown:
            raise InputError(
                f"column {self.item_class!r} has classes that are not session classes: "
                f"{unknown[:5]}; add them to classes= or with session.add_class()"
            )
        return values

    # ------------------------------------------------------------------ listeners
    def on_update(self, callback: Listener, *, remove: bool = False) -> None:
        """``callback(event, info)`` after each change of state: event ``"status"``
        (``info["status"]``: the status line) or ``"error"`` (``info["error"]``).
        Called from background threads."""
        if remove:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)
        else:
            self._listeners.append(callback)

    def _emit(self, event: str, **info: Any) -> None:
        info.setdefault("status", self.status)
        for cb in list(self._listeners):
            try:
                cb(event, info)
            except Exception:
                log.exception("nblabel assistant listener failed")

    def _failed(self, job: str, exc: BaseException) -> None:
        msg = f"assistant: {job} failed: {type(exc).__name__}: {exc}"
        self.errors.append(msg)
        self._emit("error", error=msg)

    @property
    def status(self) -> str:
        """One line saying what the assistant is doing, e.g. ``"tracking group 12 · model
        v2 on 310 labels · training on 455 labels"``."""
        if self.session is None:
            return "not attached"
        if self._closed:
            return "stopped"
        parts = []
        t = self._track_lane.running_label
        if t:
            parts.append(t)
        if self.model_ is None:
            parts.append(self._model_note or "tracker only")
        elif self.model_version:
            device = getattr(self.model_, "device_", None)  # e.g. "cpu", "cuda"
            parts.append(f"model v{len(self.fits)} on {self.model_version} labels"
                         + (f" ({device})" if device else ""))
        else:
            parts.append(f"model after {self.first_fit} labels ({len(self._labeled)} so far)")
        m = self._model_lane.running_label
        if m:
            parts.append(m)
        if self._model_lane.status == "failed" and self.errors:
            parts.append("model failed (see messages)")
        return " · ".join(parts)

    # ------------------------------------------------------------------ lifecycle
    @property
    def busy(self) -> bool:
        """Tracking, training or predicting is queued or running."""
        return self._track_lane.busy or self._model_lane.busy

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the assistant is idle (scripts, tests, a simulated annotator);
        ``True`` when idle, ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for lane in (self._track_lane, self._model_lane):
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not lane.wait(left):
                    return False
            if not self.busy:  # a finished fit may have queued tracking, and vice versa
                return True

    def cancel(self) -> None:
        """Drop queued work and stop running work early (results are discarded)."""
        self._track_lane.cancel()
        self._model_lane.cancel()

    def close(self) -> None:
        """Stop following the session and stop every background thread and process."""
        if self.session is None or self._closed:
            return
        self._closed = True
        with contextlib.suppress(ValueError):
            self.session.on_change(self._on_change, remove=True)
        self._track_lane.close()
        self._model_lane.close()
        if self._owned_executor is not None:
            self._owned_executor.shutdown(wait=True, cancel_futures=True)
            self._owned_executor = None
        self._cache.clear()
        self._emit("status")

    def __enter__(self) -> BoxAssistant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ events
    def _on_change(self, what: str, key: str) -> None:
        if what != "value" or self._closed:
            return
        s = self.session
        pos = int(s.items.position_of(key))
        value = s.value(key) if s.is_labeled(key) else ()
        if value:
            self._learn(pos, value)
            with self._lock:
                self._labeled.add(pos)
            self._request_tracking(pos)
        else:
            with self._lock:
                self._labeled.discard(pos)
        self._maybe_fit()

    def _learn(self, pos: int, value: tuple[Box, ...]) -> None:
        """Settle the duel between tracker and model on this image, if there was one."""
        with self._lock:
            tracked, predicted = self._tracked.pop(pos, ()), self._predicted.pop(pos, ())
            shown = self._posted.pop(pos, None)
            self._scores.pop(pos, None)
            raw = self._shown.pop(pos, None)
        if shown and raw is not None:  # was the suggestion taken as it was?
            taken = all(any(v.label == b.label and v.iou(b) > 0.999 for v in value)
                        for b in shown)
            self.calibrator.record(raw[0], raw[1], taken)
        if not (tracked and predicted and value):
            return
        if self._classes_of is not None:
            c = self._classes_of[pos]
            tracked = tuple(b.replace(label=c) for b in tracked)
            predicted = tuple(b.replace(label=c) for b in predicted)
        predicted = align_classes(tracked, predicted)
        for label in value:  # one contest per labeled box, between boxes of its class
            t = max((b for b in tracked if b.label == label.label), default=None,
                    key=lambda b: b.score or 0.0)
            m = max((b for b in predicted if b.label == label.label), default=None,
                    key=lambda b: b.score or 0.0)
            if t is None or m is None:
                continue
            accepted = shown is not None and any(
                b.label == label.label and b.iou(label) > 0.999 for b in shown)
            self.trust.settle(t, m, label, corrected=not accepted)

    # ------------------------------------------------------------------ tracking
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
                n, mp_context=multiprocessing.get_context("spawn"))
        return self._owned_executor

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
        ex = self._executor()
        runs = []
        for step in (1, -1):
            targets = self._segment(pos, step)
            if targets:
                frames = [self._frame_ref(p) for p in (pos, *targets)]
                runs.append((targets, ex.submit(track_chain, frames, boxes, self.work_side,
                                                params)))
        for targets, fut in runs:
            found = fut.result()
            if not self._track_lane.current(generation):
                return
            for p, bs in zip(targets, found):
                if bs and p not in self._labeled:
                    with self._lock:
                        self._tracked[p] = bs
                    self._post(p)

    def _frame_ref(self, pos: int) -> Any:
        items = self.session.items
        path = items.path(pos)
        return str(path) if path is not None else items.frame.iat[
            pos, items.frame.columns.get_loc(items.image_column)]

    # ------------------------------------------------------------------ model
    def _due(self) -> bool:
        if self.model_ is None or self._closed:
            return False
        n = len(self._labeled)
        v = self.model_version
        if v == 0:
            return n >= self.first_fit
        if v >= self.max_fit_labels:
            return False
        return n >= max(v * self.retrain_growth, v + self.retrain_min_new)

    def _maybe_fit(self) -> None:
        if self._due() and not self._model_lane.pending("fit"):
            self._model_lane.submit(self._fit_job, key="fit",
                                    label=f"training on {len(self._labeled)} labels")
            self._emit("status")

    def _image(self, pos: int) -> LoadedImage:
        with self._lock:
            im = self._cache.get(pos)
            if im is not None:
                self._cache.move_to_end(pos)
                return im
        im = self.session.items.image(pos, max_side=self.work_side)
        with self._lock:
            self._cache[pos] = im
            while len(self._cache) > self.cache_images:
                self._cache.popitem(last=False)
        return im

    def _snapshot(self) -> list[tuple[int, tuple[Box, ...]]]:
        s = self.session
        with self._lock:
            labeled = sorted(self._labeled)
        with s._lock:  # consistent with actions applied on other threads
            return [(p, tuple(s.value(s.items.keys[p]))) for p in labeled]

    def _fit_job(self, generation: int) -> None:
        snap = self._snapshot()
        if not snap:
            return
        model = self.model_
        if isinstance(self.model, str) and hasattr(model, "max_steps"):
            model.max_steps = self.fit_steps if self.model_version == 0 else self.retrain_steps
        images, boxes = [], []
        for p, bs in snap:
            try:
                im = self._image(p)
            except Exception as e:  # a broken image is skipped, and said so
                log.warning("nblabel assistant: image of row %s skipped: %s",
                            self.session.items.keys[p], e)
                continue
            images.append(im.pixels)
            boxes.append(_scaled(bs, im.scale))
        t0 = time.perf_counter()
        fit = model.fit
        if "should_stop" in inspect.signature(fit).parameters:
            fit(images, boxes, should_stop=lambda: not self._model_lane.current(generation))
        else:
            fit(images, boxes)
        if not self._model_lane.current(generation):
            return
        row: dict[str, Any] = {"labels": len(snap), "fit_seconds": round(
            time.perf_counter() - t0, 1), "steps": getattr(model, "n_steps_", None)}
        self.model_version = len(snap)
        self.fits.append(row)
        self._emit("status")
        t1 = time.perf_counter()
        row["predicted"] = self._predict_all(generation)
        row["predict_seconds"] = round(time.perf_counter() - t1, 1)
        if self._model_lane.current(generation):
            self._reorder_queue()
            self._emit("status")
        self._maybe_fit()  # labels may have grown past the next step meanwhile

    def _predict_all(self, generation: int, batch: int = 64) -> int:
        todo = [p for p in range(len(self.session.items)) if p not in self._labeled]
        stream = getattr(self.model_, "iter_predict_paths", None)
        paths: list[Any] = [None]
        with contextlib.suppress(InputError):  # an empty path cell: one image at a time
            paths = [self.session.items.path(p) for p in todo] if stream else [None]
        if None not in paths:  # files, not in-memory arrays: stream them
            return self._predict_stream(generation, todo, paths, stream, batch)
        done = 0
        for start in range(0, len(todo), batch):
            if not self._model_lane.current(generation):
                break
            chunk, images, scales = [], [], []
            for p in todo[start:start + batch]:
                try:
                    im = self._image(p)
                except Exception as e:
                    log.warning("nblabel assistant: image of row %s skipped: %s",
                                self.session.items.keys[p], e)
                    continue
                chunk.append(p)
                images.append(im.pixels)
                scales.append(im.scale)
            self._model_lane.running_label = f"predicting {start}/{len(todo)}"
            preds = self.model_.predict(images) if images else []
            for p, s, bs in zip(chunk, scales, preds):
                if p in self._labeled:
                    continue
                with self._lock:
                    self._predicted[p] = tuple(_scaled(bs, 1.0 / s))
                self._post(p)
                done += 1
        return done

    def _predict_stream(self, generation: int, todo: list[int], paths: list[Any],
                        stream: Any, batch: int) -> int:
        """The prediction pass over image files: decoded in the model's background loader
        (not kept in this assistant's image cache), boxes in full-resolution pixels."""
        done = 0
        batches = stream([str(p) for p in paths], max_side=self.work_side, batch_size=batch)
        try:
            for results in batches:
                if not self._model_lane.current(generation):
                    break
                self._model_lane.running_label = f"predicting {done}/{len(todo)}"
                for j, bs in results:
                    p = todo[j]
                    if bs is None or p in self._labeled:
                        continue
                    with self._lock:
                        self._predicted[p] = bs
                    self._post(p)
                    done += 1
        finally:
            batches.close()  # stops the loader's worker processes
        return done

    # ------------------------------------------------------------------ posting
    def _post(self, pos: int) -> None:
        """Fuse what is known of one image into its suggestion and post it if it changed."""
        s = self.session
        key = str(s.items.keys[pos])
        if pos in self._labeled or self._closed:
            return
        with self._lock:
            tracked, predicted = self._tracked.get(pos, ()), self._predicted.get(pos, ())
        if self._classes_of is not None:
            c = self._classes_of[pos]
            tracked = tuple(b.replace(label=c) for b in tracked)
            predicted = tuple(b.replace(label=c) for b in predicted)
            allowed: tuple[str, ...] = (c,)
        else:
            allowed = tuple(s.classes)
        fused = fuse_boxes(tracked, predicted, p_model=self.trust.p_model,
                           w_model=self.trust.w_model)
        fused = tuple(b for b in fused if b.label in allowed)
        w, h = s.items.size(pos)
        fused = apply_rules(fused, self.rules, ItemInfo(key=key, width=w, height=h,
                                                        classes=allowed))
        if not fused:
            return
        if self.refine:
            fused = self._refined(pos, fused)
        with self._lock:
            if self._posted.get(pos) == fused:
                return
            self._posted[pos] = fused
            self._scores[pos] = float(fused[0].score or 0.0)
        scores = [b.score for b in fused if b.score is not None]
        source = fused[0].source if fused[0].source in ("tracker", "model") else (
            "tracker" if tracked and not predicted else "model")
        raw = min(scores) if scores else 0.0
        shown = self.calibrator.calibrated(source, raw)
        with self._lock:
            self._shown[pos] = (source, raw)
        s.suggest(key, fused, source=source, score=raw if shown is None else shown,
                  replace="all")

    def _refined(self, pos: int, boxes: tuple[Box, ...]) -> tuple[Box, ...]:
        """Each box's edges snapped to the nearest strong boundary (work-size image)."""
        from nblabel.suggest.snap import snap_box

        t0 = time.perf_counter()
        try:
            im = self._image(pos)
        except Exception:  # no image, no refinement: the box is shown as it is
            return boxes
        snapped = [snap_box(im.pixels, b, band=self.refine_band)
                   for b in _scaled(boxes, im.scale)]
        out = _scaled(snapped, 1.0 / im.scale)
        self.refine_ms.append((time.perf_counter() - t0) * 1000)
        del self.refine_ms[:-100_000]
        return tuple(out)

    def note(self, key: Any) -> str:
        """What the annotator should know about an item's suggestion beyond its score:
        the model's version and how many labels it learned from, and whether the score is
        calibrated yet (e.g. ``"model v1, 13 labels, score not calibrated yet"``)."""
        pos = int(self.session.items.position_of(key))
        with self._lock:
            raw = self._shown.get(pos)
        if raw is None:
            return ""
        parts = []
        if raw[0] == "model" and self.fits:
            parts.append(f"model v{len(self.fits)}, {self.model_version} labels")
        if self.calibrator.decisions(raw[0]) < self.calibrator.min_decisions:
            parts.append("score not calibrated yet")
        return ", ".join(parts)

    # ------------------------------------------------------------------ order
    def _reorder_queue(self) -> None:
        if not self.reorder or self._closed:
            return
        s = self.session
        cur = s.current
        first = None if cur is None else int(self._group_of[cur.position])
        with self._lock:
            scores = dict(self._scores)
            labeled = set(self._labeled)
        self._reorders += 1
        seed = self.random_state + self._reorders
        if self.tracker is None and not self.model_version:
            order = spread_order(self._groups, labeled=labeled, random_state=seed,
                                 current=None if cur is None else cur.position)
        else:
            rank = s.queue.ranks  # cold start: groups keep the session's order
            order = group_order(self._groups, labeled=labeled, scores=scores,
                                first=first, explore=self.explore, random_state=seed,
                                by_uncertainty=bool(self.model_version),
                                group_rank=[int(min(rank[g])) for g in self._groups])
        s.queue.reorder(priorities(len(s.items), order))

    def __repr__(self) -> str:
        return f"BoxAssistant({self.status})"
