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
4. **refines** every suggested box before it is shown: each edge moves halfway to the
   strongest image boundary within 10% of the box's size (:func:`nblabel.suggest.snap.snap_box`,
   on the work-size image; ``refine_pull``; ``refine=False`` turns it off);
5. **reorders** the queue: the group being labeled first, then the least certain groups,
   with an exploration share; inside a group the keyframe first
   (:mod:`nblabel.assist.ordering`).

Labeling never waits for it. Errors are recorded (:attr:`BoxAssistant.errors`), logged and
sent to the listeners (the widget shows them); a failing model does not stop the tracker.
:meth:`BoxAssistant.close` stops every thread and process it started.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np

from nblabel.assist._worker import Lane
from nblabel.assist.box_posting import PostingMixin
from nblabel.assist.box_tracking import TrackingMixin, track_chain
from nblabel.assist.box_training import TrainingMixin
from nblabel.assist.listeners import Listener, Listeners
from nblabel.assist.ordering import group_order, priorities, spread_order
from nblabel.data.images import LoadedImage
from nblabel.errors import InputError
from nblabel.shapes import Box
from nblabel.suggest.calibration import AcceptanceCalibrator
from nblabel.suggest.doubt import SizeStats
from nblabel.suggest.fusion import Trust, align_classes
from nblabel.suggest.rules import DEFAULT_RULES, Rule
from nblabel.suggest.tracker import TRACKERS

__all__ = ["BoxAssistant", "track_chain"]

log = logging.getLogger("nblabel")


