"""The core never imports widget libraries (ARCHITECTURE: one direction of imports)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the widget layer and what is built on it (browser benchmarks, the app, superintendent
# interop) may import widget libraries; everything else is core
WIDGET_SIDE = ("nblabel.widgets", "nblabel.bench.widget", "nblabel.bench._widget_others",
               "nblabel.bench.tagwidget", "nblabel.bench._browser", "nblabel.interop",
               "nblabel.app")


def core_modules() -> list[str]:
    """Every module of the package, found by walking it, minus the widget side."""
    mods = []
    for path in sorted((ROOT / "nblabel").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if not any(name == w or name.startswith(w + ".") for w in WIDGET_SIDE):
            mods.append(name)
    return mods


PROGRAM = r"""
import importlib, importlib.util, sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"ipywidgets", "ipycanvas", "anywidget", "IPython"}:
            raise ImportError(f"blocked import of {name}")
        return None

sys.meta_path.insert(0, Block())
for mod in sys.argv[1:]:
    importlib.import_module(mod)
import nblabel, pandas as pd
s = nblabel.ClassSession(pd.DataFrame({"t": ["a"]}), text="t", classes=["x"])
s.set_label("x")
print("OK", sorted(m for m in sys.modules if m.split(".")[0] in {"ipywidgets", "ipycanvas"}))
"""


def test_core_imports_with_widget_libraries_blocked():
    mods = core_modules()
    assert "nblabel.assist.boxes" in mods and "nblabel.session" in mods and len(mods) > 40
    out = subprocess.run([sys.executable, "-c", PROGRAM, *mods],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "OK []" in out.stdout


def test_blocker_really_blocks():
    program = PROGRAM.replace("for mod in", "import ipywidgets\nfor mod in")
    out = subprocess.run([sys.executable, "-c", program],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "blocked import of ipywidgets" in out.stderr
