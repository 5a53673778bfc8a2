"""Pascal VOC XML: one file per image with ``<size>`` and ``<object><bndbox>`` elements.

Errors name the file and, where the XML parser knows it, the line.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from nblabel.errors import InvalidBoxError
from nblabel.io._common import FormatError
from nblabel.shapes import Box

__all__ = ["VocAnnotation", "read_voc", "read_voc_dir", "write_voc"]


@dataclass(frozen=True)
class VocAnnotation:
    """The content of one VOC file: image name, size and boxes."""

    filename: str
    width: int
    height: int
    boxes: tuple[Box, ...]


def _line(el: ET.Element) -> str:
    n = el.get("_line")
    return f", line {n}" if n else ""


def _parse(path: Path) -> ET.Element:
    """Parse XML with expat, recording each element's line in a ``_line`` attribute."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FormatError(f"cannot read VOC file {path}: {e}") from None
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(tag, {**attrs, "_line": str(parser.CurrentLineNumber)})

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise FormatError(f"{path}, line {e.lineno}: not well-formed XML ({e})") from None
    return builder.close()


def _num(parent: ET.Element, tag: str, path: Path) -> float:
    el = parent.find(tag)
    if el is None or el.text is None:
        raise FormatError(f"{path}{_line(parent)}: <{parent.tag}> has no <{tag}> value")
    try:
        return float(el.text.strip())
    except ValueError:
        raise FormatError(
            f"{path}{_line(el)}: <{tag}> must be a number, got {el.text.strip()!r}"
        ) from None


def read_voc(path: str | os.PathLike) -> VocAnnotation:
    """Read one Pascal VOC XML file.

    VOC pixel coordinates are 1-based inclusive in the original tools; like most modern
    readers we take ``xmin..xmax`` as the box edges unchanged.

    Raises
    ------
    FormatError
        If the file is not XML, misses ``<size>``/``<bndbox>`` values or has an empty box;
        the message names the file and line.
    """
    p = Path(path)
    root = _parse(p)
    if root.tag != "annotation":
        raise FormatError(f"{p}{_line(root)}: root element must be <annotation>, got <{root.tag}>")
    fn = root.findtext("filename") or (p.stem + ".jpg")
    size = root.find("size")
    if size is None:
        raise FormatError(f"{p}: missing <size> element (width/height of the image)")
    w, h = int(_num(size, "width", p)), int(_num(size, "height", p))
    boxes = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise FormatError(f"{p}{_line(obj)}: <object> has no <name>")
        bb = obj.find("bndbox")
        if bb is None:
            raise FormatError(f"{p}{_line(obj)}: <object> {name!r} has no <bndbox>")
        c = [_num(bb, t, p) for t in ("xmin", "ymin", "xmax", "ymax")]
        try:
            boxes.append(Box(name, *c, source="import"))
        except InvalidBoxError as e:
            raise FormatError(f"{p}{_line(bb)}: invalid box for {name!r}: {e}") from None
    return VocAnnotation(fn, w, h, tuple(boxes))


def read_voc_dir(directory: str | os.PathLike) -> dict[str, VocAnnotation]:
    """Read every ``*.xml`` file of a directory, keyed by the file's stem."""
    d = Path(directory)
    if not d.is_dir():
        raise FormatError(f"VOC annotation directory not found: {d}")
    return {p.stem: read_voc(p) for p in sorted(d.glob("*.xml"))}


def write_voc(
    path: str | os.PathLike, filename: str, width: int, height: int, boxes: Iterable[Box]
) -> Path:
    """Write one Pascal VOC XML file (coordinates rounded to whole pixels)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "filename").text = filename
    size = ET.SubElement(root, "size")
    for tag, v in (("width", width), ("height", height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(int(v))
    for b in boxes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = b.label
        ET.SubElement(obj, "difficult").text = "0"
        bb = ET.SubElement(obj, "bndbox")
        for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), b.xyxy):
            ET.SubElement(bb, tag).text = str(round(v))
    ET.indent(root)
    p = Path(path)
    ET.ElementTree(root).write(p, encoding="utf-8", xml_declaration=False)
    return p
