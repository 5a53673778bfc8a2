"""Label values: boxes, tag sets and single classes as small frozen dataclasses.

Coordinates are always image pixels of the (EXIF-rotated) image: ``x0, y0`` the top-left
corner, ``x1, y1`` the bottom-right corner, ``x0 < x1`` and ``y0 < y1``. Every shape has a
``to_dict``/``from_dict`` round trip that never mutates its input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nblabel.errors import InvalidBoxError

__all__ = ["SOURCES", "Box", "ClassLabel", "TagSet", "boxes_from_dicts", "boxes_to_dicts"]

#: Where a label came from.
SOURCES = ("human", "tracker", "model", "rule", "import")


def _check_source(source: str) -> str:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; use one of {', '.join(SOURCES)}")
    return source


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in image pixels with a class.

    Parameters
    ----------
    label : str
        The box's class.
    x0, y0, x1, y1 : float
        Corners in image pixels, ``x0 < x1`` and ``y0 < y1``.
    score : float, optional
        Confidence in [0, 1] of a machine-made box; ``None`` for a human box.
    source : str
        One of :data:`SOURCES`.

    Raises
    ------
    InvalidBoxError
        If a coordinate is not finite or the box has no area. Use :meth:`from_corners` to
        build a box from two corners given in any order.
    """

    label: str
    x0: float
    y0: float
    x1: float
    y1: float
    score: float | None = None
    source: str = "human"

    def __post_init__(self) -> None:
        coords = (self.x0, self.y0, self.x1, self.y1)
        if not all(isinstance(c, (int, float)) and math.isfinite(c) for c in coords):
            raise InvalidBoxError(f"box coordinates must be finite numbers, got {coords}")
        if not (self.x0 < self.x1 and self.y0 < self.y1):
            raise InvalidBoxError(
                f"box needs x0 < x1 and y0 < y1, got {coords}; "
                "use Box.from_corners() for corners in any order"
            )
        if not isinstance(self.label, str) or not self.label:
            raise InvalidBoxError(f"box label must be a non-empty string, got {self.label!r}")
        if self.score is not None and not (0.0 <= float(self.score) <= 1.0):
            raise InvalidBoxError(f"box score must be in [0, 1], got {self.score}")
        _check_source(self.source)

    @classmethod
    def from_corners(
        cls,
        xa: float,
        ya: float,
        xb: float,
        yb: float,
        label: str,
        *,
        score: float | None = None,
        source: str = "human",
    ) -> Box:
        """Build a box from two opposite corners given in any order."""
        return cls(label, min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb), score, source)

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float, label: str, **kw: Any) -> Box:
        """Build a box from its top-left corner, width and height."""
        return cls(label, x, y, x + w, y + h, **kw)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.width, self.height)

    @property
    def xyxy(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)

    def replace(self, **changes: Any) -> Box:
        """Return a copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def clip(self, width: float, height: float) -> Box:
        """Return the part of the box inside a ``width`` x ``height`` image.

        Raises
        ------
        InvalidBoxError
            If nothing of the box lies inside the image.
        """
        x0, y0 = max(0.0, self.x0), max(0.0, self.y0)
        x1, y1 = min(float(width), self.x1), min(float(height), self.y1)
        if not (x0 < x1 and y0 < y1):
            raise InvalidBoxError(
                f"box {self.xyxy} lies entirely outside the {width}x{height} image"
            )
        if (x0, y0, x1, y1) == self.xyxy:
            return self
        return replace(self, x0=x0, y0=y0, x1=x1, y1=y1)

    def iou(self, other: Box) -> float:
        """Intersection over union with another box (classes ignored)."""
        ix = max(0.0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0.0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-safe dict, the form stored in the log and the DataFrame."""
        return {
            "label": self.label,
            "x0": float(self.x0),
            "y0": float(self.y0),
            "x1": float(self.x1),
            "y1": float(self.y1),
            "score": None if self.score is None else float(self.score),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Box:
        """Inverse of :meth:`to_dict`; extra keys are ignored, the input is not changed."""
        try:
            return cls(
                str(d["label"]),
                float(d["x0"]),
                float(d["y0"]),
                float(d["x1"]),
                float(d["y1"]),
                None if d.get("score") is None else float(d["score"]),
                str(d.get("source", "human")),
            )
        except KeyError as e:
            raise InvalidBoxError(f"box dict misses key {e.args[0]!r}: {dict(d)!r}") from None


def boxes_to_dicts(boxes: Iterable[Box]) -> list[dict[str, Any]]:
    """List of :meth:`Box.to_dict` dicts."""
    return [b.to_dict() for b in boxes]


def boxes_from_dicts(items: Iterable[Mapping[str, Any]] | None) -> tuple[Box, ...]:
    """Tuple of boxes from dicts (``None`` gives an empty tuple)."""
    return tuple(Box.from_dict(d) for d in (items or ()))


@dataclass(frozen=True, slots=True)
class TagSet:
    """A set of tags on one item (multi-label), kept sorted for stable output."""

    tags: frozenset[str] = field(default_factory=frozenset)
    source: str = "human"

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", frozenset(self.tags))
        _check_source(self.source)

    def to_dict(self) -> dict[str, Any]:
        return {"tags": sorted(self.tags), "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TagSet:
        return cls(frozenset(d.get("tags", ())), str(d.get("source", "human")))


@dataclass(frozen=True, slots=True)
class ClassLabel:
    """A single class on one item, with an optional confidence."""

    label: str
    score: float | None = None
    source: str = "human"

    def __post_init__(self) -> None:
        _check_source(self.source)

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": self.score, "source": self.source}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClassLabel:
        return cls(str(d["label"]), d.get("score"), str(d.get("source", "human")))
