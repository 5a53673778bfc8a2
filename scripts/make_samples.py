"""Rebuild the bundled samples in nblabel/data/ from ../shared/data (run once; output is committed).

    python scripts/make_samples.py [--shared ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nblabel" / "data"
FOODS = ("apple", "banana", "egg")
PER_FOOD = 20
MAX_SIDE = 640
GROUP = re.compile(r"^(?P<food>[a-z_]+)(?P<portion>\d{3})(?P<view>[A-Za-z])\((?P<n>\d+)\)$")


def food_sample(shared: Path) -> None:
    src = shared / "ecustfd"
    out = OUT / "food"
    if out.exists():
        shutil.rmtree(out)
    (out / "images").mkdir(parents=True)
    groups: dict[str, list[Path]] = defaultdict(list)
    for p in sorted((src / "JPEGImages").glob("*.JPG")):
        m = GROUP.match(p.stem)
        if m and m["food"] in FOODS:
            groups[m["food"] + m["portion"] + m["view"].upper()].append(p)
    rows, boxes = [], []
    for food in FOODS:
        taken = 0
        for g in sorted(k for k in groups if k.startswith(food)):
            if taken >= PER_FOOD:
                break
            files = sorted(groups[g], key=lambda p: int(GROUP.match(p.stem)["n"]))
            if len(files) < 4:
                continue
            for p in files[: PER_FOOD - taken]:
                im = Image.open(p)
                w0, h0 = im.size
                im = im.convert("RGB")
                im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
                s = im.size[0] / w0
                name = p.stem.replace("(", "_").replace(")", "") + ".jpg"
                im.save(out / "images" / name, quality=85)
                item = Path(name).stem
                rows.append({"id": item, "path": f"images/{name}", "group": g, "food": food,
                             "width": im.size[0], "height": im.size[1]})
                tree = ET.parse(src / "Annotations" / (p.stem + ".xml"))
                for obj in tree.iter("object"):
                    bb = obj.find("bndbox")
                    label = obj.findtext("name")
                    boxes.append({"id": item, "label": label,
                                  **{k: round(float(bb.findtext(k)) * s, 1)
                                     for k in ("xmin", "ymin", "xmax", "ymax")}})
                taken += 1
    (out / "images.json").write_text(json.dumps(rows, indent=0))
    (out / "boxes.json").write_text(json.dumps(boxes, indent=0))
    print(f"food sample: {len(rows)} images, {len(boxes)} boxes")


def projects_sample(shared: Path, n: int = 200) -> None:
    src = shared / "madewithml"
    out = OUT / "projects"
    out.mkdir(parents=True, exist_ok=True)
    projects = json.loads((src / "projects.json").read_text())
    projects.sort(key=lambda p: p["created_on"])
    (out / "projects.json").write_text(json.dumps(projects[:n], indent=0))
    shutil.copy(src / "tags.json", out / "tags.json")
    print(f"projects sample: {n} projects")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    a = ap.parse_args()
    food_sample(a.shared)
    projects_sample(a.shared)
