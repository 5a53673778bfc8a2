"""Model suggestions: a small protocol any box model follows, a scikit-learn wrapper, and
background training.

A box model has ``fit(images, boxes)`` (RGB ``uint8`` arrays and, per image, a sequence of
:class:`~nblabel.shapes.Box`) and ``predict(images)`` returning, per image, a tuple of boxes
with ``score`` in [0, 1] and ``source="model"``. The default is
:class:`nblabel.models.BoxModel` (torch); :class:`SklearnBoxModel` turns any scikit-learn
regressor into one (one box per image, from a small thumbnail).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from nblabel.errors import InputError, InvalidBoxError
from nblabel.shapes import Box

__all__ = ["BoxPredictor", "SklearnBoxModel", "check_box_model", "fit_in_background"]


@runtime_checkable
class BoxPredictor(Protocol):
    """What nblabel needs from a box model."""

    def fit(self, images: Sequence[np.ndarray], boxes: Sequence[Sequence[Box]]) -> Any: ...

    def predict(self, images: Sequence[np.ndarray]) -> Sequence[Sequence[Box]]: ...


def check_box_model(model: Any) -> BoxPredictor:
    """Return ``model`` if it has callable ``fit`` and ``predict``; raise a clear error else."""
    missing = [m for m in ("fit", "predict") if not callable(getattr(model, m, None))]
    if missing:
        raise InputError(
            f"{type(model).__name__} is not a box model: it lacks {', '.join(missing)}; "
            "a box model needs fit(images, boxes) and predict(images) -> boxes per image"
        )
    return model


class SklearnBoxModel:
    """One box per image from any scikit-learn regressor over a grey/colour thumbnail.

    The regressor learns ``(cx, cy, log w, log h)`` relative to the image. The score is
    ``score`` (constant) unless the regressor is an ensemble with ``estimators_``, where it
    falls with the spread of the members' predictions.

    Parameters
    ----------
    estimator : sklearn regressor
        Anything with ``fit(X, y)`` / ``predict(X)`` supporting 2-D ``y``.
    thumb : int
        Side of the thumbnail used as features.
    label : str, optional
        Class of the boxes; by default the most frequent class seen in :meth:`fit`.
    score : float
        Score of boxes when the estimator gives no spread.
    """

    def __init__(self, estimator: Any, *, thumb: int = 16, label: str | None = None,
                 score: float = 0.5) -> None:
        self.estimator = estimator
        self.thumb = thumb
        self.label = label
        self.score = score

    def _features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        t = self.thumb
        return np.stack([
            cv2.resize(im, (t, t), interpolation=cv2.INTER_AREA).astype(np.float32).ravel() / 255
            for im in images
        ])

    def fit(self, images: Sequence[np.ndarray], boxes: Sequence[Sequence[Box]]
            ) -> SklearnBoxModel:
        X, y, labels = [], [], []
        feats = self._features(images)
        for f, im, bs in zip(feats, images, boxes):
            if not bs:
                continue
            b = max(bs, key=lambda b: b.area)
            h, w = im.shape[:2]
            X.append(f)
            y.append([(b.x0 + b.x1) / 2 / w, (b.y0 + b.y1) / 2 / h,
                      np.log(b.width / w), np.log(b.height / h)])
            labels.append(b.label)
        if not X:
            raise InputError("SklearnBoxModel.fit needs at least one image with a box")
        self.estimator.fit(np.array(X), np.array(y))
        self.label_ = self.label or max(set(labels), key=labels.count)
        return self

    def predict(self, images: Sequence[np.ndarray]) -> list[tuple[Box, ...]]:
        if not hasattr(self, "label_"):
            raise RuntimeError("SklearnBoxModel is not fitted yet: call fit first")
        X = self._features(images)
        y = self.estimator.predict(X)
        spread = None
        members = getattr(self.estimator, "estimators_", None)
        if isinstance(members, (list, np.ndarray)) and len(members) > 1 and hasattr(
                members[0], "predict"):
            spread = np.std([m.predict(X) for m in members], axis=0).mean(1)
        out = []
        for k, (im, (cx, cy, lw, lh)) in enumerate(zip(images, y)):
            h, w = im.shape[:2]
            bw, bh = float(np.exp(min(lw, 0.0))) * w, float(np.exp(min(lh, 0.0))) * h
            cx, cy = float(np.clip(cx, 0, 1)), float(np.clip(cy, 0, 1))
            s = self.score if spread is None else float(np.exp(-5 * spread[k]))
            try:
                b = Box(self.label_, cx * w - bw / 2, cy * h - bh / 2, cx * w + bw / 2,
                        cy * h + bh / 2, score=float(np.clip(s, 0, 1)), source="model")
                out.append((b.clip(w, h),))
            except InvalidBoxError:
                out.append(())
        return out


_EXECUTOR: ThreadPoolExecutor | None = None


def fit_in_background(
    model: Any, images: Sequence[np.ndarray], boxes: Sequence[Sequence[Box]],
    *, on_done: Callable[[Any], None] | None = None,
) -> Future:
    """Fit ``model`` in a background thread; returns a Future (``.result()`` re-raises).

    Torch releases the GIL while it computes, so the notebook's widgets stay responsive.
    ``on_done(model)`` runs in the background thread after a successful fit (e.g. to
    predict and refresh suggestions). Pass ``should_stop`` through the model (``BoxModel``
    accepts it in ``fit``) to make training cancellable.
    """
    global _EXECUTOR
    check_box_model(model)
    if _EXECUTOR is None:
        _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nblabel-fit")
    images, boxes = list(images), [tuple(b) for b in boxes]

    def run() -> Any:
        model.fit(images, boxes)
        if on_done is not None:
            on_done(model)
        return model

    return _EXECUTOR.submit(run)
