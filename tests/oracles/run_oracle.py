"""Run an independent reader on nblabel's exports (executed by .venv-oracle's Python).

Prints JSON ``{image file name: [[label, x0, y0, x1, y1], ...]}`` (boxes in pixels) or,
for ``coco-to-ls``, writes Label Studio tasks. Never imports nblabel.

    python run_oracle.py sv-coco IMAGES_DIR ANNOTATIONS.json
    python run_oracle.py sv-yolo IMAGES_DIR LABELS_DIR DATA.yaml
    python run_oracle.py sv-voc IMAGES_DIR ANNOTATIONS_DIR
    python run_oracle.py ls-to-coco LABEL_CONFIG.xml TASKS.json OUT_DIR
    python run_oracle.py coco-to-ls COCO.json OUT.json
"""

from __future__ import annotations

import json
import os
import sys


def _dataset(ds) -> dict:
    out = {}
    names = ds.classes
    for path, _image, det in ds:
        out[os.path.basename(path)] = [
            [names[int(c)], *map(float, xyxy)] for xyxy, c in zip(det.xyxy, det.class_id)
        ]
    return out


def main(argv: list[str]) -> None:
    cmd, *args = argv
    if cmd.startswith("sv-"):
        import supervision as sv

        D = sv.DetectionDataset
        if cmd == "sv-coco":
            ds = D.from_coco(images_directory_path=args[0], annotations_path=args[1])
        elif cmd == "sv-yolo":
            ds = D.from_yolo(images_directory_path=args[0], annotations_directory_path=args[1],
                             data_yaml_path=args[2])
        else:
            ds = D.from_pascal_voc(images_directory_path=args[0],
                                   annotations_directory_path=args[1])
        print(json.dumps(_dataset(ds)))
    elif cmd == "ls-to-coco":
        from label_studio_sdk.converter import Converter

        with open(args[0]) as f:
            config = f.read()
        with open(args[1]) as f:
            tasks = json.load(f)
        for i, t in enumerate(tasks, start=1):  # Label Studio numbers imported tasks
            t.setdefault("id", i)
        numbered = os.path.join(args[2] + "-tasks.json")
        with open(numbered, "w") as f:
            json.dump(tasks, f)
        c = Converter(config=config, project_dir=os.path.dirname(args[1]),
                      download_resources=False)
        c.convert_to_coco(numbered, args[2], is_dir=False)
        with open(os.path.join(args[2], "result.json")) as f:
            coco = json.load(f)
        cats = {c["id"]: c["name"] for c in coco["categories"]}
        files = {i["id"]: os.path.basename(i["file_name"]) for i in coco["images"]}
        out: dict = {}
        for a in coco["annotations"]:
            x, y, w, h = a["bbox"]
            out.setdefault(files[a["image_id"]], []).append(
                [cats[a["category_id"]], x, y, x + w, y + h])
        print(json.dumps(out))
    elif cmd == "coco-to-ls":
        from label_studio_sdk.converter.imports.coco import convert_coco_to_ls

        convert_coco_to_ls(args[0], args[1], out_type=args[2] if len(args) > 2
                           else "annotations", image_root_url="/data/local-files/?d=")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
