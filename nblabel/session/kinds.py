"""The label kinds' value codecs: how a value is stored (JSON payload), shown in the
DataFrame cell, marked as a suggestion, merged with another and listed in ``labels``.

These are public: modules that need a session's values (review, label models, widgets) use
``session.codec`` / ``session.decode`` / ``session.encode`` / ``session.normalize`` instead of
the session's internals. Validation that needs the session (the classes, the image size, the
vocabulary) is in :func:`normalize_boxes`, :func:`normalize_class` and the tag session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from nblabel.errors import InputError, InvalidBoxError, UnknownClassError
from nblabel.shapes import Box

__all__ = [
    "BoxKind",
    "ClassKind",
    "Kind",
    "TagKind",
    "check_classes",
    "normalize_boxes",
    "normalize_class",
]

#: the columns every row of ``session.labels`` has besides the kind's own
COMMON_COLUMNS = ["annotator", "source", "time"]


class Kind:
    """The codec of a plain value (a class label): stored, shown and listed as itself."""

    name: ClassVar[str] = "value"
    #: the kind's columns in ``session.labels`` (after ``item``)
    columns: ClassVar[list[str]] = ["label"]

    def empty(self) -> Any:
        return None

    def encode(self, value: Any) -> Any:
        """Value -> JSON-able payload of a stored event."""
        return value

    def decode(self, payload: Any) -> Any:
        """Payload of a stored event -> value."""
        return payload

    def cell(self, value: Any) -> Any:
        """What the DataFrame cell shows for a value."""
        return value

    def stamp(self, value: Any, source: str, score: float | None) -> Any:
        """Mark a suggested value with its source and score (boxes carry both)."""
        return value

    def merge(self, current: Any, suggested: Any) -> Any:
        """The value after accepting ``suggested`` on top of ``current``."""
        return suggested

    def rows(self, value: Any) -> list[dict[str, Any]]:
        """The rows of ``session.labels`` for one item's value."""
        return [{"label": value}]

    def tidy_columns(self) -> list[str]:
        return ["item", *self.columns, *COMMON_COLUMNS]


class ClassKind(Kind):
    """One class per item (a string, or ``None``)."""

    name = "label"


class TagKind(Kind):
    """A set of tags per item; stored and shown as a sorted list."""

    name = "tags"

    def empty(self) -> frozenset[str]:
        return frozenset()

    def encode(self, value: frozenset[str]) -> Any:
        return sorted(value)

    def decode(self, payload: Any) -> frozenset[str]:
        return frozenset(payload or ())

    def cell(self, value: frozenset[str]) -> Any:
        return sorted(value)

    def merge(self, current: frozenset[str], suggested: frozenset[str]) -> frozenset[str]:
        return current | suggested

    def rows(self, value: frozenset[str]) -> list[dict[str, Any]]:
        return [{"label": t} for t in sorted(value)]


class BoxKind(Kind):
    """Boxes per item; stored and shown as a list of box dicts, one ``labels`` row a box."""

    name = "boxes"
    columns: ClassVar[list[str]] = ["label", "x0", "y0", "x1", "y1", "score", "box_source"]

    def empty(self) -> tuple[Box, ...]:
        return ()

    def encode(self, value: tuple[Box, ...]) -> Any:
        return [b.to_dict() for b in value]

    def decode(self, payload: Any) -> tuple[Box, ...]:
        return tuple(Box.from_dict(d) for d in payload or ())

    def cell(self, value: tuple[Box, ...]) -> Any:
        return [b.to_dict() for b in value]

    def stamp(self, value: tuple[Box, ...], source: str, score: float | None) -> tuple[Box, ...]:
        return tuple(
            b.replace(
                source=source if b.source == "human" else b.source,
                score=score if b.score is None else b.score,
            )
            for b in value
        )

    def merge(self, current: tuple[Box, ...], suggested: tuple[Box, ...]) -> tuple[Box, ...]:
        return tuple(current) + tuple(suggested)

    def rows(self, value: tuple[Box, ...]) -> list[dict[str, Any]]:
        return [
            {"label": b.label, "x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1,
             "score": b.score, "box_source": b.source}
            for b in value
        ]


def check_classes(classes: Iterable[str] | None, what: str) -> list[str]:
    """``classes`` as a list of strings; duplicates are refused."""
    out = [str(c) for c in (classes or [])]
    if len(set(out)) != len(out):
        raise InputError(f"{what} contain duplicates: {out}")
    return out


def normalize_boxes(
    value: Any, key: str, classes: list[str], size: Callable[[], tuple[int, int]]
) -> tuple[Box, ...]:
    """Boxes (or box dicts, or one box) validated: a known class each, clipped to the image
    (``size()`` -> (width, height), asked once and only when there is a box)."""
    if isinstance(value, Box):
        value = (value,)
    boxes = []
    wh = None
    for b in value or ():
        box = b if isinstance(b, Box) else Box.from_dict(b)
        if box.label not in classes:
            raise UnknownClassError(
                f"item {key!r}: class {box.label!r} is not one of {classes}; "
                "add it with session.add_class()"
            )
        if wh is None:
            wh = size()
        try:
            boxes.append(box.clip(*wh))
        except InvalidBoxError as e:
            raise InvalidBoxError(f"item {key!r}: {e}") from None
    return tuple(boxes)


def normalize_class(value: Any, key: str, classes: list[str]) -> str | None:
    """A class name validated against ``classes`` (``None`` clears)."""
    if value is None:
        return None
    value = str(value)
    if value not in classes:
        raise UnknownClassError(f"item {key!r}: class {value!r} is not one of {classes}")
    return value
