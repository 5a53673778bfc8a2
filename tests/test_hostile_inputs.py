"""A corpus of hostile inputs -- images, text, DataFrames, store files, import files --
each with the clear error it must give (naming the row or file) and a check that nothing
already labeled was lost."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import struct
import zlib
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from nblabel.errors import (
    ImageError,
    ImageTooLargeError,
    InputError,
    SchemaVersionError,
    StoreError,
    StoreReadOnlyError,
    UnknownClassError,
)
from nblabel.io import FormatError, read_coco, read_voc, read_yolo, read_yolo_classes
from nblabel.io.labelstudio import read_label_studio
from nblabel.io.tables import read_csv_labels, read_jsonl_labels
from nblabel.session import BoxSession, ClassSession, TagSession
from nblabel.shapes import Box
from nblabel.store import SCHEMA_VERSION, Store
from nblabel.store.log import LabelLog

SQL = "x'); DROP TABLE nblabel_events; --"
HTML = "<script>alert('x')</script><img src=x onerror=alert(1)>"


class Kept:
    """A store with labels made before the hostile input; :meth:`check` proves they are
    all still there (events and replayed values)."""

    def __init__(self, template: Path, tmp: Path) -> None:
        self.path = tmp / "kept.sqlite"
        shutil.copyfile(template, self.path)
        self.df = pd.DataFrame({"text": ["one", "two"]}, index=["k1", "k2"])
        self.events = self._events()
        assert len(self.events) == 2

    def _events(self) -> list:
        with Store(self.path, read_only=True) as st:
            return list(st.events())

    def check(self) -> None:
        events = self._events()
        assert events[: len(self.events)] == self.events  # none lost or changed
        log = LabelLog()
        for e in events:
            if e.task == "label":
                log.apply(e)
        assert {k: e.payload for k, e in log.labeled_items().items()} == {"k1": "a", "k2": "b"}


@pytest.fixture(scope="module")
def kept_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kept") / "template.sqlite"
    df = pd.DataFrame({"text": ["one", "two"]}, index=["k1", "k2"])
    s = ClassSession(df, text="text", classes=["a", "b"], store=path, annotator="ann")
    s.set_label("a")
    s.next()
    s.set_label("b")
    s.close()
    return path


@pytest.fixture
def kept(kept_template, tmp_path) -> Kept:
    k = Kept(kept_template, tmp_path)
    yield k
    k.check()


# -- images -----------------------------------------------------------------------------------
def _png(tmp: Path, name="ok.png", size=(40, 30)) -> Path:
    p = tmp / name
    Image.new("RGB", size, (200, 10, 10)).save(p)
    return p


def _truncated(tmp: Path, fmt: str) -> str:
    p = tmp / f"cut.{fmt}"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)).save(p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    return str(p)


def _bomb_png(tmp: Path) -> str:
    """A tiny PNG whose header claims 40000 x 40000 pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    p = tmp / "bomb.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                  + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))
    return str(p)


def _write(tmp: Path, name: str, data: bytes) -> str:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return str(p)


IMAGES = {
    # name: (make the path cell, expected error, words the message must contain)
    "truncated-png": (lambda t: _truncated(t, "png"), ImageError, ["cut.png", "truncated"]),
    "truncated-jpeg": (lambda t: _truncated(t, "jpg"), ImageError, ["cut.jpg", "truncated"]),
    "zero-bytes": (lambda t: _write(t, "empty.jpg", b""), ImageError, ["empty.jpg"]),
    "text-named-jpg": (lambda t: _write(t, "notes.jpg", b"hello"), ImageError,
                       ["not an image", "notes.jpg"]),
    "html-named-png": (lambda t: _write(t, "page.png", HTML.encode()), ImageError,
                       ["not an image", "page.png"]),
    "directory": (lambda t: str(t), ImageError, ["directory"]),
    "missing": (lambda t: str(t / "nope.png"), ImageError, ["not found", "nope.png"]),
    "dotdot-missing": (lambda t: "../../../../no/such/dir/x.png", ImageError, ["not found"]),
    "dotdot-outside-root": (lambda t: "../outside.txt", ImageError, ["outside.txt"]),
    "decompression-bomb": (_bomb_png, ImageTooLargeError, ["bomb.png", "too large"]),
    "nan-path": (lambda t: np.nan, InputError, ["empty"]),
    "int-path": (lambda t: 42, ImageError, ["42"]),
    "1d-array": (lambda t: np.zeros(7, dtype=np.uint8), InputError, ["HxW", "item 1"]),
}


