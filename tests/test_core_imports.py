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


def _import_graph() -> dict[str, set[str]]:
    """Module -> the nblabel modules it imports at module level (lazy imports inside
    functions are not edges: they run after both modules are loaded)."""
    import ast

    mods = {}
    for path in (ROOT / "nblabel").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nblabel"):
                graph[m] |= {f"{node.module}.{a.name}" for a in node.names
                             if f"{node.module}.{a.name}" in mods}
                graph[m] |= {node.module} & mods.keys()
            elif isinstance(node, ast.Import):
                graph[m] |= {a.name for a in node.names} & mods.keys()
    return graph


def test_no_import_cycles_at_module_level():
    graph = _import_graph()
    assert graph["nblabel.assist.boxes"] >= {"nblabel.assist._worker", "nblabel.suggest.fusion"}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*path[path.index(n):], n]))
            if n not in state:
                visit(n)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)
