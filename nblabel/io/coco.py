"""COCO detection JSON: ``images``, ``annotations`` (``bbox`` = x, y, w, h) and ``categories``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nblabel.errors import InvalidBoxError
from nblabel.io._common import FormatError
from nblabel.shapes import Box

__all__ = ["read_coco", "write_coco"]


def write_coco(
    path: str | os.PathLike,
    images: Mapping[str, tuple[int, int]],
    boxes: Mapping[str, Sequence[Box]],
    classes: Sequence[str] | None = None,
) -> Path:
    """Write a COCO detection file.

    Parameters
    ----------
    path : path-like
        Output ``.json`` file.
    images : mapping
        ``file_name -> (width, height)`` of every image (images without boxes included).
    boxes : mapping
        ``file_name -> boxes``; a box's ``score`` is written as ``score`` when present.
    classes : sequence of str, optional
        Category order (ids 1..n); by default the sorted labels found in ``boxes``.
    """
    labels = (
        list(classes)
        if classes is not None
        else sorted({b.label for bs in boxes.values() for b in bs})
    )
    cat_id = {c: i + 1 for i, c in enumerate(labels)}
    out: dict[str, Any] = {
        "images": [],
        "annotations": [],
        "categories": [{"id": i, "name": c} for c, i in cat_id.items()],
    }
    ann_id = 1
    for img_id, (name, (w, h)) in enumerate(images.items(), start=1):
        out["images"].append({"id": img_id, "file_name": name, "width": int(w), "height": int(h)})
        for b in boxes.get(name, ()):
            if b.label not in cat_id:
                raise FormatError(f"box label {b.label!r} of {name} is not in classes {labels}")
            a = {
                "id": ann_id,
                "image_id": img_id,
                "category_id": cat_id[b.label],
                "bbox": [float(v) for v in b.xywh],
                "area": float(b.area),
                "iscrowd": 0,
            }
            if b.score is not None:
                a["score"] = float(b.score)
            out["annotations"].append(a)
            ann_id += 1
    p = Path(path)
    p.write_text(json.dumps(out, indent=1))
    return p


def _line_of(text: str, needle: str) -> int | None:
    pos = text.find(needle)
    return text.count("\n", 0, pos) + 1 if pos >= 0 else None


def read_coco(
    path: str | os.PathLike,
) -> tuple[dict[str, tuple[int, int]], dict[str, tuple[Box, ...]]]:
    """Read a COCO detection file.

    Returns
    -------
    images : dict
        ``file_name -> (width, height)``.
    boxes : dict
        ``file_name -> boxes`` (source ``"import"``, ``score`` kept when present).

    Raises
    ------
    FormatError
        On invalid JSON (with its line), missing keys, unknown image or category ids and
        empty boxes; the message names the file and the annotation.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise FormatError(f"cannot read COCO file {p}: {e}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"{p}, line {e.lineno}: invalid JSON ({e.msg})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{p}: top level must be an object with images/annotations/categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise FormatError(f"{p}: missing list {key!r} (a COCO detection file needs it)")
    try:
        cats = {c["id"]: str(c["name"]) for c in data["categories"]}
        imgs = {
            i["id"]: (str(i["file_name"]), int(i["width"]), int(i["height"]))
            for i in data["images"]
        }
    except (KeyError, TypeError, ValueError) as e:
        raise FormatError(f"{p}: an image or category entry misses or mangles {e}") from None
    images = {name: (w, h) for name, w, h in imgs.values()}
    boxes: dict[str, list[Box]] = {name: [] for name in images}
    for k, a in enumerate(data["annotations"]):
        where = f"{p}, annotation #{k} (id {a.get('id') if isinstance(a, dict) else '?'})"
        if isinstance(a, dict) and "id" in a:
            ln = _line_of(text, f'"id": {a["id"]},')
            if ln:
                where += f", line {ln}"
        try:
            name = imgs[a["image_id"]][0]
            label = cats[a["category_id"]]
            x, y, w, h = (float(v) for v in a["bbox"])
        except KeyError as e:
            raise FormatError(f"{where}: unknown or missing {e}") from None
        except (TypeError, ValueError):
            raise FormatError(f"{where}: bbox must be four numbers [x, y, w, h]") from None
        try:
            boxes[name].append(
                Box.from_xywh(x, y, w, h, label, score=a.get("score"), source="import")
            )
        except InvalidBoxError as e:
            raise FormatError(f"{where}: {e}") from None
    return images, {k: tuple(v) for k, v in boxes.items()}
