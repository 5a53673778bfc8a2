"""The annotator app in a real browser: ``nblabel app notebooks/app.ipynb --store FILE``
(Voila, through nblabel/app.py), headless Chromium draws a box and presses keys, and the
SQLite store is checked afterwards from this process.

Every process the app starts (Voila, its kernels) carries a tag in its environment; the
autouse fixture ``no_survivors`` fails a test that leaves one of them running (and ends it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import expect

from nblabel.bench import _browser as harness
from nblabel.bench._browser import wait_for
from nblabel.data.datasets import food_sample
from nblabel.session import BoxSession
from tests.browser.test_boxes_browser import to_page

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
APP = ROOT / "notebooks" / "app.ipynb"
CLASSES = ["apple", "banana", "egg", "coin"]  # as in notebooks/app.ipynb
W, H = 800, 560  # BoxLabeler's default canvas size (CSS px)
DRAWN = (530, 284, 619, 372)  # image pixels: the coin of apple002S_1
ANNOTATOR = "app-browser-test"
TAG_ENV = "NBLABEL_TEST_PROCESS_TAG"  # inherited by Voila and its kernels
TAG = f"app-browser-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def tagged() -> list[psutil.Process]:
    """Running processes started by this module's apps (their environment has TAG)."""
    out = []
    for p in psutil.process_iter():
        if p.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            if p.environ().get(TAG_ENV) == TAG and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
    return out


@pytest.fixture(autouse=True)
def no_survivors():
    """No Voila server or kernel started by a test may outlive it."""
    yield
    if wait_for(lambda: not tagged(), timeout=5):
        return
    left = tagged()
    desc = [" ".join(p.cmdline()[:4]) for p in left]
    for p in left:  # never leave them running, even when failing
        with contextlib.suppress(psutil.Error):
            p.kill()
    pytest.fail(f"processes outlived the test: {desc}")


class App:
    """A running ``nblabel app``: its port and process."""

    def __init__(self, port: int, proc: subprocess.Popen) -> None:
        self.port, self.proc = port, proc


@contextlib.contextmanager
def serve_app(tmp_path: Path, store: Path, annotator: str | None) -> Iterator[App]:
    """``nblabel app notebooks/app.ipynb --store STORE`` on a free port."""
    port = harness.free_port()
    env = harness.server_env(tmp_path)
    env[TAG_ENV] = TAG
    env.pop("NBLABEL_ANNOTATOR", None)
    if annotator:
        env["NBLABEL_ANNOTATOR"] = annotator
    log = open(tmp_path / "app.log", "w")  # noqa: SIM115 (closed below)
    cmd = [sys.executable, "-m", "nblabel.cli", "app", str(APP), "--port", str(port),
           "--no-browser", "--store", str(store), "--", "--Voila.port_retries=0"]
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        harness.TIMINGS["nblabel app start"] = harness.wait_port(port, proc)
        yield App(port, proc)
    finally:
        proc.terminate()  # SIGTERM: nblabel app stops Voila and its kernels, then exits
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_app_serves_labels_and_keys(browser, page, tmp_path, screenshot):
    store = tmp_path / "app.sqlite"
    with serve_app(tmp_path, store, ANNOTATOR) as app:
        port = app.port
        t0 = time.time()
        page.goto(f"http://127.0.0.1:{port}/")
        canvas = page.locator(".nbl-canvas")
        canvas.wait_for()
        harness.TIMINGS["nblabel app page to canvas"] = time.time() - t0
        # the annotator sees instructions and the labeler, not the code
        expect(page.get_by_role("heading", name="Label the photos")).to_be_visible()
        expect(canvas).to_be_visible()
        assert "writable_store" not in page.content(), "the app shows the notebook's code"
        expect(page.locator(".nblabel-item-id")).to_have_text("apple002S_1")

        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        canvas.click(position={"x": 5, "y": 5})  # focus (a click on the image draws nothing)
        page.keyboard.press("4")  # pick, then draw: class 4 (coin) for the next box
        expect(page.locator(".nbl-legend-item.nbl-active")).to_contain_text("coin")
        x0, y0 = to_page(canvas, *DRAWN[:2])
        canvas.hover(position={"x": x0 - box["x"], "y": y0 - box["y"]})
        page.mouse.down()
        page.mouse.move(*to_page(canvas, *DRAWN[2:]), steps=6)
        page.mouse.up()
        expect(page.locator(".nbl-status")).to_contain_text("1 box")
        screenshot(page, "app-voila")
        page.keyboard.press("n")  # next photo
        expect(page.locator(".nblabel-item-id")).to_have_text("apple002S_2")
        # the app's assistant carried the coin box to this photo (tracker), unasked
        expect(page.locator(".nbl-status")).to_contain_text("1 suggestion", timeout=90_000)
        expect(page.locator(".nblabel-assist-status")).to_contain_text("model after 20 labels")
        screenshot(page, "app-voila-tracker-suggestion")
        # below the labeler: who labels and how far the class has come (the whole page)
        team = page.locator(".nblabel-team")
        expect(team).to_contain_text(ANNOTATOR, timeout=20_000)
        team.scroll_into_view_if_needed()
        expect(team).to_be_in_viewport()
        expect(team).to_contain_text("1 of 60 labeled")  # the label just made, not at the
        expect(team.locator("tr.me")).to_contain_text("apple002S_2")  # next 5 s refresh
        screenshot(page, "app-voila-page", full_page=True)
        assert not page.page_errors, page.page_errors
    app_log = (tmp_path / "app.log").read_text()
    assert "Voila" in app_log or "voila" in app_log, app_log[-2000:]
    assert f"127.0.0.1:{port}" in app_log, "the app must bind to 127.0.0.1 by default"

    # the kernel's truth, from the store the app was told to use
    images, _ = food_sample()

    def reopened():
        with BoxSession(images, image="path", classes=CLASSES, store=str(store),
                        annotator=ANNOTATOR) as s:
            labels = s.labels
            return (labels, s.current.key) if len(labels) == 1 else None

    got = wait_for(reopened, timeout=20.0)
    assert got, f"the store {store} did not get the label"
    labels, current = got
    (row,) = labels.to_dict("records")
    assert row["item"] == "apple002S_1" and row["label"] == "coin"
    assert row["annotator"] == ANNOTATOR
    assert all(abs(a - b) <= 2 for a, b in zip((row["x0"], row["y0"], row["x1"], row["y1"]),
                                               DRAWN)), row
    assert current == "apple002S_2", "the key press 'n' did not reach the kernel's cursor"
    assert os.path.exists(store)


