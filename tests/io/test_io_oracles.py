"""Independent readers as oracles for nblabel's exports: supervision's dataset readers
(COCO, YOLO, Pascal VOC) and label-studio-sdk's converter (Label Studio -> COCO, COCO ->
Label Studio).

Both need their own OpenCV wheel and an older numpy, so they run in ``.venv-oracle``
(built by ``bash scripts/setup.sh test`` from ``tests/oracles/requirements.txt``), in a
subprocess that never imports nblabel; locally the tests skip when it is not built.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nblabel.session import BoxSession
from nblabel.shapes import Box
from tests.conftest import ROOT, require
from tests.helpers import image_frame

ORACLE_PY = ROOT / ".venv-oracle" / "bin" / "python"
SCRIPT = ROOT / "tests" / "oracles" / "run_oracle.py"
CLASSES = ["apple", "coin"]
CONFIG = ('<View><Image name="image" value="$image"/><RectangleLabels name="label" '
          'toName="image"><Label value="apple"/><Label value="coin"/></RectangleLabels></View>')


def _oracle(*args: object) -> str:
    require(ORACLE_PY.exists(), f"oracle environment not built ({ORACLE_PY}): run "
            "`bash scripts/setup.sh test`")
    r = subprocess.run([str(ORACLE_PY), str(SCRIPT), *map(str, args)], capture_output=True,
                       text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


@pytest.fixture
def session(tmp_path):
    s = BoxSession(image_frame(tmp_path, n=4, size=(100, 80)), image="path", classes=CLASSES)
    s.set_boxes([Box("apple", 1, 2, 30, 40), Box("coin", 10, 10, 50, 60)], "a0")
    s.set_boxes([Box("coin", 60, 20, 99, 79)], "a2")
    s.submit("a3")
    return s


def _ours(s: BoxSession, shift: float = 0.0) -> dict:
    out = {}
    for k in s.log.labeled_items():
        name = Path(s.items.item(k).path).name
        out[name] = sorted([b.label, b.x0 - shift, b.y0 - shift, b.x1, b.y1] for b in s.value(k))
    return out


def _theirs(text: str) -> dict:
    return {k: sorted(v) for k, v in json.loads(text).items()}


def _close(a: dict, b: dict, tol: float) -> bool:
    if set(a) != set(b):
        return False
    for k in a:
        if len(a[k]) != len(b[k]):
            return False
        for x, y in zip(a[k], b[k]):
            if x[0] != y[0] or any(abs(u - v) > tol for u, v in zip(x[1:], y[1:])):
                return False
    return True


def test_supervision_reads_our_coco(session, tmp_path):
    out = session.export(tmp_path / "coco.json", format="coco")
    theirs = _theirs(_oracle("sv-coco", tmp_path, out))
    assert _close(theirs, _ours(session), 1e-9), (theirs, _ours(session))


def test_supervision_reads_our_yolo(session, tmp_path):
    out = session.export(tmp_path / "yolo", format="yolo")
    theirs = _theirs(_oracle("sv-yolo", tmp_path, out / "labels", out / "data.yaml"))
    theirs = {k: v for k, v in theirs.items() if v or k == "im3.png"}  # unlabeled rows
    assert _close(theirs, _ours(session), 1e-3 * 100), (theirs, _ours(session))


def test_supervision_reads_our_voc_one_based(session, tmp_path):
    """supervision follows the VOC devkit (``xmin``/``ymin`` are 1-based: it subtracts 1);
    nblabel, like CVAT and labelImg, writes the box edges unchanged. The oracle pins that
    one-pixel convention down."""
    out = session.export(tmp_path / "voc", format="voc")
    theirs = _theirs(_oracle("sv-voc", tmp_path, out))
    theirs = {k: v for k, v in theirs.items() if v or k == "im3.png"}
    assert _close(theirs, _ours(session, shift=1.0), 1e-9), (theirs, _ours(session))


def test_label_studio_sdk_converts_our_tasks_to_the_same_coco(session, tmp_path):
    out = session.export(tmp_path / "ls.json", format="label-studio")
    (tmp_path / "config.xml").write_text(CONFIG)
    theirs = _theirs(_oracle("ls-to-coco", tmp_path / "config.xml", out, tmp_path / "conv"))
    ours = {k: v for k, v in _ours(session).items() if v}  # it drops tasks without boxes
    assert _close(theirs, ours, 1e-6), (theirs, ours)


@pytest.mark.parametrize("out_type", ["annotations", "predictions"])
def test_label_studio_sdk_tasks_from_our_coco_import_back(session, tmp_path, out_type):
    coco = session.export(tmp_path / "coco.json", format="coco")
    ls = tmp_path / "from-coco.json"
    _oracle("coco-to-ls", coco, ls, out_type)
    back = BoxSession(session.df[["path"]].copy(), image="path", classes=CLASSES)
    as_ = "labels" if out_type == "annotations" else "suggestions"
    report = back.import_labels(ls, format="label-studio", as_=as_, source="model")
    assert not report.unmatched, report
    for k in ("a0", "a2"):
        got = back.value(k) if as_ == "labels" else back.suggestions(k)[0].value
        assert sorted((b.label, *(round(v, 6) for v in b.xyxy)) for b in got) == sorted(
            (b.label, *b.xyxy) for b in session.value(k))


def test_oracle_script_never_imports_nblabel():
    text = SCRIPT.read_text()
    assert "import nblabel" not in text and "from nblabel" not in text
    assert sys.executable != str(ORACLE_PY)