@pytest.mark.parametrize("case", sorted(IMAGES))
def test_hostile_images(case, tmp_path, kept):
    make, error, words = IMAGES[case]
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("root:x:0:0")
    good = _png(root)
    df = pd.DataFrame({"path": [str(good), None]}, index=["good", "bad"], dtype=object)
    df.at["bad", "path"] = make(root)
    s = BoxSession(df, image="path", classes=["c"], root=root, store=kept.path,
                   annotator="img", column="boxes")
    s.draw_box(1, 1, 20, 20)  # a label before the bad row
    with pytest.raises(error) as info:
        s.goto("bad").image()
    msg = str(info.value)
    assert all(w in msg for w in words), msg
    if case != "1d-array":  # (an in-memory array is named by its position: "item 1")
        assert "'bad'" in msg  # names the row
    assert len(s.value("good")) == 1 and df.at["good", "boxes"][0]["x1"] == 20
    s.close()


# -- text and tags ----------------------------------------------------------------------------
def _tag_session(df, store, **kw):
    tags = kw.pop("tags", [HTML, SQL, "ok", "😀", "עברית", "e\u0301"])
    return TagSession(df, text="text", tags=tags, store=store, annotator="tx", **kw)


def test_html_and_script_in_text_are_kept_verbatim(kept):
    df = pd.DataFrame({"text": [HTML, "plain"]}, index=["h", "p"])
    s = _tag_session(df, kept.path)
    assert s.current.text == HTML  # data, escaped by the widgets where shown
    s.set_tags([HTML, "ok"])
    s.close()
    df2 = df[["text"]].copy()
    _tag_session(df2, kept.path).close()
    assert df2.at["h", "tags"] == sorted([HTML, "ok"])


def test_sql_metacharacters_in_tags_and_ids_are_data(kept):
    df = pd.DataFrame({"text": ["a", "b"]}, index=[SQL, "1; DELETE FROM nblabel_meta"])
    s = _tag_session(df, kept.path)
    s.set_tags([SQL])
    s.set_tags(["ok"], key="1; DELETE FROM nblabel_meta")
    s.close()
    with Store(kept.path, read_only=True) as st:
        got = {e.item: e.payload for e in st.events("tags")}
    assert got == {SQL: [SQL], "1; DELETE FROM nblabel_meta": ["ok"]}


def test_unicode_tags_and_ids_round_trip(kept):
    ids = ["😀", "עברית", "e\u0301", "zero\u200bwidth", "../../etc/passwd"]
    df = pd.DataFrame({"text": ids}, index=ids)
    s = _tag_session(df, kept.path)
    for key, tag in zip(ids, ["😀", "עברית", "e\u0301", "ok", "ok"]):
        s.set_tags([tag], key=key)
    s.close()
    df2 = df[["text"]].copy()
    _tag_session(df2, kept.path).close()
    assert df2["tags"].tolist() == [["😀"], ["עברית"], ["e\u0301"], ["ok"], ["ok"]]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["<b>new</b>"], ["'<b>new</b>'", "not in the vocabulary", "item 'a'"]),
        ([{"nested": 1}], ["not in the vocabulary"]),
        (["x" * 100_000], ["not in the vocabulary"]),
    ],
    ids=["html-tag-unknown", "dict-as-tag", "huge-tag-unknown"],
)
def test_unknown_tags_are_refused_and_change_nothing(value, words, kept):
    df = pd.DataFrame({"text": ["t"]}, index=["a"])
    s = _tag_session(df, kept.path)
    s.set_tags(["ok"])
    with pytest.raises(UnknownClassError) as info:
        s.set_tags(value)
    assert all(w in str(info.value) for w in words)
    assert s.value() == frozenset({"ok"}) and df.at["a", "tags"] == ["ok"]
    s.close()


