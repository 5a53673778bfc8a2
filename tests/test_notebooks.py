"""Every notebook in notebooks/ runs top to bottom, unattended, in a temporary copy of the
folder (its SQLite stores land there), and fails on any cell error or on a traceback that a
widget callback printed to stderr. Committed notebooks carry no outputs and stay small.

Timings go to ``tests/artifacts/notebook-timings.json`` and the terminal summary.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMINGS: dict[str, float] = {}
ARTIFACTS = ROOT / "tests" / "artifacts"
MAX_BYTES = 60_000
# text that means a widget or an observer failed even though no cell raised
FAILURE_MARKS = ("Traceback (most recent call last)", "Exception in thread")

nbformat = pytest.importorskip("nbformat")

# Injected into the executed copy only. Widgets show callback errors in their message area
# and log them (never raise), so a notebook could "pass" with a broken widget: record every
# nblabel log record that carries an exception or is an error, then fail at the end.
WATCH = """\
import logging as _logging
_NBLABEL_FAILURES = []
class _FailureRecorder(_logging.Handler):
    def emit(self, record):
        if record.exc_info or record.levelno >= _logging.ERROR:
            _NBLABEL_FAILURES.append(f"{record.name}: {record.getMessage()}: {record.exc_info!r}")
_logging.getLogger("nblabel").addHandler(_FailureRecorder(_logging.DEBUG))
"""
CHECK = """\
import ipywidgets as _w
_live = list(getattr(_w.widgets.widget, "_instances", {}).values())
_shown = [w.value for w in _live if isinstance(getattr(w, "value", None), str)
          and "msg-error" in w.value]
assert not _NBLABEL_FAILURES and not _shown, (_NBLABEL_FAILURES, _shown)
"""


def test_there_are_notebooks() -> None:
    names = {p.name for p in NOTEBOOKS}
    for name in ("01-food-boxes.ipynb", "02-project-tags.ipynb", "03-label-quality.ipynb",
                 "04-team-labeling.ipynb", "app.ipynb"):
        assert name in names, f"notebooks/{name} is missing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path: Path) -> None:
    assert path.stat().st_size < MAX_BYTES, f"{path.name} is {path.stat().st_size} bytes"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for target in re.findall(r"\]\(([^)\s]+)\)", cell.source):
                if "://" not in target and not target.startswith("#"):
                    assert (path.parent / target).exists(), f"{path.name} links to {target}"
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# "), (
        f"{path.name} must open with a Markdown title and what the reader will learn")


def stderr_failures(nb: object) -> list[str]:
    """Tracebacks or failure messages printed by any cell (e.g. from widget callbacks)."""
    out = []
    for i, cell in enumerate(nb.cells):  # type: ignore[attr-defined]
        for o in cell.get("outputs", []):
            text = o.get("text", "") if o.get("output_type") == "stream" else ""
            if o.get("output_type") == "error":
                text = f"{o.get('ename')}: {o.get('evalue')}"
            if o.get("output_type") == "error" or (
                o.get("name") == "stderr" and any(m in text for m in FAILURE_MARKS)
            ):
                out.append(f"cell {i}: {text[:2000]}")
    return out


def test_stderr_failures_are_found() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])
    text = "nblabel observer <f> failed\nTraceback (most recent call last):\n"
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
    assert stderr_failures(nb)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stderr", text="a warning")]
    assert not stderr_failures(nb)


def execute(nb: object, cwd: Path) -> None:
    """Run a notebook in a fresh kernel with the failure watch cells around it (raises
    ``nbclient``'s ``CellExecutionError`` on the first failing cell)."""
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb.cells.insert(0, nbformat.v4.new_code_cell(WATCH))  # type: ignore[attr-defined]
    nb.cells.append(nbformat.v4.new_code_cell(CHECK))  # type: ignore[attr-defined]
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}}).execute()


@pytest.fixture()
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NBLABEL_APP_STORE", str(tmp_path / "app.sqlite"))
    monkeypatch.setenv("NBLABEL_ANNOTATOR", "notebook-test")
    # the kernel imports nblabel from this checkout
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    return tmp_path


@pytest.mark.slow
def test_a_swallowed_widget_error_fails(kernel_env: Path) -> None:
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import logging\n"
        "try:\n    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    logging.getLogger('nblabel').warning('widget action failed', exc_info=True)\n"
    )])
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="ZeroDivisionError"):
        execute(nb, kernel_env)


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, kernel_env: Path) -> None:
    nbclient = pytest.importorskip("nbclient")
    work = kernel_env / "notebooks"
    shutil.copytree(ROOT / "notebooks", work,
                    ignore=shutil.ignore_patterns("*.sqlite*", ".ipynb_checkpoints"))
    nb = nbformat.read(work / path.name, as_version=4)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        execute(nb, work)
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{path.name} failed:\n{str(e)[-3000:]}")
    finally:
        TIMINGS[path.name] = round(time.perf_counter() - t0, 1)
        _write_timings()
        nbformat.write(nb, ARTIFACTS / f"{path.stem}.executed.ipynb")  # to read by eye
    failures = stderr_failures(nb)
    assert not failures, f"{path.name} printed failures:\n" + "\n".join(failures)


def _write_timings() -> None:
    out = ARTIFACTS / "notebook-timings.json"
    old = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps({**old, **TIMINGS}, indent=1, sort_keys=True) + "\n")


@pytest.mark.slow
@pytest.mark.postgres
def test_team_notebook_on_postgresql(pg_url: str, kernel_env: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """04-team-labeling's PostgreSQL cell, against a real server (skipped without one)."""
    monkeypatch.setenv("NBLABEL_TEAM_URL", pg_url)
    work = kernel_env / "notebooks"
    shutil.copytree(ROOT / "notebooks", work, ignore=shutil.ignore_patterns("*.sqlite*"))
    nb = nbformat.read(work / "04-team-labeling.ipynb", as_version=4)
    execute(nb, work)
    (cell,) = [c for c in nb.cells if "NBLABEL_TEAM_URL" in c.source and c.cell_type == "code"]
    out = "".join(o.get("text", "") for o in cell.outputs)
    assert "skipped" not in out and "alice" in out and "bob" in out, out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_app_labels_a_folder_of_the_teachers_photos(kernel_env: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``nblabel app --images DIR --classes ...``: the app's kernel labels those photos with
    those classes, grouped by subfolder, instead of the bundled sample."""
    import numpy as np
    from PIL import Image

    photos = kernel_env / "photos"
    for name in ("pond/1.jpg", "pond/2.jpg", "forest/1.jpg"):
        (photos / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((40, 60, 3), 120, np.uint8)).save(photos / name)
    monkeypatch.setenv("NBLABEL_APP_IMAGES", str(photos))
    monkeypatch.setenv("NBLABEL_APP_CLASSES", "duck,<b>heron</b>")
    nb = nbformat.read(ROOT / "notebooks" / "app.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import gc\n"
        "(lab,) = [o for o in gc.get_objects() if isinstance(o, nblabel.BoxLabeler)]\n"
        "print('ITEMS', sorted(str(k) for k in lab.session.items.keys))\n"
        "print('CLASSES', lab.session.classes)\n"
        "print('CURRENT', lab.session.current.key)\n"))
    execute(nb, kernel_env)
    out = "".join(o.get("text", "") for o in nb.cells[-2].outputs)
    assert "ITEMS ['forest/1.jpg', 'pond/1.jpg', 'pond/2.jpg']" in out, out
    assert "CLASSES ['duck', '<b>heron</b>']" in out, out
    assert "CURRENT forest/1.jpg" in out or "CURRENT pond/1.jpg" in out, out
