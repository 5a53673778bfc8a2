"""Label Studio JSON: a list of tasks, each with ``data`` (``image`` or ``text``),
``annotations`` and ``predictions``; each of those holds a ``result`` list of regions.

Rectangles (``rectanglelabels``) are in percent of the image (``x, y, width, height`` in
0..100 of the displayed, EXIF-rotated image, which is what nblabel's pixels refer to too);
tags and classes are ``choices``. Readers give percent; :func:`region_to_box` and
:func:`box_to_region` convert with the image size. Other result types (polygons, text
areas) are counted in :attr:`LSResult.ignored`, never silently mistaken for boxes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nblabel.errors import InvalidBoxError
from nblabel.io._common import FormatError
from nblabel.io.coco import _line_of
from nblabel.shapes import Box

__all__ = [
    "LSRegion",
    "LSResult",
    "LSTask",
    "box_to_region",
    "choices_result",
    "read_label_studio",
    "region_to_box",
    "write_label_studio",
]


@dataclass(frozen=True)
class LSRegion:
    """One rectangle of a Label Studio result, in percent of the image."""

    label: str
    x: float
    y: float
    width: float
    height: float
    score: float | None = None


@dataclass(frozen=True)
class LSResult:
    """One annotation or prediction of a task.

    Attributes
    ----------
    regions : tuple of LSRegion
        Rectangles (``rectanglelabels``; a region with several labels gives one each).
    choices : tuple of str
        Chosen classes/tags (``choices``).
    score : float, optional
        The prediction's score (annotations: ``None``).
    origin : str
        ``model_version`` of a prediction, ``completed_by`` of an annotation.
    ignored : tuple of str
        Result types nblabel does not read (e.g. ``polygonlabels``).
    """

    regions: tuple[LSRegion, ...] = ()
    choices: tuple[str, ...] = ()
    score: float | None = None
    origin: str = ""
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class LSTask:
    """One Label Studio task."""

    id: Any
    data: dict[str, Any]
    annotations: tuple[LSResult, ...] = ()
    predictions: tuple[LSResult, ...] = ()
    line: int | None = field(default=None, compare=False)


def _num(v: Any, where: str, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise FormatError(f"{where}: value.{name} must be a number, got {v!r}")
    return float(v)


def _score(v: Any, where: str) -> float | None:
    if v is None:
        return None
    s = _num(v, where, "score")
    if not 0.0 <= s <= 1.0:
        raise FormatError(f"{where}: score must be in [0, 1], got {s}")
    return s


def _result(entry: Any, where: str, prediction: bool) -> LSResult:
    if not isinstance(entry, dict) or not isinstance(entry.get("result", []), list):
        raise FormatError(f"{where}: must be an object with a 'result' list")
    regions: list[LSRegion] = []
    choices: list[str] = []
    ignored: list[str] = []
    for j, r in enumerate(entry.get("result", [])):
        rw = f"{where}, result #{j}"
        if not isinstance(r, dict) or not isinstance(r.get("value"), dict):
            raise FormatError(f"{rw}: a region needs 'type' and a 'value' object")
        kind, value = r.get("type"), r["value"]
        if kind == "rectanglelabels" or (kind is None and "rectanglelabels" in value):
            if float(value.get("rotation", 0) or 0) != 0:
                raise FormatError(
                    f"{rw}: rotated rectangle ({value['rotation']} degrees); nblabel boxes are "
                    "axis-aligned: straighten it in Label Studio or drop the region"
                )
            labels = value.get("rectanglelabels")
            if not isinstance(labels, list) or not labels or not all(
                isinstance(x, str) and x for x in labels
            ):
                raise FormatError(f"{rw}: value.rectanglelabels must be a non-empty list of "
                                  f"class names, got {labels!r}")
            x, y, w, h = (_num(value.get(k), rw, k) for k in ("x", "y", "width", "height"))
            s = _score(r.get("score"), rw)
            regions.extend(LSRegion(lab, x, y, w, h, s) for lab in labels)
        elif kind == "choices" or (kind is None and "choices" in value):
            got = value.get("choices")
            if not isinstance(got, list) or not all(isinstance(x, str) for x in got):
                raise FormatError(f"{rw}: value.choices must be a list of strings, got {got!r}")
            choices.extend(got)
        else:
            ignored.append(str(kind))
    origin = entry.get("model_version") if prediction else entry.get("completed_by")
    if isinstance(origin, dict):  # exports may inline the user
        origin = origin.get("email") or origin.get("id")
    return LSResult(
        tuple(regions), tuple(choices), _score(entry.get("score"), where) if prediction
        else None, "" if origin is None else str(origin), tuple(ignored),
    )


def read_label_studio(path: str | os.PathLike) -> list[LSTask]:
    """Read a Label Studio JSON export (a list of tasks, or one task).

    Cancelled annotations (``was_cancelled``) are left out.

    Raises
    ------
    FormatError
        On invalid JSON (with its line), a task without ``data``, a malformed region
        (missing numbers, empty label list, a rotated rectangle, a score outside [0, 1]);
        the message names the file, the task and its line.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"cannot read Label Studio file {p}: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"{p}, line {e.lineno}: invalid JSON ({e.msg})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise FormatError(f"{p}: top level must be a list of tasks (Label Studio JSON export)")
    tasks = []
    for k, t in enumerate(data):
        tid = t.get("id") if isinstance(t, dict) else None
        line = _line_of(text, f'"id": {json.dumps(tid)}') if tid is not None else None
        where = f"{p}, task #{k}" + (f" (id {tid})" if tid is not None else "") + (
            f", line {line}" if line else "")
        if not isinstance(t, dict) or not isinstance(t.get("data"), dict):
            raise FormatError(f"{where}: a task needs a 'data' object (e.g. "
                              '{"data": {"image": "..."}})')
        for key in ("annotations", "predictions"):
            if not isinstance(t.get(key, []), list):
                raise FormatError(f"{where}: {key!r} must be a list")
        anns = tuple(
            _result(a, f"{where}, annotation #{i}", False)
            for i, a in enumerate(t.get("annotations", []))
            if not (isinstance(a, dict) and a.get("was_cancelled"))
        )
        preds = tuple(_result(a, f"{where}, prediction #{i}", True)
                      for i, a in enumerate(t.get("predictions", [])))
        tasks.append(LSTask(tid, dict(t["data"]), anns, preds, line))
    return tasks


