"""Real-browser fixtures: JupyterLab 4 / Voila servers started by the tests on 127.0.0.1 and
Debian's Chromium driven by Playwright (python). Adapted from the verified recipe in
``../shared/docs/browser-testing/``.

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

The same helpers are plain functions of this module for code that is not a test.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VENV_BIN = Path(sys.executable).parent  # jupyter/voila of the interpreter running pytest
TIMINGS: dict[str, float] = {}


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


# -- helpers (plain functions) ---------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status < 400:
                    return time.time() - t0
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 120) -> float:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return time.time() - t0
        time.sleep(0.2)
    raise TimeoutError(port)


def jupyter_config_dir(tmp: Path) -> Path:
    """Config for a quiet, offline, root-friendly server (passed via JUPYTER_CONFIG_DIR)."""
    cfg = tmp / "jupyter-config"
    (cfg / "labconfig").mkdir(parents=True, exist_ok=True)
    (cfg / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"allow_root": True},
        "LabApp": {"news_url": None, "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
                   "extension_manager": "readonly"},
        # Notebook 7 pages (/notebooks/...) served by the same server, when installed
        "JupyterNotebookApp": {"expose_app_in_browser": True},
    }))
    (cfg / "labconfig" / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    return cfg


def server_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(jupyter_config_dir(tmp))
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"
    # the kernel imports the package under test from this checkout
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a notebook of code cells (sources as strings)."""
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": [src]} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}))
    return path


def kernel_print(page, code: str, timeout_ms: int = 30_000) -> str:
    """Run ``code`` in the open JupyterLab notebook's kernel (needs
    ``--LabApp.expose_app_in_browser``) and return what it printed (errors as
    ``Name: value``); the notebook's cells are not touched."""
    return page.evaluate("""async ([code, timeout]) => {
        const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
        let out = "";
        const future = kernel.requestExecute({code, store_history: false});
        future.onIOPub = (msg) => {
            if (msg.header.msg_type === "stream") out += msg.content.text;
            if (msg.header.msg_type === "error")
                out += msg.content.ename + ": " + msg.content.evalue;
        };
        await Promise.race([future.done, new Promise((_, rej) =>
            setTimeout(() => rej(new Error("kernel did not answer in time")), timeout))]);
        return out;
    }""", [code, timeout_ms])


def kernel_json(page, expr: str) -> object:
    """Evaluate a Python expression in the kernel and return it decoded from JSON."""
    out = kernel_print(page, f"import json as _j; print(_j.dumps({expr}, default=str))")
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        raise AssertionError(f"kernel said: {out}") from None


def screenshot(page, name: str, **kwargs) -> Path:
    """Save a PNG screenshot as ``tests/artifacts/<name>.png`` (not committed)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **kwargs)
    return path


def open_lab(page, server: dict, name: str, run_all: bool = True, ui: str = "lab") -> None:
    """Open ``name`` in JupyterLab (``ui="lab"``) or Notebook 7 (``ui="notebooks"``, needs
    the ``notebook`` package), wait for a connected idle kernel, then run all cells without
    awaiting the command's promise (it can hang)."""
    t0 = time.time()
    if ui == "lab":
        page.goto(f"{server['base']}/lab/tree/{name}?token={server['token']}&reset")
    else:
        page.goto(f"{server['base']}/notebooks/{name}?token={server['token']}")
    page.wait_for_function("""() => {
        const k = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
        return k && k.connectionStatus === "connected" && k.status === "idle"; }""")
    TIMINGS["lab page load to kernel idle"] = time.time() - t0
    if run_all:
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


# -- fixtures --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(60_000)
    # hermetic: abort every request that does not go to the loopback servers
    ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    pg = ctx.new_page()
    pg.page_errors = []  # JS exceptions, for tests to assert on
    pg.on("pageerror", lambda e: (pg.page_errors.append(str(e)), print("PAGE ERROR:", e)))
    pg.on("console", lambda m: m.type == "error" and print("CONSOLE ERROR:", m.text[:300]))
    yield pg
    ctx.close()


@pytest.fixture(scope="session")
def notebook_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="session")
def lab_server(notebook_dir, tmp_path_factory, browser):
    tmp = tmp_path_factory.mktemp("lab")
    port, token = free_port(), secrets.token_hex(16)
    cmd = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebook_dir}",
           "--LabApp.expose_app_in_browser=True"]
    log = open(tmp / "lab.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, env=server_env(tmp), stdout=log, stderr=subprocess.STDOUT,
                            cwd=notebook_dir)
    base = f"http://127.0.0.1:{port}"
    try:
        TIMINGS["lab server start"] = wait_http(f"{base}/api/status?token={token}", proc)
        yield {"base": base, "token": token, "log": tmp / "lab.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture()
def voila(notebook_dir, tmp_path_factory, browser):
    """voila(notebook_name) -> base url; one Voila process per notebook, stopped after."""
    procs = []

    def start(name: str) -> str:
        tmp = tmp_path_factory.mktemp("voila")
        port = free_port()
        cmd = [str(VENV_BIN / "voila"), str(notebook_dir / name), "--no-browser",
               "--Voila.ip=127.0.0.1", f"--Voila.port={port}", "--Voila.port_retries=0",
               "--show_tracebacks=True"]
        log = open(tmp / "voila.log", "w")  # noqa: SIM115 (closed below)
        proc = subprocess.Popen(cmd, env=server_env(tmp), stdout=log, stderr=subprocess.STDOUT,
                                cwd=notebook_dir)
        procs.append((proc, log))
        TIMINGS["voila server start"] = wait_port(port, proc)
        return f"http://127.0.0.1:{port}"

    yield start
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(name="kernel_print")
def _kernel_print_fixture():
    return kernel_print


@pytest.fixture(name="kernel_json")
def _kernel_json_fixture():
    return kernel_json


@pytest.fixture(name="write_notebook")
def _write_notebook_fixture():
    return write_notebook


@pytest.fixture(name="screenshot")
def _screenshot_fixture():
    return screenshot


@pytest.fixture(name="open_lab")
def _open_lab_fixture():
    return open_lab


def pytest_terminal_summary(terminalreporter):
    for k, v in TIMINGS.items():
        terminalreporter.write_line(f"TIMING {k}: {v:.2f}s")