def test_huge_text_and_huge_new_tag(kept):
    big = "word " * 1_000_000  # 5 MB in one cell
    df = pd.DataFrame({"text": [big]}, index=["big"])
    s = _tag_session(df, kept.path, allow_new=True)
    assert len(s.current.text) == len(big)
    s.set_tags(["t" * 10_000])
    s.close()
    df2 = df[["text"]].copy()
    _tag_session(df2, kept.path, allow_new=True).close()
    assert df2.at["big", "tags"] == ["t" * 10_000]


def test_lone_surrogate_id_is_a_clear_error(kept):
    df = pd.DataFrame({"text": ["t"]}, index=["bad\ud800id"])
    s = _tag_session(df, kept.path)
    with pytest.raises(InputError, match="not valid Unicode"):
        s.set_tags(["ok"])
    assert s.store.count("tags") == 0
    s.close()


def test_missing_text_is_empty_not_an_error(kept):
    df = pd.DataFrame({"text": [np.nan, None]}, index=["n", "m"], dtype=object)
    s = _tag_session(df, kept.path)
    assert s.current.text == ""
    s.close()


# -- DataFrames ------------------------------------------------------------------------------
DATAFRAMES = {
    "not-a-dataframe": (lambda: [{"text": "a"}], {}, ["expected a pandas DataFrame", "list"]),
    "multiindex": (lambda: pd.DataFrame({"text": ["a"]}, index=pd.MultiIndex.from_tuples(
        [("x", 1)])), {}, ["MultiIndex", "to_flat_index"]),
    "duplicate-index": (lambda: pd.DataFrame({"text": ["a", "b"]}, index=["d", "d"]), {},
                        ["duplicate", "'d'"]),
    "same-text-form": (lambda: pd.DataFrame({"text": ["a", "b"]}, index=[1, "1"]), {},
                       ["same text form"]),
    "missing-column": (lambda: pd.DataFrame({"body": ["a"]}), {}, ["'text'", "not in the"]),
    "duplicate-classes": (lambda: pd.DataFrame({"text": ["a"]}), {"classes": ["a", "a"]},
                          ["duplicates"]),
    "no-classes": (lambda: pd.DataFrame({"text": ["a"]}), {"classes": []}, ["classes="]),
}


@pytest.mark.parametrize("case", sorted(DATAFRAMES))
def test_hostile_dataframes(case, kept):
    make, kw, words = DATAFRAMES[case]
    with pytest.raises(InputError) as info:
        ClassSession(make(), text="text", store=kept.path, **{"classes": ["a", "b"], **kw})
    assert all(w in str(info.value) for w in words), str(info.value)


def test_empty_dataframe(kept):
    s = ClassSession(pd.DataFrame({"text": []}), text="text", classes=["a"], store=kept.path)
    assert s.current is None and s.next() is None
    with pytest.raises(InputError, match="empty"):
        s.set_label("a")
    s.close()


def test_rows_removed_between_sessions_keep_their_labels(kept, caplog):
    caplog.set_level(logging.WARNING, "nblabel")
    df = pd.DataFrame({"text": ["two"]}, index=["k2"])  # k1 (labeled) was dropped
    s = ClassSession(df, text="text", classes=["a", "b"], store=kept.path, annotator="ann")
    assert "not in this DataFrame" in caplog.text and "kept in the store" in caplog.text
    assert df["label"].tolist() == ["b"]
    s.close()


# -- store files -----------------------------------------------------------------------------
def _store_file(tmp: Path, kind: str) -> Path:
    p = tmp / f"{kind}.sqlite"
    if kind == "truncated":
        with Store(p) as st:
            st.append_many([_event(str(i)) for i in range(300)])
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 3])
    elif kind == "random-bytes":
        p.write_bytes(np.random.default_rng(1).bytes(8192))
    elif kind == "json":
        p.write_text(json.dumps({"labels": [1, 2]}))
    elif kind == "html":
        p.write_text(HTML * 100)
    elif kind == "newer-schema":
        Store(p).close()
        con = sqlite3.connect(p)
        con.execute("UPDATE nblabel_meta SET value=? WHERE key='schema_version'",
                    (str(SCHEMA_VERSION + 1),))
        con.commit()
        con.close()
    elif kind == "foreign-table":
        con = sqlite3.connect(p)
        con.execute("CREATE TABLE nblabel_events (x INTEGER)")
        con.commit()
        con.close()
    return p


