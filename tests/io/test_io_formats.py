"""Round trips and error messages of the VOC, COCO and YOLO readers/writers."""

from __future__ import annotations

import json

import pytest

from nblabel.io import (
    FormatError,
    read_coco,
    read_voc,
    read_voc_dir,
    read_yolo,
    read_yolo_classes,
    write_coco,
    write_voc,
    write_yolo,
    write_yolo_classes,
)
from nblabel.shapes import Box

BOXES = (Box("apple", 10, 20, 110, 220), Box("coin", 300, 40, 350, 90))


def _xyxy(bs):
    return [(b.label, *(round(v, 3) for v in b.xyxy)) for b in bs]


def test_voc_round_trip(tmp_path):
    p = write_voc(tmp_path / "a.xml", "a.jpg", 400, 300, BOXES)
    ann = read_voc(p)
    assert (ann.filename, ann.width, ann.height) == ("a.jpg", 400, 300)
    assert _xyxy(ann.boxes) == _xyxy(BOXES)
    assert all(b.source == "import" for b in ann.boxes)
    assert set(read_voc_dir(tmp_path)) == {"a"}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("<annotation>\n<size><width>3</width>\n</annotation>", "line 3: not well-formed"),
        ("<annotation><size><width>3</width><height>x</height></size></annotation>",
         "<height> must be a number"),
        ("<annotation>\n<size><width>9</width><height>9</height></size>\n<object>\n"
         "<name>a</name></object></annotation>", "line 3: <object> 'a' has no <bndbox>"),
        ("<annotation><size><width>9</width><height>9</height></size><object><name>a</name>"
         "\n\n<bndbox><xmin>5</xmin><ymin>1</ymin><xmax>2</xmax><ymax>3</ymax></bndbox>"
         "</object></annotation>", "line 3: invalid box"),
        ("<annotation><object/></annotation>", "missing <size>"),
    ],
)
def test_voc_errors_name_file_and_line(tmp_path, text, needle):
    p = tmp_path / "bad.xml"
    p.write_text(text)
    with pytest.raises(FormatError, match=r"bad\.xml") as e:
        read_voc(p)
    assert needle in str(e.value)


def test_voc_reads_ecustfd(shared_data):
    ann = read_voc(shared_data / "ecustfd" / "Annotations" / "apple001S(1).xml")
    assert {b.label for b in ann.boxes} == {"apple", "coin"}
    assert ann.width > 0 and ann.height > 0


def test_coco_round_trip(tmp_path):
    scored = (BOXES[0].replace(score=0.75, source="model"), BOXES[1])
    p = write_coco(tmp_path / "c.json", {"a.jpg": (400, 300), "b.jpg": (10, 10)},
                   {"a.jpg": scored})
    images, boxes = read_coco(p)
    assert images == {"a.jpg": (400, 300), "b.jpg": (10, 10)}
    assert _xyxy(boxes["a.jpg"]) == _xyxy(BOXES)
    assert boxes["a.jpg"][0].score == 0.75 and boxes["b.jpg"] == ()


def test_coco_errors(tmp_path):
    p = tmp_path / "c.json"
    p.write_text('{"images": [\n1,\n')
    with pytest.raises(FormatError, match=r"c\.json, line \d+: invalid JSON"):
        read_coco(p)
    p.write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(FormatError, match="missing list 'categories'"):
        read_coco(p)
    data = {"images": [{"id": 1, "file_name": "a", "width": 5, "height": 5}],
            "categories": [{"id": 1, "name": "x"}],
            "annotations": [{"id": 7, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}]}
    p.write_text(json.dumps(data, indent=1))
    with pytest.raises(FormatError, match=r"annotation #0 \(id 7\), line \d+: unknown"):
        read_coco(p)
    data["annotations"][0].update(image_id=1, bbox=[0, 0, 0, 1])
    p.write_text(json.dumps(data))
    with pytest.raises(FormatError, match="x0 < x1"):
        read_coco(p)


def test_yolo_round_trip(tmp_path):
    classes = ["apple", "coin"]
    write_yolo_classes(tmp_path / "classes.txt", classes)
    p = write_yolo(tmp_path / "a.txt", BOXES, 400, 300, classes)
    got = read_yolo(p, 400, 300, read_yolo_classes(tmp_path / "classes.txt"))
    assert [(b.label, *(round(v, 1) for v in b.xyxy)) for b in got] == [
        (b.label, *(round(v, 1) for v in b.xyxy)) for b in BOXES
    ]


@pytest.mark.parametrize(
    ("line", "needle"),
    [("0 0.5 0.5 0.2", "expected 'class cx cy w h'"), ("0 a 0.5 0.2 0.2", "must be numbers"),
     ("5 0.5 0.5 0.2 0.2", "class id 5 outside"), ("0 0.5 0.5 1.5 0.2", "normalised"),
     ("0 0.5 0.5 0 0.2", "x0 < x1")],
)
def test_yolo_errors_name_file_and_line(tmp_path, line, needle):
    p = tmp_path / "a.txt"
    p.write_text(f"0 0.5 0.5 0.2 0.2\n\n{line}\n")
    with pytest.raises(FormatError, match=r"a\.txt, line 3") as e:
        read_yolo(p, 100, 100, ["x", "y"])
    assert needle in str(e.value)
    (tmp_path / "c.txt").write_text("a\n\nb\n")
    with pytest.raises(FormatError, match=r"c\.txt, line 2"):
        read_yolo_classes(tmp_path / "c.txt")
