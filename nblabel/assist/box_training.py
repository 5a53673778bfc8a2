"""The model half of :class:`~nblabel.assist.boxes.BoxAssistant`: when to retrain, the
fit on a snapshot of the labels, and the prediction pass over every unlabeled image."""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Iterator
from typing import Any

from nblabel.assist.box_tracking import scaled
from nblabel.data.images import LoadedImage
from nblabel.errors import InputError
from nblabel.models.box_data import predict_on_executor
from nblabel.shapes import Box
from nblabel.suggest.doubt import SizeStats, zoom_out

__all__ = ["TrainingMixin"]

log = logging.getLogger("nblabel")

#: ``refit_on_misses`` calls for a refit only when the corrected suggestions are at least
#: this share of those the model showed
WEAK_SHARE = 0.25


class TrainingMixin:
    """Training jobs of :class:`~nblabel.assist.boxes.BoxAssistant` (its state: ``session``,
    ``model``, ``model_``, ``model_version``, ``first_fit``, ``retrain_growth``,
    ``retrain_min_new``, ``max_fit_labels``, ``refit_on_misses``, ``model_verdicts``,
    ``fit_steps``, ``retrain_steps``, ``retrain_epochs``, ``min_retrain_steps``, ``work_side``,
    ``cache_images``, ``check_misses``, ``refine_tracked``, ``_cache``, ``_labeled``,
    ``_tracked``, ``_tracked_refined``, ``_predicted``, ``_second_look_boxes``,
    ``_size_stats``, ``_model_lane``, ``_lock``)."""

    #: when the fit running now started (``time.time()``); ``None``: no fit running
    fit_started: float | None = None
    #: why the last fit was asked for: ``"first"``, ``"schedule"`` or ``"corrections"`` (the
    #: model's suggestions were corrected too often, ``refit_on_misses``)
    _fit_reason = "first"

    def _due(self) -> str | None:
        """Why a fit is due now (``"first"``, ``"schedule"``, ``"corrections"``), or None."""
        if self.model_ is None or self._closed:
            return None
        n = len(self._labeled)
        v = self.model_version
        if n >= len(self.session.items):
            return None  # nothing left to suggest on
        if v == 0:
            return "first" if n >= self.first_fit else None
        if v >= self.max_fit_labels:
            return None
        if n >= max(v * self.retrain_growth, v + self.retrain_min_new):
            return "schedule"
        return "corrections" if n > v and self._weak_model() else None

    def _weak_model(self) -> bool:
        """Enough of the current model's suggestions were corrected to refit now
        (``refit_on_misses``)."""
        k = self.refit_on_misses
        with self._lock:
            shown, corrected = self.model_verdicts
        return k is not None and corrected >= k and corrected >= WEAK_SHARE * shown

    def steps_for(self, n_labels: int, batch_size: int) -> int:
        """Training steps of the next fit of the default model on ``n_labels`` labels."""
        if self.model_version == 0:
            return self.fit_steps
        if self.retrain_epochs is None:
            return self.retrain_steps
        steps = math.ceil(self.retrain_epochs * n_labels / max(batch_size, 1))
        return min(self.retrain_steps, max(self.min_retrain_steps, steps))

    def _maybe_fit(self) -> None:
        reason = self._due()
        if reason and not self._model_lane.pending("fit"):
            self._fit_reason = reason
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
            model.max_steps = self.steps_for(len(snap), getattr(model, "batch_size", 16))
        images, boxes = [], []
        for p, bs in snap:
            try:
                im = self._image(p)
            except Exception as e:  # a broken image is skipped, and said so
                log.warning("nblabel assistant: image of row %s skipped: %s",
                            self.session.items.keys[p], e)
                continue
            images.append(im.pixels)
            boxes.append(scaled(bs, im.scale))
        self._size_stats = class_sizes(images, boxes)
        t0, started = time.perf_counter(), time.time()
        self.fit_started = started  # wall clock, shown to a team (nblabel.assist.team)
        fit = model.fit
        try:
            if "should_stop" in inspect.signature(fit).parameters:
                fit(images, boxes, should_stop=lambda: not self._model_lane.current(generation))
            else:
                fit(images, boxes)
        finally:
            self.fit_started = None
        if not self._model_lane.current(generation):
            return
        row: dict[str, Any] = {"labels": len(snap), "fit_seconds": round(
            time.perf_counter() - t0, 1), "steps": getattr(model, "n_steps_", None),
            "started": started, "ended": time.time()}
        self.model_version = len(snap)
        row["reason"] = self._fit_reason
        with self._lock:
            self.model_verdicts = [0, 0]  # the new model starts with a clean record
        self.fits.append(row)
        self._emit("status")
        t1 = time.perf_counter()
        row["predicted"] = self._predict_all(generation)
        row["predict_seconds"] = round(time.perf_counter() - t1, 1)
        if self._model_lane.current(generation):
            self._reorder_queue()
            self._emit("status")
            self._request_tracked_refinement()  # the tracker's boxes, through the new model
        self._maybe_fit()  # labels may have grown past the next step meanwhile

    def _predict_all(self, generation: int, batch: int = 64,
                     todo: list[int] | None = None) -> int:
        if todo is None:
            todo = [p for p in range(len(self.session.items)) if p not in self._labeled]
        paths = self._stream_paths(todo)
        if paths is not None:
            return self._predict_stream(generation, todo, paths, batch)
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
            second = self._second_look(images)
            for i, (p, s, bs) in enumerate(zip(chunk, scales, preds)):
                if p in self._labeled:
                    continue
                with self._lock:
                    self._predicted[p] = tuple(scaled(bs, 1.0 / s))
                    if second is not None:
                        self._second_look_boxes[p] = tuple(scaled(second[i], 1.0 / s))
                self._post(p)
                done += 1
        return done

    def _request_tracked_refinement(self) -> None:
        """Queue the crop pass over new tracker boxes (model lane: never during a fit)."""
        if (self.refine_tracked and self.fits and not self._closed
                and hasattr(self.model_, "refine_boxes")):
            self._model_lane.submit(self._refine_tracked_job, key="refine-tracked",
                                    label="refining tracked boxes")

    def _refine_tracked_job(self, generation: int, batch: int = 64) -> int:
        """Pass every unlabeled image's tracker boxes that the current model has not seen
        through its crop pass (``refine_tracked``), and post them again."""
        if not (self.refine_tracked and self.fits and hasattr(self.model_, "refine_boxes")):
            return 0
        version = self.model_version
        with self._lock:
            done_before = {p: (bs, v) for p, (bs, _new, v) in self._tracked_refined.items()}
            todo = [(p, bs) for p, bs in self._tracked.items()
                    if bs and p not in self._labeled and done_before.get(p) != (bs, version)]
        done = 0
        for start in range(0, len(todo), batch):
            if not self._model_lane.current(generation) or self._closed:
                break
            chunk, images, boxes, scales = [], [], [], []
            for p, bs in todo[start:start + batch]:
                try:
                    im = self._image(p)
                except Exception:  # no image: the tracker's box is shown as it is
                    continue
                chunk.append((p, bs))
                images.append(im.pixels)
                boxes.append(scaled(bs, im.scale))
                scales.append(im.scale)
            self._model_lane.running_label = f"refining tracked boxes {start}/{len(todo)}"
            found = self.model_.refine_boxes(images, boxes) if images else []
            for (p, bs), sc, new in zip(chunk, scales, found):
                with self._lock:
                    if p in self._labeled or self._tracked.get(p) != bs:
                        continue  # labeled or tracked again meanwhile
                    self._tracked_refined[p] = (bs, tuple(scaled(new, 1.0 / sc)), version)
                self._post(p)
                done += 1
        return done

    def _second_look(self, images: list[Any]) -> list[list[Box]] | None:
        """The model's boxes on zoomed-out copies of the images, mapped back (miss
        detection; :func:`nblabel.suggest.doubt.zoom_out`)."""
        if not self.check_misses or not images:
            return None
        looks = [zoom_out(im) for im in images]
        return [look.back(bs) for look, bs in
                zip(looks, self.model_.predict([look.pixels for look in looks]))]

    def _stream_paths(self, todo: list[int]) -> list[str] | None:
        """Image files to stream through the model's loader -- when the pass is larger than
        the image cache, or runs on the user's executor -- else ``None``: decoded images
        are cached and reused by the next pass, and get the second look."""
        if not hasattr(self.model_, "iter_predict_paths") or (
                len(todo) <= self.cache_images and self.executor is None):
            return None
        try:
            paths = [self.session.items.path(p) for p in todo]
        except InputError:  # an empty path cell
            return None
        return None if any(p is None for p in paths) else [str(p) for p in paths]

    def _predict_stream(self, generation: int, todo: list[int], paths: list[str],
                        batch: int) -> int:
        """The prediction pass over image files decoded by the model's background loader,
        or split in chunks across the user's executor (e.g. a dask cluster); not kept in
        the image cache, no second look; boxes in full-resolution pixels."""
        done = 0
        if self.executor is not None:
            batches = _chunked(predict_on_executor(
                self.model_, paths, self.executor, chunk_size=self.executor_chunk,
                max_side=self.work_side, batch_size=batch))
        else:
            batches = self.model_.iter_predict_paths(paths, max_side=self.work_side,
                                                     batch_size=batch)
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


def class_sizes(images: list[Any], boxes: list[list[Box]]) -> dict[str, SizeStats]:
    """:class:`~nblabel.suggest.doubt.SizeStats` of each class's labeled boxes."""
    rel: dict[str, list[float]] = {}
    for im, bs in zip(images, boxes):
        area = float(im.shape[0] * im.shape[1])
        for b in bs:
            rel.setdefault(b.label, []).append(b.area / area if area else 0.0)
    return {c: st for c, v in rel.items() if (st := SizeStats.of(v)) is not None}


def _chunked(chunks: Iterator[tuple[int, list[Any]]]) -> Iterator[list[tuple[int, Any]]]:
    """``(start, boxes per path)`` chunks as ``[(index, boxes), ...]`` batches."""
    try:
        for start, boxes in chunks:
            yield [(start + i, bs) for i, bs in enumerate(boxes)]
    finally:
        chunks.close()  # type: ignore[attr-defined]  # cancels chunks not yet started
