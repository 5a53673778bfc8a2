"""The file half of :class:`~nblabel.models.BoxModel`: training on and predicting image
files, decoded (EXIF-rotated, reduced) by background worker processes and an optional disk
cache (:mod:`nblabel.models.box_data`), so memory stays flat over 100,000 images."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from nblabel.models.box_data import (
    ImageCache,
    PathImages,
    TrainViews,
    as_cache,
    default_workers,
    make_loader,
    scaled,
)
from nblabel.models.box_net import torch_module as _torch
from nblabel.shapes import Box

__all__ = ["FilesMixin"]

_Model = TypeVar("_Model", bound="FilesMixin")

log = logging.getLogger("nblabel")


class FilesMixin:
    """:meth:`fit_paths`, :meth:`iter_predict_paths` and :meth:`predict_paths` of
    :class:`~nblabel.models.BoxModel` (which supplies ``predict``, ``_train``,
    ``_check_fit``, ``_spec`` and its settings)."""

    max_steps: int
    batch_size: int
    random_state: int
    predict: Callable[..., list[tuple[Box, ...]]]
    _train: Callable[..., Any]
    _check_fit: Callable[..., list[str]]
    _spec: Callable[..., Any]

    def fit_paths(
        self: _Model,
        paths: Sequence[str | os.PathLike],
        boxes: Sequence[Sequence[Box]],
        *,
        max_side: int | None = 320,
        cache: ImageCache | str | os.PathLike | None = None,
        num_workers: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> _Model:
        """Train on image files, decoded and augmented in background worker processes.

        Only the views of the current and the next few batches are in memory, whatever
        the number of images. The views are drawn from a seeded stream (image and
        augmentation of view ``k`` from ``(random_state, k)``), so a fit is the same with
        any ``num_workers``; it is not the same as :meth:`fit` on the decoded arrays.

        Parameters
        ----------
        paths : sequence of path-like
            Image files (any format :func:`nblabel.images.load_image` reads).
        boxes : sequence of sequences of Box
            Boxes of each image, in the full-resolution (EXIF-rotated) image's pixels.
        max_side : int, optional
            Images are decoded reduced to at most this many pixels on their longer side.
        cache : ImageCache or path-like, optional
            Keep the reduced images on disk here (see :class:`ImageCache`).
        num_workers : int, optional
            Decoding processes (default: none under 512 images, else up to 2).
        should_stop : callable, optional
            Polled every step; training ends early when it returns ``True``.
        """
        _torch()
        classes = self._check_fit(paths, boxes)
        views = TrainViews(paths, boxes, self.max_steps * self.batch_size, self._spec(classes),
                           max_side=max_side, cache=as_cache(cache),
                           random_state=self.random_state)
        loader = make_loader(views, batch_size=self.batch_size,
                             num_workers=default_workers(len(paths), num_workers))
        return self._train(classes, loader, should_stop)

    # -- prediction ------------------------------------------------------------------
    def iter_predict_paths(
        self,
        paths: Sequence[str | os.PathLike],
        *,
        max_side: int | None = 320,
        batch_size: int = 64,
        cache: ImageCache | str | os.PathLike | None = None,
        num_workers: int | None = None,
        max_boxes: int | None = None,
        progress: bool = False,
    ) -> Iterator[list[tuple[int, tuple[Box, ...] | None]]]:
        """Predict image files batch by batch: yields ``[(index, boxes), ...]`` per batch.

        Images are decoded (EXIF-rotated, reduced to ``max_side``) by background worker
        processes, at most two batches per worker ahead, so memory does not grow with the
        number of images. Boxes are in the full-resolution image's pixels; an unreadable
        file gives ``None`` and a logged warning naming it. Closing the generator (or
        leaving a ``for`` loop over it) stops the workers.

        Parameters
        ----------
        paths : sequence of path-like
            Image files, e.g. a DataFrame column (``df["path"]``).
        max_side : int, optional
            Decode at most this many pixels on the longer side (the assistant's
            ``work_side``); predictions equal :meth:`predict` on
            ``load_image(path, max_side=max_side).pixels``, scaled to full resolution.
        batch_size : int
            Images per network batch.
        cache : ImageCache or path-like, optional
            Keep the reduced images on disk here, so a later pass skips decoding.
        num_workers : int, optional
            Decoding processes (default: none under 512 images, else up to 2).
        max_boxes : int, optional
            Keep at most this many boxes per image.
        progress : bool
            Show a tqdm progress bar (scripts).
        """
        if not hasattr(self, "net_"):
            raise RuntimeError("BoxModel is not fitted yet: call fit(images, boxes) first")
        from tqdm.auto import tqdm

        data = PathImages(paths, max_side, as_cache(cache))
        loader = make_loader(data, batch_size=batch_size, as_list=True,
                             num_workers=default_workers(len(data), num_workers))
        with tqdm(total=len(data), unit="img", disable=not progress, mininterval=2.0) as bar:
            for batch in loader:
                ok = [(i, im) for i, im, _ in batch if im is not None]
                for _, _, err in batch:
                    if err is not None:
                        log.warning("nblabel BoxModel: image skipped: %s", err)
                found = self.predict([im.pixels for _, im in ok], max_boxes=max_boxes,
                                     batch_size=batch_size) if ok else []
                out: dict[int, tuple[Box, ...] | None] = {i: None for i, _, _ in batch}
                for (i, im), bs in zip(ok, found):
                    out[i] = tuple(scaled(bs, 1.0 / im.scale))
                bar.update(len(batch))
                yield list(out.items())

    def predict_paths(
        self, paths: Sequence[str | os.PathLike], **kwargs: Any
    ) -> list[tuple[Box, ...]]:
        """Boxes for every image file, in order (``()`` for an unreadable file, with a
        warning saying how many). Keyword arguments as :meth:`iter_predict_paths`."""
        results: list[tuple[Box, ...]] = [()] * len(paths)
        failed = 0
        for batch in self.iter_predict_paths(paths, **kwargs):
            for i, bs in batch:
                if bs is None:
                    failed += 1
                else:
                    results[i] = bs
        if failed:
            warnings.warn(f"{failed} of {len(paths)} images could not be read (see the log "
                          "for each file); they got no boxes", stacklevel=2)
        return results
