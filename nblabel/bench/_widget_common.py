"""What the widget benchmark (:mod:`nblabel.bench.widget`) and its runs of other widgets
(:mod:`nblabel.bench._widget_others`) share: the JS probes, the busy-kernel trainer cell,
the websocket byte counter and the summary statistics."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["PROBES_JS", "TRAINER"]

TRAINER = '''
import threading, time
_stop = threading.Event()
_train_steps = [0]
def _train():
    import torch
    torch.set_num_threads(1)
    m = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3), torch.nn.ReLU(), torch.nn.Conv2d(16, 16, 3),
                            torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                            torch.nn.Linear(16, 2))
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    x, y = torch.randn(16, 3, 96, 96), torch.randint(0, 2, (16,))
    while not _stop.is_set():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
        _train_steps[0] += 1
threading.Thread(target=_train, daemon=True, name="bench-train").start()
'''

# JS probes (window.__bench_hook / window.__bench_ext), installed by page.evaluate
PROBES_JS = "\n".join(line for line in (Path(__file__).parent / "widget_probes.js")
                      .read_text().splitlines() if not line.startswith("//"))





def _stats(values: Sequence[float], digits: int = 1) -> dict[str, Any]:
    v = sorted(x for x in values if x is not None)
    if not v:
        return {"n": 0}
    q = statistics.quantiles(v, n=20, method="inclusive") if len(v) > 1 else [v[0]] * 19
    return {"n": len(v), "p50": round(statistics.median(v), digits),
            "p95": round(q[18], digits), "max": round(v[-1], digits),
            "mean": round(statistics.fmean(v), digits)}


class _Frames:
    """Bytes received over the page's websockets."""

    def __init__(self, page: Any) -> None:
        self.bytes = 0
        page.on("websocket", lambda ws: ws.on("framereceived", self._add))

    def _add(self, payload: Any) -> None:
        self.bytes += len(payload.encode() if isinstance(payload, str) else payload)