# --------------------------------------------------------------------------- assistant
def _in_a_worker_importing_main() -> bool:
    """True in a process started with the spawn (or forkserver) method while it imports
    the parent's main script -- a script without a main guard (the flag the standard
    library checks before it refuses to start processes there)."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


class BoxAssistant(Listeners, TrackingMixin, TrainingMixin, PostingMixin):
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
    group_chunk : int, optional
        Once a model exists, serve this many images of each group per round, over all
        groups (:func:`nblabel.assist.ordering.group_order`), so the next model learns from
        many groups; ``None``: a group's images one after the other. Before the first
        model, groups are always served whole (the tracker carries each label to the
        next image). On two ~500-image ECUSTFD subsets 2 needed 19-21% fewer hand boxes
        than whole groups (``benchmarks/results/boxes.md``).
    random_state : int
        Seed of exploration and of the default model.
    item_class : str, optional
        Column of image-level classes (e.g. photos already sorted into food types): every
        suggestion of a row gets that row's class, one box per image.
    first_fit : int
        Labels before the first model fit. 20: the first model is weak, but it covers the
        groups the tracker cannot reach sooner; full ECUSTFD at accept-IoU 0.7 needed 152
        hand boxes and corrections with 20 against 170 with 40; on a three-type subset,
        0.0685 of its images against 0.0746 (and 0.0948 with 5;
        ``benchmarks/results/boxes.md``).
    retrain_growth, retrain_min_new : float, int
        Refit when the labels reach ``max(growth x, +min_new)`` those of the last fit.
    max_fit_labels : int
        No refit once a model was trained on this many labels.
    refit_on_misses : int, optional
        Refit before the next scheduled fit once this many of the current model's
        suggestions were corrected and they are at least a quarter of those it showed: a
        weak early model is replaced as soon as it shows itself weak. ``None``: on
        schedule only.
    fit_steps, retrain_steps : int
        Training steps of the first fit and the most of a later (warm-started) fit, for the
        default model only. 1000: on full ECUSTFD twice the steps gave no fewer
        corrections (218 vs 222) in 2.3x the time.
    retrain_epochs, min_retrain_steps : float, int
        A later fit runs enough steps for ``retrain_epochs`` passes over its labels (in
        batches of the model's ``batch_size``), at least ``min_retrain_steps`` and at most
        ``retrain_steps``: a warm start on a few hundred labels needs fewer steps than one
        on a thousand. ``retrain_epochs=None``: always ``retrain_steps``. On full ECUSTFD
        the default took 27.6 instead of 30.1 min at accept-IoU 0.7, for 119 corrections
        instead of 116 (600 steps everywhere: 133), and 65 instead of 50 at 0.5; on 566
        photos of apple, pear and egg 31 at 0.5, where the last run with 1000-step refits
        had 25 (``benchmarks/results/boxes.md``). ``None`` where fit time matters less.
    work_side : int
        Images are tracked and modelled at most this many pixels on their longer side.
    track_ahead : int or None
        Track at most this many images each way from a new label (``None``: up to the next
        labeled image, the rest of the group; costs one tracker step per image per label).
    executor : concurrent.futures.Executor, optional
        Where tracking runs (default: a local process pool, started on first use and shut
        down by :meth:`close`). A ``dask.distributed`` client's ``get_executor()`` works.
        When given, the prediction passes run there too, in chunks of ``executor_chunk``
        images, each predicted by a copy of the fitted model
        (:func:`nblabel.models.box_data.predict_on_executor`).
    executor_chunk : int
        Images per prediction chunk sent to ``executor``.
    processes : int, optional
        Size of the default process pool (default: 2, or 1 on a one-core machine).
    reorder : bool
        Reorder the session's queue (by group, least certain first).
    refine : bool
        Move the edges of every suggested box toward the nearest strong boundary before it
        is shown (``refine_band``: how far to look, as a share of the box's size).
    refine_pull : float
        How far each edge moves toward the boundary snapping found: 1 all the way, 0.5
        (default) halfway. On food types the model never saw, halfway placed as many boxes
        within IoU 0.7 of the truth as all the way (model boxes 0.707 / 0.830 vs 0.711 /
        0.820 on two splits; tracker boxes 0.845 / 0.891 vs 0.849 / 0.895) and far more within
        0.9 (model 0.327 / 0.417 vs 0.217 / 0.268; tracker 0.392 / 0.490 vs 0.265 / 0.320):
        ``benchmarks/analysis/snap_blend_study.py``.
    refine_tracked : bool
        Once a model exists, pass each tracker box through the model's crop pass
        (:meth:`nblabel.models.BoxModel.refine_boxes`: the model's look at a crop around
        the box) before it is fused and shown; runs in the model's lane, after fits.
    check_misses : bool
        Look for signs that a suggested box is on the wrong object before showing it (the
        model finds another box in a smaller copy of the image, the tracker saw the object
        elsewhere, a size the class's labels never had; :mod:`nblabel.suggest.doubt`). A
        *suspected miss* has its score halved per sign, so the queue serves it early, and
        :meth:`note` says why. Costs a second prediction pass (at 0.75 of the size).
    cache_images : int
        Decoded work-size images kept in memory for training and prediction. A prediction
        pass over more unlabeled images than this streams them instead through the
        model's background loader (:meth:`nblabel.models.BoxModel.iter_predict_paths`;
        memory independent of their number, no second look).
    """

    def __init__(
        self,
        model: Any = "default",
        *,
        tracker: str | None = "csrt",
        rules: Sequence[Rule] = DEFAULT_RULES,
        explore: float = 0.2,
        group_chunk: int | None = 2,
        random_state: int = 0,
        item_class: str | None = None,
        first_fit: int = 20,
        retrain_growth: float = 1.5,
        retrain_min_new: int = 60,
        max_fit_labels: int = 1000,
        refit_on_misses: int | None = 10,
        fit_steps: int = 1000,
        retrain_steps: int = 1000,
        retrain_epochs: float | None = 20.0,
        min_retrain_steps: int = 600,
        work_side: int = 320,
        track_ahead: int | None = 2,
        executor: Executor | None = None,
        executor_chunk: int = 500,
        processes: int | None = None,
        reorder: bool = True,
        refine: bool = True,
        refine_band: float = 0.1,
        refine_pull: float = 0.5,
        refine_tracked: bool = True,
        check_misses: bool = True,
        cache_images: int = 4096,
    ) -> None:
        self.model = model
        self.tracker = tracker
        self.rules = rules
        self.explore = explore
        self.group_chunk = group_chunk
        self.random_state = random_state
        self.item_class = item_class
        self.first_fit = first_fit
        self.retrain_growth = retrain_growth
        self.retrain_min_new = retrain_min_new
        self.max_fit_labels = max_fit_labels
        self.refit_on_misses = refit_on_misses
        self.fit_steps = fit_steps
        self.retrain_steps = retrain_steps
        self.retrain_epochs = retrain_epochs
        self.min_retrain_steps = min_retrain_steps
        self.work_side = work_side
        self.track_ahead = track_ahead
        self.executor = executor
        self.executor_chunk = executor_chunk
        self.processes = processes
        self.reorder = reorder
        self.refine = refine
        self.refine_band = refine_band
        self.refine_pull = refine_pull
        self.refine_tracked = refine_tracked
        self.check_misses = check_misses
        self.cache_images = cache_images
        self.session: Any = None
        self._listeners: list[Listener] = []

    # ------------------------------------------------------------------ binding
    def attach(self, session: Any) -> BoxAssistant:
        """Follow ``session`` (a :class:`~nblabel.session.BoxSession`): from now on its
        labels are tracked, learned from and its queue reordered. Returns ``self``."""
        if self.session is not None:
            raise RuntimeError("this BoxAssistant is already attached; make a new one")
        if _in_a_worker_importing_main():
            raise RuntimeError(
                "a worker process of the assistant is running this script again: put the "
                "script's code under `if __name__ == \"__main__\":` (worker processes import "
                "the main script; the assistant then tracks in its own process)")
        if not hasattr(session, "classes") or session.items.image_column is None:
            raise InputError("BoxAssistant needs a BoxSession of images")
        if self.tracker is not None and self.tracker not in TRACKERS:
            raise InputError(f"unknown tracker {self.tracker!r}; use one of {TRACKERS}")
        if not 0.0 <= self.explore <= 1.0:
            raise InputError(f"explore must be in [0, 1], got {self.explore}")
        if not 0.0 <= self.refine_pull <= 1.0:
            raise InputError(f"refine_pull must be in [0, 1], got {self.refine_pull}")
        if self.retrain_epochs is not None and not self.retrain_epochs > 0:
            raise InputError(f"retrain_epochs must be > 0 or None, got {self.retrain_epochs}")
        self.session = session
        self.model_ = self._make_model()
        self.model_version = 0  # labels the current model was trained on (0: none)
        self.fits: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.trust = Trust()
        self.calibrator = AcceptanceCalibrator()
        self.refine_ms: list[float] = []  # time to refine each posted suggestion
        self._shown: dict[int, tuple[str, float]] = {}  # position -> (source, raw score)
        self.model_verdicts = [0, 0]  # the current model's suggestions: shown, corrected
        self._lock = threading.RLock()
        self._tracked: dict[int, tuple[Box, ...]] = {}
        # position -> (tracked boxes, the same through the model's crop pass, model version)
        self._tracked_refined: dict[int, tuple[tuple[Box, ...], tuple[Box, ...], int]] = {}
        self._predicted: dict[int, tuple[Box, ...]] = {}
        self._second_look_boxes: dict[int, tuple[Box, ...]] = {}
        self._size_stats: dict[str, SizeStats] = {}
        self._doubts: dict[int, tuple[str, ...]] = {}
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
        self._warm_up_tracking()
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
        if what == "items" and not self._closed:  # rows added or removed mid-session
            from nblabel.assist.rows import box_rows_changed

            return box_rows_changed(self)
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
            refined = self._tracked_refined.pop(pos, None)
            if refined is not None and refined[0] == tracked:  # the tracker box as shown
                tracked = refined[1]
            self._second_look_boxes.pop(pos, None)
            self._doubts.pop(pos, None)
            shown = self._posted.pop(pos, None)
            self._scores.pop(pos, None)
            raw = self._shown.pop(pos, None)
        if shown and raw is not None:  # was the suggestion taken as it was?
            taken = all(any(v.label == b.label and v.iou(b) > 0.999 for v in value)
                        for b in shown)
            self.calibrator.record(raw[0], raw[1], taken)
            if raw[0] == "model":
                with self._lock:
                    self.model_verdicts[0] += 1
                    self.model_verdicts[1] += not taken
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
                                group_rank=[int(min(rank[g])) for g in self._groups],
                                chunk=self.group_chunk if self.model_version else None)
        s.queue.reorder(priorities(len(s.items), order))

    def __repr__(self) -> str:
        return f"BoxAssistant({self.status})"