def _fingerprint(p: Path) -> object:
    """The tables of an SQLite file (its header may change: opening switches it to WAL),
    else its bytes."""
    if p.read_bytes()[:16] == b"SQLite format 3\x00" and p.stat().st_size % 512 == 0:
        con = sqlite3.connect(f"file:{p}?mode=ro", uri=True)
        try:
            return con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        finally:
            con.close()
    return p.read_bytes()


def _event(item: str):
    from nblabel.store import LabelEvent

    return LabelEvent.make("label", item, "label", "accepted", annotator="t", payload="a")


STORE_FILES = {
    "truncated": (StoreError, ["truncated.sqlite"]),
    "random-bytes": (StoreError, ["random-bytes.sqlite", "not a readable nblabel store"]),
    "json": (StoreError, ["json.sqlite", "not a readable nblabel store"]),
    "html": (StoreError, ["html.sqlite"]),
    "newer-schema": (SchemaVersionError, ["newer nblabel", "not changed"]),
    "foreign-table": (SchemaVersionError, ["not an nblabel event log"]),
}


@pytest.mark.parametrize("case", sorted(STORE_FILES))
def test_hostile_store_files_are_refused_untouched(case, tmp_path, kept):
    error, words = STORE_FILES[case]
    p = _store_file(tmp_path, case)
    before = _fingerprint(p)
    with pytest.raises(error) as info:
        s = ClassSession(pd.DataFrame({"text": ["a"]}), text="text", classes=["a"], store=p)
        s.set_label("a")  # a store that opened must at least fail before writing
    msg = str(info.value)
    assert all(w in msg for w in words), msg
    assert _fingerprint(p) == before  # the file was not "repaired" into something else


def test_store_path_is_a_directory_or_in_a_missing_directory(tmp_path, kept):
    with pytest.raises(StoreError, match="unable to open"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="does not exist"):
        Store(tmp_path / "no" / "such" / ".." / "dir" / "s.sqlite")


def test_zero_byte_store_file_is_a_new_store(tmp_path, kept):
    p = tmp_path / "zero.sqlite"
    p.write_bytes(b"")
    with Store(p) as st:
        assert st.count() == 0
        st.append(_event("x"))
    with Store(p, read_only=True) as st:
        assert st.count() == 1


def test_tampered_payload_is_reported_with_its_event(tmp_path, kept):
    con = sqlite3.connect(kept.path)
    con.execute("UPDATE nblabel_events SET payload='{not json' WHERE id=2")
    con.commit()
    con.close()
    with Store(kept.path, read_only=True) as st:
        bad = next(e for e in st.events() if e.id == 2)
        assert [e.payload for e in st.events() if e.id == 1] == ["a"]
    with pytest.raises(StoreError, match=r"event 2 .*item 'k2'.* corrupt payload"):
        _ = bad.payload
    with pytest.raises(StoreError, match=r"event 2 .*corrupt payload.*restore a backup"):
        ClassSession(kept.df[["text"]].copy(), text="text", classes=["a", "b"],
                     store=kept.path, annotator="ann")
    con = sqlite3.connect(kept.path)  # restore, so that `kept` can check the rest
    con.execute("UPDATE nblabel_events SET payload=? WHERE id=2", (kept.events[1].payload_json,))
    con.commit()
    con.close()


def test_read_only_session_cannot_write(kept):
    df = kept.df[["text"]].copy()
    with Store(kept.path, read_only=True) as ro:
        s = ClassSession(df, text="text", classes=["a", "b"], store=ro, annotator="ann")
        assert df["label"].tolist() == ["a", "b"]
        with pytest.raises(StoreReadOnlyError, match="read-only"):
            s.set_label("b", key="k1")
        assert df["label"].tolist() == ["a", "b"]


# -- import files ----------------------------------------------------------------------------
BOMB = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                  for p, c in zip("abcdefgh", "bcdefghi"))
        + "]><annotation><filename>&i;</filename></annotation>")
VOC_OK = ("<annotation><filename>{name}</filename><size><width>50</width><height>40</height>"
          "</size><object><name>{label}</name><bndbox><xmin>1</xmin><ymin>2</ymin>"
          "<xmax>10</xmax><ymax>20</ymax></bndbox></object></annotation>")
