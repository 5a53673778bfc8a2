"""The one browser harness of nblabel: JupyterLab / Voila servers on 127.0.0.1 and headless
Chromium driven by Playwright, used by the widget benchmarks and by ``tests/browser/``
(whose fixtures only wrap these functions).

Servers run the interpreter's own ``jupyter`` / ``voila``, with a quiet, offline,
root-friendly configuration, and the kernels import nblabel from this checkout (it leads
``PYTHONPATH``). Pages abort every request that does not go to the loopback servers.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "TIMINGS",
    "chromium",
    "chromium_browser",
    "free_port",
    "kernel_json",
    "kernel_print",
    "lab_server",
    "new_page",
    "open_lab",
    "server_env",
    "voila_server",
    "wait_for",
    "wait_http",
    "wait_port",
    "write_notebook",
]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VENV_BIN = Path(sys.executable).parent  # jupyter/voila of the running interpreter
ROOT = Path(__file__).resolve().parents[2]  # the checkout the kernels import nblabel from
#: seconds of the slow steps (server start, page load), printed by the test session
TIMINGS: dict[str, float] = {}


def wait_for(fn: Callable[[], Any], timeout: float = 15.0, step: float = 0.2) -> Any:
    """Call ``fn`` until it returns something true or ``timeout`` seconds pass; its last
    value."""
    deadline = time.time() + timeout
    while True:
        value = fn()
        if value or time.time() > deadline:
            return value
        time.sleep(step)


# -- notebooks and servers ---------------------------------------------------------------------
def write_notebook(path: Path, cells: list[str]) -> Path:
    """Write a notebook of code cells (sources as strings)."""
    path.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                   "outputs": [], "source": [src]} for i, src in enumerate(cells)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                    "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}))
    return path


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 120) -> float:
    """Wait until ``port`` accepts connections; the seconds it took."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return time.time() - t0
        time.sleep(0.2)
    raise TimeoutError(port)


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    """Wait until ``url`` answers below 400; the seconds it took."""
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


def _config_dir(tmp: Path) -> Path:
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
    """Environment of a server (and its kernels): config and runtime under ``tmp``, this
    interpreter's tools first on ``PATH``, this checkout first on ``PYTHONPATH``."""
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["JUPYTER_CONFIG_DIR"] = str(_config_dir(tmp))
    env["JUPYTER_RUNTIME_DIR"] = str(tmp / "runtime")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env['PATH']}"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


@contextlib.contextmanager
def _serve(cmd: list[str], tmp: Path, cwd: Path, log_name: str) -> Iterator[tuple[Any, Path]]:
    log_path = tmp / log_name
    log = open(log_path, "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(cmd, env=server_env(tmp), stdout=log, stderr=subprocess.STDOUT,
                            cwd=cwd)
    try:
        yield proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


@contextlib.contextmanager
def voila_server(notebook: Path, tmp: Path) -> Iterator[str]:
    """Serve one notebook with Voila on 127.0.0.1; yields its URL (stopped after)."""
    port = free_port()
    cmd = [str(VENV_BIN / "voila"), str(notebook), "--no-browser", "--Voila.ip=127.0.0.1",
           f"--Voila.port={port}", "--Voila.port_retries=0", "--show_tracebacks=True"]
    with _serve(cmd, tmp, notebook.parent, f"voila-{port}.log") as (proc, log):
        try:
            TIMINGS["voila server start"] = wait_port(port, proc)
        except RuntimeError as e:
            raise RuntimeError(f"{e}; see {log}") from None
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def lab_server(root_dir: Path, tmp: Path) -> Iterator[dict[str, Any]]:
    """JupyterLab on 127.0.0.1 serving ``root_dir`` (``window.jupyterapp`` exposed);
    yields ``{"base", "token", "log"}`` (stopped after)."""
    port, token = free_port(), secrets.token_hex(16)
    cmd = [str(VENV_BIN / "jupyter"), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}",
           "--LabApp.expose_app_in_browser=True"]
    with _serve(cmd, tmp, root_dir, "lab.log") as (proc, log):
        base = f"http://127.0.0.1:{port}"
        TIMINGS["lab server start"] = wait_http(f"{base}/api/status?token={token}", proc)
        yield {"base": base, "token": token, "log": log}


# -- Chromium ----------------------------------------------------------------------------------
@contextlib.contextmanager
def chromium_browser(executable: str = CHROMIUM) -> Iterator[Any]:
    """A headless Chromium (Playwright ``Browser``), closed after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, timeout_ms: int = 60_000) -> Any:
    """A fresh 1280x900 page whose requests not sent to 127.0.0.1 are aborted; its JS
    exceptions are collected in ``page.page_errors``."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(timeout_ms)
    ctx.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    page = ctx.new_page()
    page.page_errors = []
    page.on("pageerror", lambda e: (page.page_errors.append(str(e)), print("PAGE ERROR:", e)))
    page.on("console", lambda m: m.type == "error" and print("CONSOLE ERROR:", m.text[:300]))
    return page


@contextlib.contextmanager
def chromium(executable: str = CHROMIUM) -> Iterator[Callable[[], Any]]:
    """A headless Chromium; yields ``new_page()`` (pages with a 90 s default timeout)."""
    with chromium_browser(executable) as browser:
        yield lambda: new_page(browser, timeout_ms=90_000)


# -- JupyterLab pages --------------------------------------------------------------------------
def open_lab(page: Any, server: dict[str, Any], name: str, run_all: bool = True,
             ui: str = "lab") -> None:
    """Open ``name`` in JupyterLab (``ui="lab"``) or Notebook 7 (``ui="notebooks"``), wait
    for a connected idle kernel, then run all cells without awaiting the command's promise
    (it can hang)."""
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


def kernel_print(page: Any, code: str, timeout_ms: int = 30_000) -> str:
    """Run ``code`` in the open notebook's kernel and return what it printed (errors as
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


def kernel_json(page: Any, expr: str) -> Any:
    """Evaluate a Python expression in the kernel and return it decoded from JSON."""
    out = kernel_print(page, f"import json as _j; print(_j.dumps({expr}, default=str))")
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        raise AssertionError(f"kernel said: {out}") from None