def test_app_asks_for_a_name(browser, page, tmp_path):
    """Without $NBLABEL_ANNOTATOR each annotator types a name; two names get two different
    photos (leases), both recorded in the store."""
    from nblabel.store.assign import leases

    store = tmp_path / "app.sqlite"
    with serve_app(tmp_path, store, None) as app:
        port = app.port
        shown = []
        for who in ("ana", "ben"):
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_placeholder("your name").wait_for()
            page.get_by_role("button", name="Start labeling").click()
            expect(page.get_by_text("Please type your name first.")).to_be_visible()
            page.get_by_placeholder("your name").fill(who)
            page.get_by_role("button", name="Start labeling").click()
            page.locator(".nbl-canvas").wait_for()
            shown.append(page.locator(".nblabel-item-id").inner_text())
        assert not page.page_errors, page.page_errors
    assert shown[0] != shown[1], f"two annotators were served the same photo: {shown}"
    with BoxSession(food_sample()[0], image="path", classes=CLASSES, store=str(store)) as s:
        held = leases(s.store, s.task)
    assert dict(zip(held["annotator"], held["item"])) == {"ana": shown[0], "ben": shown[1]}


def test_sigterm_stops_voila_and_its_kernels(browser, page, tmp_path):
    """SIGTERM to ``nblabel app`` with a page open (a kernel running): it exits, and no
    Voila server or kernel is left in the process table (issue 15.3)."""
    store = tmp_path / "app.sqlite"
    with serve_app(tmp_path, store, ANNOTATOR) as app:
        page.goto(f"http://127.0.0.1:{app.port}/")
        page.locator(".nbl-canvas").wait_for()
        running = tagged()
        cmds = [" ".join(p.cmdline()) for p in running]
        assert any("voila" in c for c in cmds), cmds
        assert any("ipykernel" in c for c in cmds), f"no kernel started: {cmds}"
        app.proc.send_signal(signal.SIGTERM)
        rc = app.proc.wait(40)
        assert rc == 128 + signal.SIGTERM, rc
        # the moment nblabel app has exited, Voila and its kernel are gone
        assert [p.pid for p in tagged()] == [], [" ".join(p.cmdline()[:4]) for p in tagged()]
    assert "Handle signal" in (tmp_path / "app.log").read_text()  # Voila got the signal
