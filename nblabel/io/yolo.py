"""YOLO txt: one file per image, one line ``class_id cx cy w h`` (normalised to [0, 1]),
plus a ``classes.txt`` with one class name per line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from nblabel.errors import InvalidBoxError
from nblabel.io._common import FormatError
from nblabel.shapes import Box

__all__ = ["read_yolo", "read_yolo_classes", "write_yolo", "write_yolo_classes"]


def write_yolo_classes(path: str | os.PathLike, classes: Sequence[str]) -> Path:
    """Write ``classes.txt`` (line ``i`` is class id ``i``)."""
    p = Path(path)
    p.write_text("".join(f"{c}\n" for c in classes))
    return p


def read_yolo_classes(path: str | os.PathLike) -> list[str]:
    """Read ``classes.txt``; blank lines are errors because they would shift the ids."""
    p = Path(path)
    try:
        lines = p.read_text().splitlines()
    except OSError as e:
        raise FormatError(f"cannot read YOLO class list {p}: {e}") from None
    for i, ln in enumerate(lines, start=1):
        if not ln.strip():
            raise FormatError(f"{p}, line {i}: empty class name (would shift the class ids)")
    return [ln.strip() for ln in lines]


def write_yolo(
    path: str | os.PathLike,
    boxes: Sequence[Box],
    width: int,
    height: int,
    classes: Sequence[str],
) -> Path:
    """Write one image's boxes as a YOLO txt file."""
    ids = {c: i for i, c in enumerate(classes)}
    rows = []
    for b in boxes:
        if b.label not in ids:
            raise FormatError(f"box label {b.label!r} is not in classes {list(classes)}")
        cx, cy = (b.x0 + b.x1) / 2 / width, (b.y0 + b.y1) / 2 / height
        rows.append(
            f"{ids[b.label]} {cx:.6f} {cy:.6f} {b.width / width:.6f} {b.height / height:.6f}\n"
        )
    p = Path(path)
    p.write_text("".join(rows))
    return p


def read_yolo(
    path: str | os.PathLike, width: int, height: int, classes: Sequence[str]
) -> tuple[Box, ...]:
    """Read one YOLO txt file into boxes in pixels of a ``width`` x ``height`` image.

    Raises
    ------
    FormatError
        Naming the file and line, on a wrong number of fields, non-numbers, a class id
        outside ``classes``, values outside [0, 1] or an empty box.
    """
    p = Path(path)
    try:
        lines = p.read_text().splitlines()
    except OSError as e:
        raise FormatError(f"cannot read YOLO file {p}: {e}") from None
    out = []
    for i, ln in enumerate(lines, start=1):
        parts = ln.split()
        if not parts:
            continue
        where = f"{p}, line {i}"
        if len(parts) not in (5, 6):
            raise FormatError(f"{where}: expected 'class cx cy w h', got {len(parts)} fields")
        try:
            cid = int(parts[0])
            cx, cy, w, h = (float(v) for v in parts[1:5])
            score = float(parts[5]) if len(parts) == 6 else None
        except ValueError:
            raise FormatError(f"{where}: fields must be numbers, got {ln.strip()!r}") from None
        if not 0 <= cid < len(classes):
            raise FormatError(f"{where}: class id {cid} outside 0..{len(classes) - 1}")
        if not all(0.0 <= v <= 1.0 for v in (cx, cy, w, h)):
            raise FormatError(f"{where}: cx cy w h must be normalised to [0, 1], got {parts[1:5]}")
        try:
            out.append(
                Box(
                    classes[cid],
                    (cx - w / 2) * width,
                    (cy - h / 2) * height,
                    (cx + w / 2) * width,
                    (cy + h / 2) * height,
                    score,
                    "import",
                )
            )
        except InvalidBoxError as e:
            raise FormatError(f"{where}: {e}") from None
    return tuple(out)