COCO_OK = {"images": [{"id": 1, "file_name": "a.jpg", "width": 50, "height": 40}],
           "categories": [{"id": 1, "name": "c"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]}

LS_OK = {"id": 1, "data": {"image": "a.png"}, "annotations": [{"result": [
    {"type": "rectanglelabels", "value": {"x": 1, "y": 2, "width": 3, "height": 4,
                                          "rectanglelabels": ["c"]}}]}]}


def _ls(**value) -> dict:
    region = {"type": "rectanglelabels", "value": {**LS_OK["annotations"][0]["result"][0][
        "value"], **value}}
    return {"id": 1, "data": {"image": "a.png"}, "annotations": [{"result": [region]}]}


IMPORTS = {
    # name: (file name, content, reader, words the FormatError must contain)
    "voc-truncated": ("a.xml", VOC_OK.format(name="a", label="c")[:90], read_voc,
                      ["a.xml", "line 1", "not well-formed"]),
    "voc-wrong-root": ("b.xml", "<html><body/></html>", read_voc, ["b.xml", "<annotation>"]),
    "voc-billion-laughs": ("c.xml", BOMB, read_voc, ["c.xml", "not well-formed"]),
    "voc-binary": ("d.xml", "\x00\x01\x02PNG", read_voc, ["d.xml"]),
    "coco-truncated": ("a.json", json.dumps(COCO_OK, indent=1)[:120], read_coco,
                       ["a.json", "line", "invalid JSON"]),
    "coco-wrong-type": ("b.json", "[1, 2, 3]", read_coco, ["b.json", "top level"]),
    "coco-bbox-strings": ("c.json", json.dumps({**COCO_OK, "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": ["1", "x", 3, 4]}]}), read_coco,
        ["c.json", "bbox"]),
    "coco-missing-list": ("d.json", json.dumps({"images": []}), read_coco,
                          ["d.json", "missing list"]),
    "yolo-fields": ("a.txt", "0 0.5 0.5\n", "yolo", ["a.txt", "line 1", "fields"]),
    "yolo-class-range": ("b.txt", "0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n", "yolo",
                         ["b.txt", "line 2", "class id 7"]),
    "yolo-not-numbers": ("c.txt", "0 0.5 x 0.1 0.1\n", "yolo", ["c.txt", "numbers"]),
    "yolo-nan": ("d.txt", "0 nan 0.5 0.1 0.1\n", "yolo", ["d.txt", "normalised"]),
    "yolo-sql-line": ("e.txt", f"{SQL}\n", "yolo", ["e.txt", "line 1"]),
    "yolo-classes-blank-line": ("classes.txt", "a\n\nb\n", "yolo-classes",
                                ["classes.txt", "line 2", "empty class name"]),
    "dotdot-missing-file": ("../../no/such/file.xml", None, read_voc, ["cannot read"]),
    "ls-truncated": ("a.json", json.dumps([LS_OK], indent=1)[:150], read_label_studio,
                     ["a.json", "line", "invalid JSON"]),
    "ls-not-a-list": ("b.json", '"tasks"', read_label_studio, ["b.json", "list of tasks"]),
    "ls-no-data": ("c.json", json.dumps([{"id": 4, "annotations": []}], indent=1),
                   read_label_studio, ["c.json", "task #0 (id 4), line 3", "'data'"]),
    "ls-rotated": ("d.json", json.dumps([_ls(rotation=30)], indent=1), read_label_studio,
                   ["d.json", "line 3", "result #0", "rotated"]),
    "ls-percent-string": ("e.json", json.dumps([_ls(x="10%")], indent=1), read_label_studio,
                          ["e.json", "line 3", "value.x must be a number"]),
    "ls-empty-labels": ("f.json", json.dumps([_ls(rectanglelabels=[])]), read_label_studio,
                        ["f.json", "rectanglelabels"]),
    "ls-score-range": ("g.json", json.dumps([{**LS_OK, "predictions": [
        {"score": 7, "result": []}]}]), read_label_studio, ["g.json", "prediction #0", "[0, 1]"]),
    "ls-html-choice": ("h.json", json.dumps([{"id": 1, "data": {"text": HTML}, "annotations": [
        {"result": [{"type": "choices", "value": {"choices": [1, 2]}}]}]}]), read_label_studio,
        ["h.json", "value.choices must be a list of strings"]),
    "csv-header": ("a.csv", "name,thing\nx,y\n", partial(read_csv_labels, kind="boxes"),
                   ["a.csv", "line 1", "header"]),
    "csv-coordinates": ("b.csv", "item,image,label,x0,y0,x1,y1,score\nk,,c,1,2,3,4,\n"
                        f"k,,c,1,{SQL},3,4,\n", partial(read_csv_labels, kind="boxes"),
                        ["b.csv", "line 3", "numbers"]),
    "csv-two-classes": ("c.csv", "item,label\nk,a\nk,b\n", partial(read_csv_labels,
                        kind="label"), ["c.csv", "line 3", "second class"]),
    "jsonl-bad-line": ("a.jsonl", '{"item": "k", "boxes": []}\n{"item": "k2", "boxes": [\n',
                       partial(read_jsonl_labels, kind="boxes"), ["a.jsonl", "line 2",
                                                                    "invalid JSON"]),
    "jsonl-no-value": ("b.jsonl", '{"item": "k"}\n', partial(read_jsonl_labels, kind="tags"),
                       ["b.jsonl", "line 1", "'tags'"]),
    "jsonl-latin1": ("c.jsonl", b"caf\xe9\n", partial(read_jsonl_labels, kind="tags"),
                     ["c.jsonl", "cannot read"]),
}


