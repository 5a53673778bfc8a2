"""Labels as tables: JSON Lines (one object per item) and CSV (one row per box, tag or
class), for every kind of session.

JSONL: ``{"item": id, "image": path, "boxes" | "tags" | "label": value}``. CSV: columns
``item, image, label`` (plus ``x0, y0, x1, y1, score`` for boxes); an item labeled
"nothing" (no boxes, no tags) has one row with an empty ``label``.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nblabel.io._common import FormatError

__all__ = ["read_csv_labels", "read_jsonl_labels", "write_csv_labels", "write_jsonl_labels"]

BOX_FIELDS = ("x0", "y0", "x1", "y1", "score")
VALUE_FIELD = {"boxes": "boxes", "tags": "tags", "label": "label"}


def write_jsonl_labels(path: str | os.PathLike, kind: str,
                       rows: Iterable[tuple[str, str | None, Any]]) -> Path:
    """Write ``(item id, image name or None, encoded value)`` rows as JSON Lines."""
    p = Path(path)
    with p.open("w", encoding="utf-8") as f:
        for key, image, value in rows:
            obj: dict[str, Any] = {"item": key}
            if image is not None:
                obj["image"] = image
            obj[VALUE_FIELD[kind]] = value
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
    return p


def read_jsonl_labels(path: str | os.PathLike, kind: str) -> list[tuple[str, Any, int]]:
    """Read JSON Lines labels: ``(item id or image name, raw value, line)`` per line.

    Raises
    ------
    FormatError
        On invalid JSON or a line without the item and the value; names file and line.
    """
    p = Path(path)
    field = VALUE_FIELD[kind]
    out = []
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"cannot read JSON Lines file {p}: {e}") from None
    for i, ln in enumerate(lines, start=1):
        if not ln.strip():
            continue
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError as e:
            raise FormatError(f"{p}, line {i}: invalid JSON ({e.msg})") from None
        if not isinstance(obj, dict) or field not in obj or not (
            "item" in obj or "image" in obj
        ):
            raise FormatError(f"{p}, line {i}: expected an object with 'item' (or 'image') "
                              f"and {field!r}, got {ln.strip()[:80]!r}")
        name = obj.get("item", obj.get("image"))
        out.append((str(name), obj[field], i))
    return out


def write_csv_labels(path: str | os.PathLike, kind: str,
                     rows: Iterable[tuple[str, str | None, Any]]) -> Path:
    """Write labels as a long CSV table (one row per box, tag or class)."""
    p = Path(path)
    cols = ["item", "image", "label", *(BOX_FIELDS if kind == "boxes" else ())]
    with p.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for key, image, value in rows:
            base = [key, image or ""]
            if kind == "boxes":
                parts = [[b["label"], *(b.get(k) for k in BOX_FIELDS)] for b in value]
            elif kind == "tags":
                parts = [[t] for t in value]
            else:
                parts = [[value]]
            for part in parts or [[""] + [""] * (len(cols) - 3)]:
                w.writerow(base + ["" if v is None else v for v in part])
    return p


def read_csv_labels(path: str | os.PathLike, kind: str) -> list[tuple[str, Any, int]]:
    """Read a long CSV table: ``(item id or image name, raw value, first line)`` per item.

    Raises
    ------
    FormatError
        On a missing column, a box coordinate that is not a number, or a class row with
        two classes; names file and line.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(f"cannot read CSV file {p}: {e}") from None
    reader = csv.DictReader(text.splitlines())
    need = {"label", *(BOX_FIELDS[:4] if kind == "boxes" else ())}
    have = set(reader.fieldnames or ())
    if not need <= have or not have & {"item", "image"}:
        raise FormatError(f"{p}, line 1: the header needs item (or image), "
                          f"{', '.join(sorted(need))}; got {sorted(have)}")
    grouped: dict[str, tuple[list[Any], int]] = {}
    for i, row in enumerate(reader, start=2):
        name = row.get("item") or row.get("image")
        if not name:
            raise FormatError(f"{p}, line {i}: empty item and image")
        values, first = grouped.setdefault(name, ([], i))
        label = (row.get("label") or "").strip()
        if not label:
            continue
        if kind == "boxes":
            try:
                c = [float(row[k]) for k in BOX_FIELDS[:4]]
                s = float(row["score"]) if row.get("score") else None
            except (TypeError, ValueError):
                raise FormatError(f"{p}, line {i}: x0 y0 x1 y1 score must be numbers, got "
                                  f"{[row.get(k) for k in BOX_FIELDS]}") from None
            values.append({"label": label, "x0": c[0], "y0": c[1], "x1": c[2], "y1": c[3],
                           "score": s})
        elif kind == "label" and values:
            raise FormatError(f"{p}, line {i}: item {name!r} has a second class {label!r} "
                              f"(line {first} gave {values[0]!r}); a class session has one")
        else:
            values.append(label)
    out = []
    for name, (values, first) in grouped.items():
        value = values[0] if kind == "label" and values else (None if kind == "label"
                                                              else values)
        out.append((name, value, first))
    return out
