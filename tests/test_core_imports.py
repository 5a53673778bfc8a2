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


def _modules() -> dict[str, Path]:
    mods = {}
    for path in (ROOT / "nblabel").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def _import_graph(*, lazy: bool = False) -> dict[str, set[str]]:
    """Module -> the nblabel modules it imports. ``lazy=False``: at module level only;
    ``lazy=True``: anywhere -- inside functions and under ``if TYPE_CHECKING:`` too (a lazy
    import still ties the two modules together, and a cycle through one is a design knot)."""
    import ast

    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        tree = ast.parse(path.read_text())
        nodes = ast.walk(tree) if lazy else iter(tree.body)
        package = m if path.name == "__init__.py" else m.rpartition(".")[0]
        for node in nodes:
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                if not base.startswith("nblabel"):
                    continue
                graph[m] |= {f"{base}.{a.name}" for a in node.names
                             if f"{base}.{a.name}" in mods}
                graph[m] |= {base} & mods.keys()
            elif isinstance(node, ast.Import):
                graph[m] |= {a.name for a in node.names} & mods.keys()
        graph[m].discard(m)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return [*path[path.index(n):], n]
            if n not in state and (found := visit(n)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycles_at_module_level():
    graph = _import_graph()
    assert graph["nblabel.assist.boxes"] >= {"nblabel.assist._worker", "nblabel.suggest.fusion"}
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_import_cycles_counting_lazy_and_type_imports():
    """Function-level and ``TYPE_CHECKING`` imports count too: no two modules of nblabel
    need each other in any way."""
    graph = _import_graph(lazy=True)
    # the walk sees imports inside functions and under TYPE_CHECKING
    assert "nblabel.suggest.snap" in graph["nblabel.session.boxes"]
    assert "nblabel.session" in graph["nblabel.store.assign"]  # TYPE_CHECKING
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_moved_modules_keep_their_old_paths():
    """The modules moved into packages are importable at their old paths: the very module
    object (names, private ones included, and monkeypatching work), or a re-export."""
    import importlib

    moved = {"items": "data.items", "images": "data.images", "datasets": "data.datasets",
             "log": "store.log", "assign": "store.assign", "review": "quality.review",
             "lf": "quality.lf", "labelmodel": "quality.labelmodel",
             "confident": "quality.confident", "boxcheck": "quality.boxcheck",
             "metrics": "quality.metrics"}
    for old, new in moved.items():
        assert importlib.import_module(f"nblabel.{old}") is importlib.import_module(
            f"nblabel.{new}"), old
    from nblabel.session import BoxSession, LabelSession, Progress, Suggestion  # noqa: F401
    from nblabel.session.boxes import BoxSession as B
    from nblabel.store import LabelEvent, Store, default_annotator, events_table, open_store  # noqa: F401
    from nblabel.store.sqlite import Store as S
    from nblabel.team import TeamStore, item_agreement, make_engine, team_progress  # noqa: F401

    assert B is BoxSession and S is Store
    import nblabel

    for name in nblabel.__all__:
        assert getattr(nblabel, name) is not None, name


def test_no_module_over_500_lines():
    """Modules stay readable: none over ~500 lines."""
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "nblabel").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 520}
    assert not long, long
