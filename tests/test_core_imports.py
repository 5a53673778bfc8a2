"""The core never imports widget libraries (ARCHITECTURE: one direction of imports)."""

import subprocess
import sys

CORE = ["nblabel", "nblabel.shapes", "nblabel.items", "nblabel.images", "nblabel.store",
        "nblabel.log", "nblabel.queue", "nblabel.session", "nblabel.datasets", "nblabel.cli",
        "nblabel.bench.core"]
OPTIONAL_CORE = ["nblabel.strategies", "nblabel.vocab", "nblabel.metrics", "nblabel.active",
                 "nblabel.suggest", "nblabel.suggest.tracker", "nblabel.suggest.rules",
                 "nblabel.io", "nblabel.quality", "nblabel.team"]

PROGRAM = r"""
import importlib, importlib.util, sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"ipywidgets", "ipycanvas", "anywidget", "IPython"}:
            raise ImportError(f"blocked import of {name}")
        return None

sys.meta_path.insert(0, Block())
for mod in sys.argv[1:]:
    if importlib.util.find_spec(mod.rsplit(".", 1)[0] if "." in mod else mod) is None:
        continue
    try:
        importlib.import_module(mod)
    except ModuleNotFoundError as e:
        if e.name == mod:  # optional module not written yet
            continue
        raise
import nblabel, pandas as pd
s = nblabel.ClassSession(pd.DataFrame({"t": ["a"]}), text="t", classes=["x"])
s.set_label("x")
print("OK", sorted(m for m in sys.modules if m.split(".")[0] in {"ipywidgets", "ipycanvas"}))
"""


def test_core_imports_with_widget_libraries_blocked():
    out = subprocess.run([sys.executable, "-c", PROGRAM, *CORE, *OPTIONAL_CORE],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "OK []" in out.stdout


def test_blocker_really_blocks():
    program = PROGRAM.replace("for mod in", "import ipywidgets\nfor mod in")
    out = subprocess.run([sys.executable, "-c", program],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "blocked import of ipywidgets" in out.stderr
