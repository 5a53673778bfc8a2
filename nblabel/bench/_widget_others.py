"""Box widgets measured from outside, all the same way (see nblabel/bench/widget.py).

No hook inside the widget: the page is watched every animation frame for a visible change
(canvas pixels around a probe point or along the middle row, ``<img>`` sources once loaded,
DOM mutations of SVG/HTML boxes); the time is taken after the frame that shows it
(``requestAnimationFrame`` then ``setTimeout(0)``). Events are dispatched in the page
(PointerEvent + MouseEvent at ``elementFromPoint``), so the figures include no
Playwright/CDP latency.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

from nblabel.bench._browser import voila_server, write_notebook
from nblabel.bench._widget_common import PROBES_JS

__all__ = ["NOTES", "run_all"]

NOTES: list[str] = []


TRIGGERS = {
    # dispatch the widget's own "next" in the page, synchronously at t0
    "nblabel": "() => document.querySelector('.nbl-root').dispatchEvent("
               "new KeyboardEvent('keydown', {key: 'n', bubbles: true, cancelable: true}))",
    "jupyter-bbox-widget": "() => [...document.querySelectorAll('.bench-root button')]"
                           ".find((b) => b.textContent.includes('Submit')).click()",
}

SETUP = {
    "nblabel": '''
import json, os, pandas as pd
from nblabel.widgets import BoxLabeler
paths = json.loads({paths!r})
df = pd.DataFrame({{"path": paths}}, index=[os.path.basename(p) for p in paths])
app = BoxLabeler(df, image="path", classes=["food", "coin"], store={store!r})
app.widget.add_class("bench-root")
app
''',
    "jupyter-bbox-widget": '''
import json
from jupyter_bbox_widget import BBoxWidget
paths = json.loads({paths!r})
w = BBoxWidget(image=paths[0], classes=["food", "coin"])
w.add_class("bench-root")
state = {{"i": 0}}
@w.on_submit
def _next():
    state["i"] = (state["i"] + 1) % len(paths)
    w.bboxes = []
    w.image = paths[state["i"]]
w
''',
}
STAGE = {"nblabel": ".bench-root .nbl-canvas", "jupyter-bbox-widget": ".bench-root img"}


def _stats(values: list[float | None]) -> dict[str, Any]:
    from nblabel.bench._widget_common import _stats as s

    missed = sum(v is None for v in values)
    out = s([v for v in values if v is not None])
    if missed:
        out["missed"] = missed
    return out


def _measure(new_page: Any, url: str, name: str, paths: list[str], args: Any) -> dict[str, Any]:
    from nblabel.bench._widget_common import _Frames
    from nblabel.data.images import encode_for_display

    page = new_page()
    frames = _Frames(page)
    page.goto(url)
    page.locator(STAGE[name]).first.wait_for()
    time.sleep(2.0)  # first image decoded and shown
    page.evaluate(PROBES_JS)
    trigger = TRIGGERS[name]
    next_ms = []
    start_bytes = frames.bytes
    for _ in range(args.n_next):
        time.sleep(0.35)
        next_ms.append(page.evaluate(
            f"() => window.__bench_ext.next('.bench-root', {trigger}, 10000)"))
    time.sleep(1.0)
    page.evaluate("() => 0")
    total = frames.bytes - start_bytes
    # both widgets step through ``paths`` in order from the first
    shown = [paths[(k + 1) % len(paths)] for k in range(len(next_ms))]
    encoded = sum(len(encode_for_display(p, max_side=1600)[0]) for p in shown)
    drag: list[float | None] = []
    for _ in range(max(1, args.n_drag // 30)):
        drag += page.evaluate("([s, n]) => window.__bench_ext.drag('.bench-root', s, n, 12, 6, 4)",
                              [STAGE[name], min(30, args.n_drag)])
    burst = [page.evaluate("([s]) => window.__bench_ext.burst('.bench-root', s, 100, 5, 4)",
                           [STAGE[name]]) for _ in range(args.bursts)]
    page.context.close()
    return {
        "method": "external (pixels / DOM watched every frame)",
        "next_item_ms": _stats(next_ms),
        "drag_feedback_ms": _stats(drag),
        "burst_100_after_last_ms": _stats(burst),
        "bytes_per_image": round(total / max(len(shown), 1)),
        "bytes_ratio_vs_encoded": round(total / encoded, 3) if encoded else None,
    }


def run_all(new_page: Any, tmp: Path, paths: list[str], args: Any):
    """Yield ``(name, result)`` for nblabel and the other widgets, measured externally."""
    NOTES.append(
        "ipyannotations 0.5.1 (BoxAnnotator) installs but does not render with ipywidgets 8: "
        "its front end requires @jupyter-widgets/base ^1-^4 (ipywidgets 7); the page shows "
        "'Loading widget...' (console: 'Unsatisfied version 6.0.12 ... of shared singleton "
        "module @jupyter-widgets/base'). Not measured.")
    for name in ("nblabel", "jupyter-bbox-widget"):
        for busy in (False, True):
            key = f"{name}-external_{'busy' if busy else 'idle'}"
            try:
                if name == "jupyter-bbox-widget":
                    __import__("jupyter_bbox_widget")
                from nblabel.bench._widget_common import TRAINER

                cells = [SETUP[name].format(paths=json.dumps(paths),
                                            store=str(tmp / f"{key}.sqlite"))]
                if busy:
                    cells.insert(0, TRAINER)
                nb = write_notebook(tmp / f"{key}.ipynb", cells)
                with voila_server(nb, tmp) as url:
                    result = _measure(new_page, url, name, paths, args)
            except Exception as e:  # recorded with the reason
                result = {"error": f"{type(e).__name__}: {str(e)[:300]}"}
            yield key, result
    with contextlib.suppress(Exception):
        from importlib import metadata

        NOTES.append("versions: jupyter-bbox-widget "
                     f"{metadata.version('jupyter-bbox-widget')}, ipyannotations "
                     f"{metadata.version('ipyannotations')}, anywidget "
                     f"{metadata.version('anywidget')}, ipywidgets "
                     f"{metadata.version('ipywidgets')}")
