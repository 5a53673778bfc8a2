"""Session-level import/export: round trips through a session for every format, row
matching, EXIF-rotated sizes, undo, and pycocotools / Label Studio payloads as oracles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from nblabel.errors import InputError, UnknownClassError
from nblabel.io import FormatError
from nblabel.session import BoxSession, ClassSession, TagSession
from nblabel.shapes import Box
from tests.helpers import image_frame

FIXTURES = Path(__file__).parents[1] / "fixtures" / "labelstudio"
CLASSES = ["apple", "coin"]
BOX_FORMATS = ["coco", "voc", "yolo", "label-studio", "csv", "jsonl"]
TEXT_FORMATS = ["csv", "jsonl", "label-studio"]
# VOC writes whole pixels, YOLO six decimals of the image size; the others are exact
TOLERANCE = {"yolo": 1e-3 * 100, "label-studio": 1e-9}


def _target(fmt: str, tmp: Path) -> Path:
    return tmp / f"out-{fmt}" if fmt in ("voc", "yolo") else tmp / f"out.{fmt}"


def _geometry(boxes) -> list:
    return sorted((b.label, *b.xyxy) for b in boxes)


def _same(a, b, tol: float) -> bool:
    ga, gb = _geometry(a), _geometry(b)
    return len(ga) == len(gb) and all(
        x[0] == y[0] and all(abs(u - v) <= tol for u, v in zip(x[1:], y[1:]))
        for x, y in zip(ga, gb))


def _box_session(tmp: Path, **kw) -> BoxSession:
    df = image_frame(tmp, n=5, size=(100, 80))
    return BoxSession(df, image="path", classes=CLASSES, **kw)


def _labeled_box_session(tmp: Path) -> BoxSession:
    s = _box_session(tmp)
    s.set_boxes([Box("apple", 1, 2, 30, 40), Box("coin", 10, 10, 50, 60)], "a0")
    s.set_boxes([Box("coin", 60, 20, 99, 79)], "a2")
    s.submit("a3")  # "no boxes" is a label too
    return s


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_box_labels_round_trip_through_a_session(fmt, tmp_path):
    s = _labeled_box_session(tmp_path)
    out = s.export(_target(fmt, tmp_path), format=fmt)
    back = _box_session(tmp_path)
    report = back.import_labels(out, format=fmt, as_="labels")
    assert not report.unmatched and not report.ambiguous
    for key in s.items.keys:
        assert back.is_labeled(key) == s.is_labeled(key), key
        assert _same(back.value(key), s.value(key), TOLERANCE.get(fmt, 0.0)), key
    # the DataFrame shows the imported labels; every one is an event of source "import"
    assert [len(v) if isinstance(v, list) else None for v in back.df["boxes"]] == \
        [2, None, 1, 0, None]
    events = [e for e in back.store.events(back.task) if e.action == "label"]
    assert len(events) == 3 and {e.source for e in events} == {"import"}


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
@pytest.mark.parametrize("kind", ["tags", "class"])
def test_tags_and_classes_round_trip(kind, fmt, tmp_path):
    df = pd.DataFrame({"text": ["one, two", 'say "hi"', "three"]}, index=["t0", "t1", "t2"])

    def make():
        if kind == "tags":
            return TagSession(df.copy(), text="text", tags=["p", "q;r", "s"])
        return ClassSession(df.copy(), text="text", classes=["p", "q;r"])

    s = make()
    if kind == "tags":
        s.set_tags(["p", "q;r"], "t0")
        s.submit("t1")  # no tags
    else:
        s.set_label("q;r", "t1")
    out = s.export(tmp_path / f"labels.{fmt}", format=fmt)
    back = make()
    back.import_labels(out, format=fmt, as_="labels")
    assert [back.value(k) for k in df.index] == [s.value(k) for k in df.index]
    assert [back.is_labeled(k) for k in df.index] == [s.is_labeled(k) for k in df.index]


def test_label_studio_suggestions_become_predictions_with_their_score(tmp_path):
    s = _labeled_box_session(tmp_path)
    s.suggest("a1", [Box("apple", 5, 5, 20, 30, score=0.8)], source="model", score=0.8)
    out = s.export(tmp_path / "ls.json", format="label-studio")
    tasks = json.loads(out.read_text())
    assert len(tasks) == 5  # every row is a task
    t1 = next(t for t in tasks if t["data"]["nblabel_id"] == "a1")
    assert t1["annotations"] == [] and t1["predictions"][0]["score"] == 0.8
    region = t1["predictions"][0]["result"][0]
    assert region["type"] == "rectanglelabels" and region["original_width"] == 100
    assert region["value"]["x"] == pytest.approx(5.0) and region["value"]["y"] == \
        pytest.approx(5 / 80 * 100)
    back = _box_session(tmp_path)
    report = back.import_labels(out, format="label-studio", source="model")
    sug = back.suggestions("a1")
    assert len(sug) == 1 and sug[0].score == 0.8 and sug[0].source == "model"
    assert _same(sug[0].value, s.suggestions("a1")[0].value, 1e-9)
    # the annotations come as suggestions too (a3, "no boxes", gives none)
    assert not back.is_labeled("a1") and len(report.events) == 3


def test_rows_match_by_file_name_and_unmatched_names_are_reported(tmp_path, caplog):
    s = _labeled_box_session(tmp_path)
    out = s.export(tmp_path / "c.json", format="coco")
    data = json.loads(out.read_text())
    data["images"][0]["file_name"] = "elsewhere/" + Path(data["images"][0]["file_name"]).name
    data["images"].append({"id": 99, "file_name": "not-here.png", "width": 5, "height": 5})
    out.write_text(json.dumps(data))
    back = _box_session(tmp_path)
    report = back.import_labels(out, format="coco", as_="labels")
    assert report.matched["elsewhere/im0.png"] == "a0"
    assert report.unmatched == ["not-here.png"]
    assert "not-here.png" in caplog.text
    assert len(back.value("a0")) == 2


def test_a_file_name_two_rows_share_is_never_guessed(tmp_path):
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        Image.new("RGB", (40, 30)).save(tmp_path / d / "same.png")
    df = pd.DataFrame({"path": [str(tmp_path / "x" / "same.png"),
                                str(tmp_path / "y" / "same.png")]})
    s = BoxSession(df, image="path", classes=CLASSES)
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"images": [{"id": 1, "file_name": "same.png", "width": 40,
                                         "height": 30}],
                             "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                                              "bbox": [1, 1, 5, 5]}],
                             "categories": [{"id": 1, "name": "coin"}]}))
    report = s.import_labels(f, format="coco", as_="labels")
    assert report.ambiguous == ["same.png"] and not report.events
    assert df["boxes"].isna().all()


def test_boxes_are_in_pixels_of_the_exif_rotated_image(tmp_path):
    p = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 60x20, shown 20x60
    Image.new("RGB", (60, 20)).save(p, exif=exif.tobytes())
    s = BoxSession(pd.DataFrame({"path": [str(p)]}), image="path", classes=CLASSES)
    s.set_boxes([Box("coin", 2, 30, 18, 58)], 0)
    coco = json.loads(s.export(tmp_path / "c.json", format="coco").read_text())
    assert (coco["images"][0]["width"], coco["images"][0]["height"]) == (20, 60)
    ls = json.loads(s.export(tmp_path / "ls.json", format="label-studio").read_text())
    v = ls[0]["annotations"][0]["result"][0]["value"]
    assert (v["x"], v["y"], v["width"], v["height"]) == pytest.approx((10, 50, 80, 100 * 28 / 60))
    yolo = s.export(tmp_path / "y", format="yolo")
    assert (yolo / "labels" / "rot.txt").read_text().split()[1:] == \
        ["0.500000", "0.733333", "0.800000", "0.466667"]


def test_import_is_undoable_and_keeps_existing_labels(tmp_path):
    s = _labeled_box_session(tmp_path)
    out = s.export(tmp_path / "c.json", format="coco")
    back = _box_session(tmp_path)
    mine = (Box("apple", 3, 3, 9, 9),)
    back.set_boxes(mine, "a2")
    report = back.import_labels(out, format="coco", as_="labels")
    assert report.kept == ["a2"] and back.value("a2") == mine  # not overwritten
    assert back.undo() == "a3"  # one item back: the last imported
    assert not back.is_labeled("a3") and back.is_labeled("a0")
    assert report.undo() == 1  # the rest of the import
    assert not back.is_labeled("a0") and back.value("a2") == mine
    assert back.df["boxes"].tolist()[0] is None
    again = back.import_labels(out, format="coco", as_="labels", overwrite=True)
    assert _same(back.value("a2"), s.value("a2"), 0) and "a2" in again.matched.values()


def test_imported_suggestions_are_rejected_by_report_undo(tmp_path):
    s = _labeled_box_session(tmp_path)
    out = s.export(tmp_path / "c.json", format="coco")
    back = _box_session(tmp_path)
    report = back.import_labels(out, format="coco", source="model")
    assert [len(back.suggestions(k)) for k in back.items.keys] == [1, 0, 1, 0, 0]
    back.accept(0, "a0")
    assert report.undo() == 1  # the pending one; the accepted one is a label now
    assert back.suggestions("a2") == [] and len(back.value("a0")) == 2


def test_bad_values_change_nothing(tmp_path):
    s = _labeled_box_session(tmp_path)
    out = s.export(tmp_path / "c.json", format="coco")
    back = BoxSession(image_frame(tmp_path, n=5), image="path", classes=["apple"])
    with pytest.raises(UnknownClassError, match=r"c\.json.*'coin'"):
        back.import_labels(out, format="coco", as_="labels")
    assert list(back.store.events()) == []
    with pytest.raises(InputError, match="format 'coco' is not available"):
        TagSession(pd.DataFrame({"t": ["a"]}), text="t", tags=["x"]).export(
            tmp_path / "x.json", format="coco")
    with pytest.raises(InputError, match="source"):
        back.import_labels(out, format="coco", source="human")


def test_label_studio_documented_task_format(tmp_path):
    d = tmp_path / "img"
    d.mkdir()
    Image.new("RGB", (500, 400)).save(d / "1.jpg")
    df = pd.DataFrame({"path": [str(d / "1.jpg")]}, index=["one"])
    s = BoxSession(df, image="path", classes=["Moonwalker"])
    r = s.import_labels(FIXTURES / "task_format.json", format="label-studio", as_="labels")
    assert r.matched == {"https://example.com/opensource/label-studio/1.jpg": "one"}
    (b,) = s.value("one")
    assert (b.label, b.x0, b.y0) == ("Moonwalker", pytest.approx(254.0),
                                     pytest.approx(0.05869797225186766 * 400))
    assert b.width == pytest.approx(62.0) and b.height == pytest.approx(
        0.10458911419423693 * 400)
    s.import_labels(FIXTURES / "task_format.json", format="label-studio", source="model")
    (sug,) = s.suggestions("one")
    assert sug.value[0].y0 == pytest.approx(0.34702495201535505 * 400)  # "model 1"


def test_label_studio_documented_text_predictions():
    df = pd.DataFrame({"text": ["Hello my name is Anna and I like cats", "other"]})
    s = ClassSession(df, text="text", classes=["Positive", "Negative"])
    r = s.import_labels(FIXTURES / "text_predictions.json", format="label-studio",
                        source="model")
    assert r.matched == {"Hello my name is Anna and I like cats": "0"}
    (sug,) = s.suggestions(0)
    assert (sug.value, sug.score) == ("Positive", 0.9)
    # the only annotation is cancelled: nothing to import as labels
    r = s.import_labels(FIXTURES / "text_predictions.json", format="label-studio",
                        as_="labels")
    assert not r.events and not s.is_labeled(0)


def test_label_studio_upload_names_match_by_file_name(tmp_path):
    s = _labeled_box_session(tmp_path)
    tasks = json.loads(s.export(tmp_path / "ls.json", format="label-studio").read_text())
    for t in tasks:
        del t["data"]["nblabel_id"]
        t["data"]["image"] = "/data/upload/3/1a2b3c4d-" + Path(t["data"]["image"]).name
    (tmp_path / "ls2.json").write_text(json.dumps(tasks))
    back = _box_session(tmp_path)
    back.import_labels(tmp_path / "ls2.json", format="label-studio", as_="labels")
    assert _same(back.value("a0"), s.value("a0"), 1e-9)


# -- pycocotools as an independent reader -----------------------------------------------------
def test_coco_export_loads_in_pycocotools_and_scores_ap_1_against_itself(tmp_path, capsys):
    coco_mod = pytest.importorskip("pycocotools.coco")
    from pycocotools.cocoeval import COCOeval

    s = _box_session(tmp_path)
    s.set_boxes([Box("apple", 1, 2, 40, 50), Box("coin", 50, 10, 90, 45)], "a0")
    s.set_boxes([Box("coin", 60, 20, 99, 79)], "a1")
    s.set_boxes([Box("apple", 5, 5, 70, 70), Box("apple", 72, 40, 99, 79)], "a4")
    out = s.export(tmp_path / "gt.json", format="coco")
    gt = coco_mod.COCO(str(out))
    assert len(gt.getImgIds()) == 3 and len(gt.getAnnIds()) == 5
    assert [c["name"] for c in gt.loadCats(gt.getCatIds())] == CLASSES
    dets = [{**a, "score": 1.0} for a in gt.loadAnns(gt.getAnnIds())]
    ev = COCOeval(gt, gt.loadRes(dets), "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)  # AP@[.5:.95]
    assert ev.stats[1] == pytest.approx(1.0)  # AP@.5
    # one box moved: the export is not trivially scored 1.0
    moved = [dict(d) for d in dets]
    moved[0]["bbox"] = [d + 20 for d in moved[0]["bbox"][:2]] + moved[0]["bbox"][2:]
    ev2 = COCOeval(gt, gt.loadRes(moved), "bbox")
    ev2.evaluate()
    ev2.accumulate()
    ev2.summarize()
    assert ev2.stats[0] < 1.0
    capsys.readouterr()


def test_exports_refuse_two_rows_with_one_file_name(tmp_path):
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        Image.new("RGB", (40, 30)).save(tmp_path / d / "same.png")
    df = pd.DataFrame({"path": [str(tmp_path / d / "same.png") for d in ("x", "y")]})
    s = BoxSession(df, image="path", classes=CLASSES)
    s.set_boxes([Box("coin", 1, 1, 5, 5)], 0)
    s.set_boxes([Box("coin", 1, 1, 5, 5)], 1)
    with pytest.raises(InputError, match="same"):
        s.export(tmp_path / "voc", format="voc")
    shutil.rmtree(tmp_path / "voc", ignore_errors=True)
    assert s.export(tmp_path / "c.json", format="coco").exists()  # full paths differ


def test_malformed_label_studio_names_file_task_and_line(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps([{"id": 7, "data": {"image": "a.png"}, "annotations": [
        {"result": [{"type": "rectanglelabels", "value": {"x": 1, "y": 2, "width": "w",
                                                          "height": 3,
                                                          "rectanglelabels": ["c"]}}]}]}],
        indent=1))
    s = _box_session(tmp_path)
    with pytest.raises(FormatError, match=r"bad\.json, task #0 \(id 7\), line 3"):
        s.import_labels(p, format="label-studio")


def test_rows_appended_before_an_import_are_matched(tmp_path):
    s = _labeled_box_session(tmp_path)
    out = s.export(tmp_path / "c.json", format="coco")
    df = image_frame(tmp_path, n=5).iloc[:2].copy()
    back = BoxSession(df, image="path", classes=CLASSES)
    df.loc["a2"] = [str(tmp_path / "im2.png"), None]  # appended, no action since
    report = back.import_labels(out, format="coco", as_="labels")
    assert report.matched[str(tmp_path / "im2.png")] == "a2"
    assert len(df.loc["a2", "boxes"]) == 1 and report.unmatched == [str(tmp_path / "im3.png")]
