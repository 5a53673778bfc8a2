"""Box labeling: :class:`BoxSession` (several boxes per image, a class each)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from nblabel.errors import InputError, UnknownClassError
from nblabel.session.base import LabelSession
from nblabel.session.kinds import BoxKind, check_classes, normalize_boxes
from nblabel.shapes import Box

__all__ = ["BoxSession"]

log = logging.getLogger("nblabel")

#: the class of a box in a stored payload (JSON text): ``"label": "apple"``
_LABEL_RE = re.compile(r'"label":\s*"((?:[^"\\]|\\.)*)"')



class BoxSession(LabelSession):
    """Label boxes (several per image, a class each).

    The DataFrame column (default ``boxes``) holds a list of box dicts per row
    (``label, x0, y0, x1, y1, score, source``); ``labels`` has one row per box.
    Boxes partly outside the image are clipped to it; boxes entirely outside, with no area
    or an unknown class raise :class:`~nblabel.errors.InputError` and change nothing.

    Parameters
    ----------
    classes : list of str
        The box classes (first is the default class of new boxes).
    group : str, optional
        Column naming the image group (for tracker propagation).
    add_classes : bool
        A store holding boxes of classes not in ``classes`` is refused with an error that
        names them (never replayed silently); ``add_classes=True`` adds them to the
        session's classes instead.
    **kwargs
        See :class:`LabelSession`.
    """

    kind = "boxes"
    default_column = "boxes"
    codec = BoxKind()

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        image: str,
        classes: Sequence[str],
        group: str | None = None,
        add_classes: bool = False,
        **kwargs: Any,
    ) -> None:
        self.classes = check_classes(classes, "classes")
        self._add_classes = bool(add_classes)
        if not self.classes:
            raise InputError("a BoxSession needs at least one class: classes=['cat', ...]")
        self.group_column = group
        if group is not None and group not in df.columns:
            raise InputError(f"group column {group!r} not in the DataFrame")
        self.active_class = self.classes[0]
        super().__init__(df, image=image, **kwargs)

    def _check_replayed(self) -> None:
        unknown = self._store_classes() - set(self.classes)
        if not unknown:
            return
        if self._add_classes:
            self.classes.extend(sorted(unknown))
            log.warning("store %s: added the classes %s to %s", self.store, sorted(unknown),
                        self.classes)
            return
        if self._owns_store:
            self.store.close()
        raise UnknownClassError(
            f"the store {self.store} has boxes of classes {sorted(unknown)} that this session "
            f"does not have (classes={self.classes}); pass add_classes=True to add them, "
            f"list them in classes=, or use another store"
        )

    def _store_classes(self) -> set[str]:
        """Every box class in the replayed events (labels, history, suggestions)."""
        text = "\n".join(ev.payload_json for ev in self.log.by_id.values())
        return {json.loads(f'"{m}"') for m in set(_LABEL_RE.findall(text))} if text else set()

    def normalize(self, value: Any, key: Any | None = None) -> tuple[Box, ...]:
        k = self.item_key(key)
        return normalize_boxes(value, k, self.classes, lambda: self.items.item(k).size())

    def propagate(self, *, tracker: str = "csrt", sort: str | None = None,
                  processes: int | None = None, background: bool = False,
                  progress: bool = True) -> Any:
        """Let an OpenCV tracker carry the boxes labeled so far across each image group
        (``group=`` column); the tracked boxes become suggestions of source ``tracker``.

        See :func:`nblabel.suggest.propagation.propagate_session` for the parameters;
        ``background=True`` returns a cancellable job at once.
        """
        from nblabel.suggest.propagation import propagate_session

        return propagate_session(self, tracker=tracker, sort=sort, processes=processes,
                                 background=background, progress=progress)

    def add_class(self, name: str) -> None:
        """Add a class to the vocabulary (existing boxes are kept)."""
        if name not in self.classes:
            self.classes.append(str(name))

    # -- box actions ------------------------------------------------------------------------
    def draw_box(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        label: str | None = None,
        key: Any | None = None,
    ) -> Box:
        """Add a box drawn from corner to corner (any order) to an item."""
        box = Box.from_corners(x0, y0, x1, y1, label or self.active_class)
        k = self.item_key(key)
        new = self.set_value((*self.value(k), box), k)
        return new[-1]

    def update_box(self, index: int, key: Any | None = None, **changes: Any) -> Box:
        """Change fields of box ``index`` (move, resize, class) in one undoable action."""
        k = self.item_key(key)
        boxes = list(self.value(k))
        self._check_index(boxes, index, k)
        boxes[index] = boxes[index].replace(**changes)
        return self.set_value(tuple(boxes), k)[index]

    def set_box_class(self, index: int, label: str, key: Any | None = None) -> Box:
        """Change the class of box ``index``."""
        return self.update_box(index, key, label=label)

    def delete_box(self, index: int, key: Any | None = None) -> None:
        """Remove box ``index`` from an item."""
        k = self.item_key(key)
        boxes = list(self.value(k))
        self._check_index(boxes, index, k)
        del boxes[index]
        self.set_value(tuple(boxes), k)

    def snap_edges(self, index: int, edges: Iterable[str] | None = None,
                   key: Any | None = None, *, band: float = 0.15) -> Box:
        """Move edges of box ``index`` (default: all four; ``"left"``, ``"top"``,
        ``"right"``, ``"bottom"``) to the strongest nearby boundary in the image, in one
        undoable action (see :func:`nblabel.suggest.snap.snap_box`)."""
        k = self.item_key(key)
        boxes = list(self.value(k))
        self._check_index(boxes, index, k)
        snapped = self.snap_preview(boxes[index], edges, key=k, band=band)
        return self.update_box(index, k, x0=snapped.x0, y0=snapped.y0, x1=snapped.x1,
                               y1=snapped.y1) if snapped != boxes[index] else boxes[index]

    def snap_preview(self, box: Box, edges: Iterable[str] | None = None,
                     key: Any | None = None, *, band: float = 0.15) -> Box:
        """``box`` with its edges snapped on an item's image, without recording anything."""
        from nblabel.suggest.snap import snap_box

        im = self.items.item(self.item_key(key)).image(max_side=1024)
        sc = im.scale
        work = box.replace(x0=box.x0 * sc, y0=box.y0 * sc, x1=box.x1 * sc, y1=box.y1 * sc)
        got = snap_box(im.pixels, work, edges, band=band)
        return box.replace(x0=got.x0 / sc, y0=got.y0 / sc, x1=got.x1 / sc, y1=got.y1 / sc)

    def set_boxes(
        self, boxes: Iterable[Box], key: Any | None = None, *, source: str = "human"
    ) -> tuple[Box, ...]:
        """Replace all boxes of an item."""
        return self.set_value(tuple(boxes), key, source=source)

    @staticmethod
    def _check_index(boxes: list[Box], index: int, key: str) -> None:
        if not -len(boxes) <= index < len(boxes):
            raise InputError(f"item {key!r} has {len(boxes)} boxes; no box number {index}")