def region_to_box(r: LSRegion, width: int, height: int, *, source: str = "import") -> Box:
    """A Label Studio rectangle (percent) as a box in pixels of a ``width`` x ``height``
    image."""
    return Box(r.label, r.x / 100 * width, r.y / 100 * height, (r.x + r.width) / 100 * width,
               (r.y + r.height) / 100 * height, r.score, source)


def box_to_region(b: Box, width: int, height: int, *, from_name: str = "label",
                  to_name: str = "image", rid: str = "") -> dict[str, Any]:
    """A box as a Label Studio ``rectanglelabels`` result (percent of the image)."""
    out: dict[str, Any] = {
        "id": rid, "type": "rectanglelabels", "from_name": from_name, "to_name": to_name,
        "original_width": int(width), "original_height": int(height), "image_rotation": 0,
        "value": {"x": b.x0 / width * 100, "y": b.y0 / height * 100,
                  "width": b.width / width * 100, "height": b.height / height * 100,
                  "rotation": 0, "rectanglelabels": [b.label]},
    }
    if b.score is not None:
        out["score"] = float(b.score)
    return out


def choices_result(choices: Iterable[str], *, from_name: str = "choice",
                   to_name: str = "text", rid: str = "") -> dict[str, Any]:
    """Chosen tags/classes as a Label Studio ``choices`` result."""
    return {"id": rid, "type": "choices", "from_name": from_name, "to_name": to_name,
            "value": {"choices": sorted(choices)}}


def write_label_studio(path: str | os.PathLike, tasks: Sequence[dict[str, Any]]) -> Path:
    """Write tasks (dicts with ``data``, ``annotations``, ``predictions``) as a Label Studio
    JSON import file."""
    p = Path(path)
    p.write_text(json.dumps(list(tasks), indent=1))
    return p


def check_box(r: LSRegion, width: int, height: int, where: str) -> Box:
    """:func:`region_to_box`, with an invalid region reported as a :class:`FormatError`."""
    try:
        return region_to_box(r, width, height)
    except InvalidBoxError as e:
        raise FormatError(f"{where}: {e}") from None
