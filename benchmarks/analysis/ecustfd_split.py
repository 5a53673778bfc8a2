"""Set-up shared by the offline box studies (``model_edge_study.py``,
``crop_scales_study.py``): ECUSTFD's groups split into 60 training and 60 test groups,
their photos loaded at the assistant's working size (320 px), and each test group tracked
from its first photo's true box.

Run the studies from the repository root, with ``../shared/data/ecustfd`` beside it.
"""
import random
import re
import time
from pathlib import Path

from nblabel.data.images import load_image
from nblabel.io.voc import read_voc
from nblabel.models.box_data import scaled
from nblabel.suggest.tracker import propagate

#: food types held out of training, per seed of the ``types`` split
HELD = {0: ("bun", "egg", "grape", "qiwi", "peach"),
        1: ("apple", "bread", "lemon", "mooncake", "tomato")}
ROOT = Path("../shared/data/ecustfd")


def kind(group):
    """The food type of a group name (``apple001S`` -> ``apple``)."""
    return re.match(r"[a-z_]+", group).group(0)


def split(mode, seed):
    """``(train, test, test_groups)``: each photo as ``(group, LoadedImage, boxes)``.

    ``mode="groups"``: groups drawn at random; ``"types"``: the test groups are of the
    five types of ``HELD[seed]``, which training never sees.
    """
    groups = {}
    for f in sorted((ROOT / "JPEGImages").iterdir()):
        groups.setdefault(re.sub(r"\(\d+\)$", "", f.stem), []).append(f)
    names = sorted(groups)
    random.Random(seed).shuffle(names)
    if mode == "types":
        train_g = [g for g in names if kind(g) not in HELD[seed]][:60]
        test_g = [g for g in names if kind(g) in HELD[seed]][:60]
    else:
        train_g, test_g = names[:60], names[60:120]

    def load(gs):
        out = []
        for g in gs:
            for f in sorted(groups[g], key=lambda p: int(re.search(r"\((\d+)\)$", p.stem)[1])):
                ann = read_voc(ROOT / "Annotations" / (f.stem + ".xml"))
                im = load_image(f, max_side=320)
                bs = [b.replace(label=kind(g)) for b in ann.boxes if b.label != "coin"]
                out.append((g, im, tuple(scaled(bs, im.scale))))
        return out

    return load(train_g), load(test_g), test_g


def tracked(test, test_groups):
    """``(images, truth, boxes)`` of every test photo after its group's first, the boxes
    being the tracker's, carried from the first photo's true box."""
    t_ims, t_truth, t_box = [], [], []
    for g in test_groups:
        rows = [r for r in test if r[0] == g]
        out = propagate([r[1].pixels for r in rows], {0: rows[0][2][0]})
        for r, bs in list(zip(rows, out))[1:]:
            if bs:
                t_ims.append(r[1].pixels), t_truth.append(r[2][0]), t_box.append((bs[0],))
    return t_ims, t_truth, t_box


def trained_model(train, label):
    """The studies' model: ``BoxModel(max_steps=1000)`` fitted on the training photos;
    prints ``label``, the photo counts and the fit time."""
    from nblabel.models.boxes import BoxModel

    t0 = time.time()
    m = BoxModel(max_steps=1000, random_state=0)
    m.fit([im.pixels for _, im, _ in train], [list(b) for _, _, b in train])
    print(f"{label}: {len(train)} training photos, fit {time.time() - t0:.0f} s", flush=True)
    return m
