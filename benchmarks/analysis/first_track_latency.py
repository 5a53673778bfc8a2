"""How long after the first box of a session the next photo of its group has the
tracker's suggestion (and the same for the next few keyframes).

A session on the bundled food sample with ``BoxAssistant(model=None)``: the annotator boxes
the current photo (true boxes), presses ``n``, and the script polls the new photo's
suggestions every 5 ms. It waits 3 s after attaching, as a person would before their first
box. Run from the repository root (``PYTHONPATH`` picks the code measured)::

    python benchmarks/analysis/first_track_latency.py
"""
import json
import statistics
import time

from nblabel.assist import BoxAssistant
from nblabel.data.datasets import food_sample
from nblabel.session import BoxSession
from nblabel.shapes import Box


def main() -> None:
    images, truth = food_sample()
    s = BoxSession(images, image="path", classes=["apple", "banana", "bread", "egg", "coin"],
                   group="group")
    a = BoxAssistant(model=None).attach(s)
    time.sleep(3)
    waits = []
    for _ in range(12):
        k = s.current.key
        s.set_boxes([Box(r.label, r.x0, r.y0, r.x1, r.y1)
                     for r in truth[truth.id == k].itertuples()])
        t0 = time.perf_counter()
        s.next()
        k2 = s.current.key
        if images.at[k2, "group"] == images.at[k, "group"]:
            while not s.suggestions(k2) and time.perf_counter() - t0 < 10:
                time.sleep(0.005)
            waits.append(round((time.perf_counter() - t0) * 1000, 1))
        a.wait()
    a.close()
    s.close()
    print(json.dumps({"first_ms": waits[0], "later_median_ms": statistics.median(waits[1:]),
                      "all_ms": waits}))


if __name__ == "__main__":
    main()