@pytest.mark.parametrize("case", sorted(IMPORTS))
def test_hostile_import_files(case, tmp_path, kept):
    name, content, reader, words = IMPORTS[case]
    p = tmp_path / "imports" / name
    if content is not None:
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    with pytest.raises(FormatError) as info:
        if reader == "yolo":
            read_yolo(p, 100, 100, ["a", "b"])
        elif reader == "yolo-classes":
            read_yolo_classes(p)
        else:
            reader(p)
    msg = str(info.value)
    assert all(w in msg for w in words), msg


SESSION_IMPORTS = {  # case of IMPORTS -> the format a session reads it as
    "coco-bbox-strings": "coco", "voc-truncated": "voc", "yolo-class-range": "yolo",
    "ls-rotated": "label-studio", "csv-coordinates": "csv", "jsonl-bad-line": "jsonl",
}


@pytest.mark.parametrize("case", sorted(SESSION_IMPORTS))
def test_hostile_import_into_a_session_loses_nothing(case, tmp_path):
    """A malformed file of each format, imported into a session with labels: the error
    names the file (and line), and the store and the DataFrame are as before."""
    name, content, _reader, words = IMPORTS[case]
    d = tmp_path / "in"
    d.mkdir()
    for i in range(2):  # rows named like the file the case refers to
        Image.new("RGB", (100, 100)).save(d / f"{'ab'[i]}.png")
    df = pd.DataFrame({"path": [str(d / "a.png"), str(d / "b.png")]}, index=["r0", "r1"])
    store = tmp_path / "s.sqlite"
    s = BoxSession(df, image="path", classes=["a", "b", "c"], store=store)
    s.set_boxes([Box("a", 1, 1, 9, 9)], "r0")
    before, cells = list(s.store.events()), df["boxes"].tolist()
    target = d / name
    target.write_text(content)
    fmt = SESSION_IMPORTS[case]
    if fmt == "yolo":  # a directory of txt files with a class list
        (d / "classes.txt").write_text("a\nb\n")
        target.rename(d / "a.txt")
        target = d
    with pytest.raises(FormatError) as info:
        s.import_labels(target, format=fmt, as_="labels")
    msg = str(info.value)
    assert all(w in msg for w in words if w != name) and (name in msg or fmt == "yolo"), msg
    assert list(s.store.events()) == before and df["boxes"].tolist() == cells
    s.close()


def test_html_in_import_names_is_data(tmp_path, kept):
    p = tmp_path / "x.xml"
    p.write_text(VOC_OK.format(name="&lt;img src=x&gt;", label="&lt;script&gt;x&lt;/script&gt;"))
    ann = read_voc(p)
    assert ann.filename == "<img src=x>" and ann.boxes[0].label == "<script>x</script>"
