"""Session-level import and export: ``session.export(path, format=...)`` and
``session.import_labels(path, format=..., as_=...)``.

Boxes are in pixels of the EXIF-rotated image, as everywhere in nblabel. Rows are matched
by path, then by file name (see :mod:`nblabel.io.matching`); names that match no row are
reported, never guessed. Every imported label or suggestion is one store event with the
import's ``source``, so :meth:`LabelSession.undo` (one item) or :meth:`ImportReport.undo`
(the whole import) takes it back. Nothing is written before the whole file was read and
every value validated: a bad file changes nothing.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from nblabel.errors import InputError, InvalidBoxError
from nblabel.io._common import FormatError
from nblabel.io.coco import read_coco, write_coco
from nblabel.io.labelstudio import (
    LSTask,
    box_to_region,
    check_box,
    choices_result,
    read_label_studio,
    write_label_studio,
)
from nblabel.io.matching import RowMatcher, item_names
from nblabel.io.tables import (
    read_csv_labels,
    read_jsonl_labels,
    write_csv_labels,
    write_jsonl_labels,
)
from nblabel.io.voc import read_voc, write_voc
from nblabel.io.yolo import read_yolo, read_yolo_classes, write_yolo, write_yolo_classes
from nblabel.shapes import SOURCES, Box

__all__ = ["FORMATS", "ImportReport", "export_session", "import_into_session"]

log = logging.getLogger("nblabel")

#: formats per session kind
FORMATS = {
    "boxes": ("coco", "voc", "yolo", "label-studio", "csv", "jsonl"),
    "tags": ("label-studio", "csv", "jsonl"),
    "label": ("label-studio", "csv", "jsonl"),
}


def _check_format(session: Any, format: str) -> str:
    f = str(format).lower().replace("_", "-")
    f = {"labelstudio": "label-studio", "ls": "label-studio", "pascal-voc": "voc"}.get(f, f)
    allowed = FORMATS.get(session.kind, ())
    if f not in allowed:
        raise InputError(f"format {format!r} is not available for a {type(session).__name__}; "
                         f"use one of {allowed}")
    return f


# -- export ------------------------------------------------------------------------------------
def _labeled_positions(session: Any) -> list[int]:
    keys = list(session.log.labeled_items())
    return sorted(int(p) for p in session.items.positions_of(keys) if p >= 0)


def _unique_names(session: Any, positions: list[int], *, stem: bool) -> dict[int, str]:
    names = item_names(session)
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for p in positions:
        n = PurePosixPath(names[p]).stem if stem else names[p]
        if n in seen:
            keys = session.items.keys
            raise InputError(f"rows {keys[seen[n]]!r} and {keys[p]!r} would both be written "
                             f"as {n!r}; give the images distinct file names")
        seen[n] = p
        out[p] = n
    return out


def export_session(session: Any, path: str | os.PathLike, format: str = "coco", *,
                   include: str | None = None, url_prefix: str = "") -> Path:
    """Write a session's labels to ``path`` (what :meth:`LabelSession.export` runs).

    Parameters
    ----------
    session : LabelSession
        A box, tag or class session (formats per kind: :data:`FORMATS`).
    path : path-like
        A ``.json`` file (COCO, Label Studio), a ``.csv``/``.jsonl`` file, or a directory
        (VOC: one XML per image; YOLO: ``labels/*.txt``, ``classes.txt``, ``data.yaml``).
    format : str
        ``"coco"``, ``"voc"``, ``"yolo"``, ``"label-studio"``, ``"csv"`` or ``"jsonl"``.
    include : {"labeled", "all"}, optional
        Rows written: labeled ones (default; "no boxes" is a label too), or all rows
        (the default for Label Studio, where unlabeled rows are tasks to do).
    url_prefix : str
        Prepended to image paths in Label Studio tasks (e.g. ``"/data/local-files/?d="``).

    Returns
    -------
    pathlib.Path
        What was written. Images are named by their path as the DataFrame gives it (VOC
        and YOLO: by file stem; two rows with one stem are refused, naming both).
    """
    fmt = _check_format(session, format)
    session._follow_rows()  # rows appended to the DataFrame since the last action
    if include is None:
        include = "all" if fmt == "label-studio" else "labeled"
    if include not in ("labeled", "all"):
        raise InputError(f"include must be 'labeled' or 'all', got {include!r}")
    positions = (_labeled_positions(session) if include == "labeled"
                 else list(range(len(session.items))))
    keys = session.items.keys
    p = Path(path)
    if fmt in ("coco", "voc", "yolo"):
        names = _unique_names(session, positions, stem=fmt != "coco")
        sizes = {q: session.items.size(q) for q in positions}
        values = {q: session.value(keys[q]) for q in positions}
        if fmt == "coco":
            return write_coco(p, {names[q]: sizes[q] for q in positions},
                              {names[q]: values[q] for q in positions}, classes=session.classes)
        if fmt == "voc":
            p.mkdir(parents=True, exist_ok=True)
            full = item_names(session)
            for q in positions:
                write_voc(p / f"{names[q]}.xml", full[q], *sizes[q], values[q])
            return p
        labels = p / "labels"
        labels.mkdir(parents=True, exist_ok=True)
        for q in positions:
            write_yolo(labels / f"{names[q]}.txt", values[q], *sizes[q], session.classes)
        write_yolo_classes(p / "classes.txt", session.classes)
        (p / "data.yaml").write_text(
            f"nc: {len(session.classes)}\nnames: {json.dumps(list(session.classes))}\n")
        return p
    names = item_names(session)
    image = session.items.image_column is not None
    if fmt in ("csv", "jsonl"):
        rows = ((str(keys[q]), names[q] if image else None,
                 session.encode(session.value(keys[q]))) for q in positions)
        writer = write_csv_labels if fmt == "csv" else write_jsonl_labels
        return writer(p, session.kind, rows)
    return write_label_studio(p, [_ls_task(session, q, names[q], url_prefix)
                                  for q in positions])


def _ls_result(session: Any, q: int, value: Any) -> list[dict[str, Any]]:
    if session.kind == "boxes":
        w, h = session.items.size(q)
        return [box_to_region(b, w, h, rid=f"r{i}") for i, b in enumerate(value)]
    choices = sorted(value) if session.kind == "tags" else ([value] if value else [])
    return [choices_result(choices, rid="c0")]


def _ls_task(session: Any, q: int, name: str, url_prefix: str) -> dict[str, Any]:
    key = str(session.items.keys[q])
    data: dict[str, Any] = {"nblabel_id": key}
    if session.items.image_column is not None:
        data["image"] = url_prefix + name
    else:
        data["text"] = session.items.text(q) or ""
    task: dict[str, Any] = {"data": data, "annotations": [], "predictions": []}
    if session.is_labeled(key):
        task["annotations"].append({"result": _ls_result(session, q, session.value(key)),
                                    "was_cancelled": False})
    for s in session.suggestions(key):
        pred: dict[str, Any] = {"model_version": s.source,
                                "result": _ls_result(session, q, s.value)}
        if s.score is not None:
            pred["score"] = float(s.score)
        task["predictions"].append(pred)
    return task


# -- import ------------------------------------------------------------------------------------
@dataclass
class ImportReport:
    """What :meth:`LabelSession.import_labels` did.

    Attributes
    ----------
    matched : dict
        Name in the file -> item id it was matched to.
    unmatched : list of str
        Names in the file that match no row of the DataFrame (nothing imported for them).
    ambiguous : list of str
        File names that several rows share (nothing imported: give full paths).
    kept : list of str
        Items that already had a label, left as they were (``overwrite=False``).
    size_mismatch : list of str
        Items whose size in the file differs from the image's (EXIF-rotated) size.
    events : list of int
        The store events written (labels or suggestions).
    """

    path: Path
    format: str
    as_: str
    source: str
    matched: dict[str, str] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    size_mismatch: list[str] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    _session: Any = field(default=None, repr=False, compare=False)

    def undo(self) -> int:
        """Take the whole import back: imported labels are undone, imported suggestions
        still pending are rejected (each one an event). Returns how many were taken back."""
        s = self._session
        n = 0
        for eid in reversed(self.events):
            ev = s.log.by_id.get(eid)
            if ev is None:
                continue
            if ev.action == "label" and s.log.current(ev.item) is ev:
                s._record(ev.item, "undo", "deleted", None, ref=eid)
                n += 1
            elif ev.action == "suggest" and eid in s.log.pending.get(ev.item, {}):
                s._record(ev.item, "reject", "rejected", None, source=ev.source, ref=eid)
                n += 1
        return n

    def __repr__(self) -> str:
        return (f"ImportReport({self.format} {self.path.name!r} as {self.as_}: "
                f"{len(self.events)} imported, {len(self.unmatched)} unmatched, "
                f"{len(self.ambiguous)} ambiguous, {len(self.kept)} kept)")


@dataclass
class _Entry:
    name: str
    where: str
    value: Any  # boxes (pixels), LS regions (percent), tags or a class
    score: float | None = None
    size: tuple[int, int] | None = None
    stem: bool = False
    percent: bool = False


def _read_entries(session: Any, p: Path, fmt: str, as_: str,
                  classes: list[str] | None) -> list[_Entry]:
    if fmt == "coco":
        sizes, boxes = read_coco(p)
        return [_Entry(n, f"{p}, image {n!r}", boxes[n], size=sizes[n]) for n in sizes]
    if fmt == "voc":
        files = sorted(p.glob("*.xml")) if p.is_dir() else [p]
        if not files:
            raise FormatError(f"no VOC *.xml files in {p}")
        out = []
        for f in files:
            a = read_voc(f)
            out.append(_Entry(a.filename, str(f), a.boxes, size=(a.width, a.height)))
        return out
    if fmt == "yolo":
        return _yolo_entries(session, p, classes)
    if fmt in ("csv", "jsonl"):
        reader = read_csv_labels if fmt == "csv" else read_jsonl_labels
        return [_Entry(n, f"{p}, line {ln}", v) for n, v, ln in reader(p, session.kind)]
    return [e for t in read_label_studio(p) if (e := _ls_entry(session, p, t, as_))]


def _yolo_entries(session: Any, p: Path, classes: list[str] | None) -> list[_Entry]:
    d = p / "labels" if (p / "labels").is_dir() else p
    if classes is None:
        cls_file = next((c for c in (p / "classes.txt", d / "classes.txt") if c.is_file()), None)
        classes = read_yolo_classes(cls_file) if cls_file else list(session.classes)
    matcher = RowMatcher(session)
    out = []
    for f in sorted(d.glob("*.txt")):
        if f.name == "classes.txt":
            continue
        pos = matcher.match(f.stem, stem=True)
        if pos is None:  # size unknown: report by name, read nothing
            out.append(_Entry(f.stem, str(f), None, stem=True))
            continue
        w, h = session.items.size(pos)
        out.append(_Entry(f.stem, str(f), read_yolo(f, w, h, classes), stem=True))
    return out


def _ls_entry(session: Any, p: Path, t: LSTask, as_: str) -> _Entry | None:
    where = f"{p}, task {t.id!r}" + (f", line {t.line}" if t.line else "")
    if as_ == "labels":
        picked = t.annotations[-1] if t.annotations else None
    else:
        picked = max(t.predictions, key=lambda r: r.score if r.score is not None else -1.0,
                     default=t.annotations[-1] if t.annotations else None)
    if picked is None:
        return None
    name = t.data.get("nblabel_id")
    if name is None:
        field_ = "image" if session.items.image_column is not None else "text"
        name = t.data.get(field_)
        if name is None:
            raise FormatError(f"{where}: data has no {field_!r} (keys: {sorted(t.data)})")
    if session.kind == "boxes":
        return _Entry(str(name), where, picked.regions, picked.score, percent=True)
    if session.kind == "label" and len(picked.choices) > 1:
        raise FormatError(f"{where}: {len(picked.choices)} choices {list(picked.choices)} for "
                          "a class session (one class per item)")
    value = (picked.choices[0] if picked.choices else None) if session.kind == "label" \
        else list(picked.choices)
    return _Entry(str(name), where, value, picked.score)


def _box(b: Any, where: str) -> Box:
    if isinstance(b, Box):
        return b
    try:
        return Box.from_dict(b)
    except (InvalidBoxError, TypeError, ValueError, AttributeError) as e:
        raise FormatError(f"{where}: not a box ({e})") from None


def _text_matcher(session: Any) -> dict[str, int]:
    if session.items.image_column is not None:
        return {}
    out: dict[str, int] = {}
    for q in range(len(session.items)):
        out.setdefault(session.items.text(q) or "", q)
    return out


def import_into_session(session: Any, path: str | os.PathLike, format: str = "coco", *,
                        as_: str = "suggestions", source: str = "import",
                        score: float | None = None, overwrite: bool = False,
                        classes: list[str] | None = None) -> ImportReport:
    """Read a label file into a session (what :meth:`LabelSession.import_labels` runs).

    Parameters
    ----------
    session : LabelSession
    path : path-like
        A file, or a directory for VOC (``*.xml``) and YOLO (``labels/*.txt`` or ``*.txt``,
        classes from ``classes.txt``, else ``classes=``, else the session's classes).
    format : str
        As :func:`export_session`.
    as_ : {"suggestions", "labels"}
        Suggestions to review (Label Studio: the best-scored prediction of a task, else
        its latest annotation), or labels (Label Studio: the latest annotation).
    source : str
        The events' source, one of :data:`nblabel.shapes.SOURCES` (``"human"`` only for
        labels).
    score : float, optional
        The suggestions' score; by default the file's (a Label Studio prediction's score,
        else the lowest box score).
    overwrite : bool
        Importing labels replaces labels already there (default: they are kept and listed
        in :attr:`ImportReport.kept`).
    classes : list of str, optional
        YOLO class names by id when the directory has no ``classes.txt``.

    Returns
    -------
    ImportReport

    Raises
    ------
    FormatError
        The file is malformed (the message names the file and line); nothing is written.
    InputError
        A value the session refuses (an unknown class, a box outside the image), named
        with its place in the file; nothing is written.
    """
    fmt = _check_format(session, format)
    if as_ not in ("suggestions", "labels"):
        raise InputError(f"as_ must be 'suggestions' or 'labels', got {as_!r}")
    if source not in SOURCES or (as_ == "suggestions" and source == "human"):
        allowed = [s for s in SOURCES if as_ == "labels" or s != "human"]
        raise InputError(f"source must be one of {allowed}, got {source!r}")
    session._follow_rows()  # rows appended to the DataFrame since the last action
    p = Path(path)
    report = ImportReport(p, fmt, as_, source, _session=session)
    entries = _read_entries(session, p, fmt, as_, classes)
    matcher, texts = RowMatcher(session), _text_matcher(session)
    keys = session.items.keys
    plan: list[tuple[str, Any, float | None]] = []
    for e in entries:
        pos = matcher.match(e.name, stem=e.stem)
        if pos is None and e.name in texts:
            pos = texts[e.name]
        if pos is None:
            (report.ambiguous if e.name in matcher.ambiguous else report.unmatched).append(
                e.name)
            continue
        key = str(keys[pos])
        report.matched[e.name] = key
        value = e.value
        if e.percent or e.size is not None:
            w, h = session.items.size(pos)
            if e.percent:
                value = tuple(check_box(r, w, h, e.where) for r in value)
            elif tuple(e.size) != (w, h):
                report.size_mismatch.append(key)
        if session.kind == "boxes":
            value = tuple(_box(b, e.where).replace(source=source) for b in value or ())
            e_score = e.score if e.score is not None else min(
                (b.score for b in value if b.score is not None), default=None)
        else:
            e_score = e.score
        try:  # validate everything before anything is written
            value = session.normalize(value, key)
        except InputError as err:
            raise type(err)(f"{e.where}: {err}") from None
        empty = value is None or value == session.codec.empty()
        if as_ == "suggestions" and empty:
            continue
        if as_ == "labels" and not overwrite and session.is_labeled(key):
            report.kept.append(key)
            continue
        plan.append((key, value, score if score is not None else e_score))
    for key, value, s in plan:
        if as_ == "labels":
            session.set_value(value, key, source=source, final=True)
            report.events.append(int(session.log.current(key).id))
        else:
            report.events.append(session.suggest(key, value, source=source, score=s).id)
    if report.unmatched or report.ambiguous:
        log.warning("import %s: %d names match no row (e.g. %s), %d are ambiguous",
                    p, len(report.unmatched), report.unmatched[:3], len(report.ambiguous))
    return report
