"""``nblabel bench widget``: box widget latency in headless Chromium (Voila on loopback).

Measures, for BoxLabeler (and, where they install, jupyter-bbox-widget and ipyannotations'
BoxAnnotator, the same way):

- next item: key (or Submit click) dispatched -> new image painted, prefetch warm;
- drag feedback: one pointer move dispatched -> the rectangle painted;
- burst: 100 pointer moves dispatched back to back -> the last one painted;
- bytes received over the websocket per image vs the encoded file.

Each figure is measured with the kernel idle, while a small torch model trains in a
background thread of the kernel ("busy"), and while the labeler's own
:class:`~nblabel.assist.BoxAssistant` works ("assist": its box model trains and its tracker
runs from eight labeled images, re-triggered every 0.3 s). "Painted" is taken after the
frame that shows the change: ``requestAnimationFrame`` then ``setTimeout(0)`` after the
draw (nblabel exposes this hook only when ``canvas.measure = True``; the others are observed
from outside: DOM mutations or canvas pixels, polled every frame).

Usage: ``nblabel bench widget [--images DIR] [--n-next 30] [--n-drag 60] [--quick]
[--no-others] [--out benchmarks/results/widget-DATE.json]``
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nblabel.bench._browser import chromium, voila_server, write_notebook
from nblabel.bench._widget_common import PROBES_JS, TRAINER, _Frames, _stats
from nblabel.bench.common import git_commit, machine_info, utc_now, write_json

__all__ = ["main"]

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("NBLABEL_SHARED_DATA", ROOT.parent / "shared" / "data"))

NBLABEL_CELL = '''
import json, os, pandas as pd
from nblabel.widgets import BoxLabeler
paths = json.loads({paths!r})
df = pd.DataFrame({{"path": paths}}, index=[os.path.basename(p) for p in paths])
app = BoxLabeler(df, image="path", classes=["food", "coin"], store={store!r})
app.canvas.measure = True
app
'''

ASSIST_CELL = '''
import json, os, re, threading, time, pandas as pd
from nblabel.assist import BoxAssistant
from nblabel.shapes import Box
from nblabel.widgets import BoxLabeler
paths = json.loads({paths!r})
names = [os.path.basename(p) for p in paths]
groups = [re.sub(r"[\\s_(]*\\d+\\)?\\.\\w+$", "", n) for n in names]
df = pd.DataFrame({{"path": paths, "group": groups}}, index=names)
# the real assistant, kept busy for the whole measurement: a long first fit (5 labels,
# 100,000 steps) and the tracker re-run from the labeled images every 0.3 s
assistant = BoxAssistant(first_fit=5, fit_steps=100_000, track_ahead=3, reorder=False)
app = BoxLabeler(df, image="path", classes=["food", "coin"], store={store!r}, group="group",
                 assist=assistant)
app.canvas.measure = True
seeds = list(df.index[-8:])  # not among the images the benchmark pages through
for k in seeds:
    w, h = app.session.items.item(k).size()
    app.session.set_boxes([Box("food", w * .25, h * .25, w * .6, h * .6)], key=k)
_stop = threading.Event()
def _keep_tracking():
    i = 0
    while not _stop.is_set():
        k = seeds[i % len(seeds)]
        app.session.set_boxes(app.session.value(k), key=k)  # a label again: track again
        i += 1
        time.sleep(0.3)
threading.Thread(target=_keep_tracking, daemon=True, name="bench-relabel").start()
app
'''

def _images(arg: str | None, n: int) -> tuple[list[str], str]:
    if arg:
        d = Path(arg)
    else:
        d = SHARED / "ecustfd" / "JPEGImages"
    files = sorted(p for p in d.glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if files:
        return [str(p) for p in files[:n]], str(d)
    from nblabel.data.datasets import food_sample

    images, _ = food_sample()
    return list(images["path"])[:n], "bundled food sample (ECUSTFD subset)"


def _measure_nblabel(new_page: Any, url: str, paths: list[str], n_next: int, n_drag: int,
                     bursts: int) -> dict[str, Any]:
    from nblabel.data.images import encode_for_display

    page = new_page()
    frames = _Frames(page)
    t0 = time.time()
    page.goto(url)
    page.wait_for_function("() => window.__nblabel_measure && "
                           "window.__nblabel_measure.events.some((e) => e.kind === 'image')")
    load_s = time.time() - t0
    page.evaluate(PROBES_JS)
    item = page.evaluate("() => window.__nblabel_measure.events.filter("
                         "(e) => e.kind === 'image').pop().item")
    by_name = {os.path.basename(p): p for p in paths}
    next_ms, confirm_ms, shown = [], [], []
    start_bytes = frames.bytes
    for _ in range(n_next):
        time.sleep(0.35)  # prefetch warm, like a person looking at the image
        r = page.evaluate("(a) => window.__bench_hook.next(a)", ["n", item, 10_000])
        if r["dt"] is None:
            break
        next_ms.append(r["dt"])
        confirm_ms.append(r["confirm"])
        item = r["item"]
        shown.append(by_name[item])
    time.sleep(1.0)
    page.evaluate("() => 0")  # let Playwright deliver the websocket events
    total = frames.bytes - start_bytes
    # each step sends one image (the next one ahead, or the new current one)
    encoded = sum(len(encode_for_display(p, max_side=1600)[0]) for p in shown)
    drag_ms: list[float] = []
    for _ in range(max(1, n_drag // 30)):
        drag_ms += page.evaluate("(a) => window.__bench_hook.drag(a)", [min(30, n_drag), 12])
    burst = [page.evaluate("(a) => window.__bench_hook.burst(a)", [100]) for _ in range(bursts)]
    page.context.close()
    return {
        "page_load_s": round(load_s, 2),
        "next_item_ms": _stats(next_ms),
        "next_item_kernel_confirmed_ms": _stats(confirm_ms),
        "drag_feedback_ms": _stats(drag_ms),
        "burst_100_after_last_ms": _stats([b["after_last"] for b in burst]),
        "burst_100_dispatch_ms": _stats([b["dispatch"] for b in burst]),
        "bytes_per_image": round(total / max(len(shown), 1)),
        "bytes_ratio_vs_encoded": round(total / encoded, 3) if encoded else None,
    }


def _run_nblabel(new_page: Any, tmp: Path, paths: list[str], kernel: str,
                 args: argparse.Namespace) -> dict[str, Any]:
    name = f"nblabel_{kernel}"
    cell = ASSIST_CELL if kernel == "assist" else NBLABEL_CELL
    cells = [cell.format(paths=json.dumps(paths), store=str(tmp / f"{name}.sqlite"))]
    if kernel == "busy":
        cells.insert(0, TRAINER)
    nb = write_notebook(tmp / f"{name}.ipynb", cells)
    with voila_server(nb, tmp) as url:
        return _measure_nblabel(new_page, url, paths, args.n_next, args.n_drag, args.bursts)


def _markdown(res: dict[str, Any]) -> str:
    lines = [
        f"# Box widget benchmark ({res['date']}, commit {str(res['commit'])[:8]})", "",
        f"Images: {res['images']} ({res['n_images']} images). Voila {res['server']} on "
        f"127.0.0.1, headless Chromium, {res['machine']['cpu_usable']} usable cores. "
        "Busy = a torch CNN training in a background thread of the kernel; assist = the "
        "labeler's own BoxAssistant training its box model and tracking.", "",
        "| widget | kernel | next item p50/p95 ms | drag feedback p50/p95 ms | "
        "burst 100: last painted after, p95 ms | bytes received / encoded |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in res["results"].items():
        if "error" in r:
            lines.append(f"| {name} | - | not measured: {r['error']} | | | |")
            continue
        def f(key: str, r: dict = r) -> str:
            s = r.get(key) or {}
            return f"{s.get('p50', '-')} / {s.get('p95', '-')}" if s.get("n") else "-"
        ratio = r.get("bytes_ratio_vs_encoded", "-")
        burst = (r.get("burst_100_after_last_ms") or {}).get("p95", "-")
        widget, _, kernel = name.rpartition("_")
        lines.append(f"| {widget} | {kernel} | {f('next_item_ms')} | {f('drag_feedback_ms')} | "
                     f"{burst} | {ratio} |")
    lines += ["", "nblabel paints the next image from the browser's preloaded copy on the key "
              "press; the kernel's confirmation (item state authoritative) came after, p50/p95 "
              "ms: " + ", ".join(
                  f"{k}: {r['next_item_kernel_confirmed_ms'].get('p50')} / "
                  f"{r['next_item_kernel_confirmed_ms'].get('p95')}"
                  for k, r in res["results"].items() if "next_item_kernel_confirmed_ms" in r)]
    lines += ["", "Design decision from these figures: the whole box editor (image layer "
              "included) is one anywidget ESM module drawing on plain browser canvases; the "
              "kernel only receives committed edits and key actions. ipycanvas is not used: "
              "with Python handling each move, drag feedback measured p95 56-387 ms "
              "(issue 3), here it stays at browser frame times whatever the kernel does."]
    lines += ["", "Targets: next p95 < 150 ms, drag p95 < 50 ms (also busy), burst < 100 ms, "
              "bytes <= 1.1x.", "", f"Reproduce: `{res['command']}`", ""]
    for note in res.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; write JSON and Markdown under ``benchmarks/results/``."""
    ap = argparse.ArgumentParser(prog="nblabel bench widget", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", help="directory of images (default: ECUSTFD, else bundled)")
    ap.add_argument("--n-images", type=int, default=40)
    ap.add_argument("--n-next", type=int, default=30)
    ap.add_argument("--n-drag", type=int, default=60)
    ap.add_argument("--bursts", type=int, default=5)
    ap.add_argument("--no-others", action="store_true",
                    help="skip jupyter-bbox-widget and ipyannotations")
    ap.add_argument("--quick", action="store_true", help="fewer samples (smoke run)")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--out", help="JSON path (default benchmarks/results/widget-DATE.json)")
    args = ap.parse_args(argv)
    if args.quick:
        args.n_next, args.n_drag, args.bursts, args.n_images = 6, 30, 2, 10
    paths, source = _images(args.images, args.n_images)
    from importlib import metadata

    res: dict[str, Any] = {
        "benchmark": "widget", "date": utc_now(), "commit": git_commit(),
        "machine": machine_info(), "images": source, "n_images": len(paths),
        "server": metadata.version("voila"),
        "command": "nblabel bench widget " + " ".join(argv or []),
        "results": {}, "notes": [],
    }
    with tempfile.TemporaryDirectory(prefix="nblabel-bench-") as d, \
            chromium(args.chromium) as new_page:
        tmp = Path(d)
        for kernel in ("idle", "busy", "assist"):
            key = f"nblabel_{kernel}"
            try:
                res["results"][key] = _run_nblabel(new_page, tmp, paths, kernel, args)
            except Exception as e:  # recorded, not hidden
                res["results"][key] = {"error": f"{type(e).__name__}: {e}"}
            print(key, json.dumps(res["results"][key]), flush=True)
        if not args.no_others:
            from nblabel.bench import _widget_others

            for key, r in _widget_others.run_all(new_page, tmp, paths, args):
                res["results"][key] = r
                print(key, json.dumps(r), flush=True)
            res["notes"] += _widget_others.NOTES
    out = Path(args.out) if args.out else (
        ROOT / "benchmarks" / "results" / f"widget-{res['date'][:10]}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, res)
    out.with_suffix(".md").write_text(_markdown(res))
    print(f"wrote {out} and {out.with_suffix('.md')}")
    return 0
