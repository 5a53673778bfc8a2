"""Real-browser fixtures: JupyterLab 4 / Voila servers started by the tests on 127.0.0.1 and
Debian's Chromium driven by Playwright (python). The harness itself is
:mod:`nblabel.bench._browser` (shared with the widget benchmarks); these fixtures only wrap it.

Every test collected under ``tests/browser/`` gets the ``browser`` marker and needs
``/usr/bin/chromium`` (or ``$CHROMIUM``) and Playwright: missing -> skip locally, fail in CI
(``NBLABEL_STRICT=1``), through ``require()`` of ``tests/conftest.py``.

Fixtures
--------
browser        session-scoped Chromium (headless, hermetic flags)
page           a fresh 1280x900 page; requests not sent to 127.0.0.1 are aborted
notebook_dir   session-scoped directory served by both servers
lab_server     session-scoped JupyterLab: ``{"base", "token", "log"}``
open_lab       ``open_lab(page, lab_server, "name.ipynb", ui="lab"|"notebooks")``: open in
               JupyterLab or Notebook 7, wait for an idle kernel, run all cells
voila          ``voila("name.ipynb") -> base url`` (one Voila process per notebook)
kernel_print   ``kernel_print(page, code) -> str``: run code in the open notebook's kernel
write_notebook ``write_notebook(path, [cell_source, ...])``
screenshot     ``screenshot(page, "name") -> Path`` of ``tests/artifacts/name.png``

The same helpers are plain functions of :mod:`nblabel.bench._browser` for code that is not a
test.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import pytest

from nblabel.bench import _browser as harness
from nblabel.bench._browser import kernel_json, kernel_print, open_lab, write_notebook

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"


def _load_require():
    # tests/conftest.py is not importable by name from here (both files are "conftest"),
    # so load it under a private name; only its require() is used.
    spec = importlib.util.spec_from_file_location("_nblabel_tests_conftest",
                                                  ROOT / "tests" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.require


require = _load_require()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def screenshot(page, name: str, **kwargs) -> Path:
    """Save a PNG screenshot as ``tests/artifacts/<name>.png`` (not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    require(Path(harness.CHROMIUM).exists(), f"Chromium not found at {harness.CHROMIUM}")
    require(importlib.util.find_spec("playwright") is not None, "playwright is not installed")
    with harness.chromium_browser() as b:
        yield b


@pytest.fixture()
def page(browser):
    pg = harness.new_page(browser)
    yield pg
    pg.context.close()


@pytest.fixture(scope="session")
def notebook_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="session")
def lab_server(notebook_dir, tmp_path_factory, browser):
    with harness.lab_server(notebook_dir, tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture()
def voila(notebook_dir, tmp_path_factory, browser):
    """voila(notebook_name) -> base url; one Voila process per notebook, stopped after."""
    with contextlib.ExitStack() as stack:
        yield lambda name: stack.enter_context(
            harness.voila_server(notebook_dir / name, tmp_path_factory.mktemp("voila")))


def _helper_fixture(fn):
    """A fixture that hands out the plain helper ``fn`` under its own name."""
    return pytest.fixture(name=fn.__name__)(lambda: fn)


_kernel_print = _helper_fixture(kernel_print)
_kernel_json = _helper_fixture(kernel_json)
_write_notebook = _helper_fixture(write_notebook)
_screenshot = _helper_fixture(screenshot)
_open_lab = _helper_fixture(open_lab)


def pytest_terminal_summary(terminalreporter):
    for k, v in harness.TIMINGS.items():
        terminalreporter.write_line(f"TIMING {k}: {v:.2f}s")
