"""The docs never rot: every ``nblabel.X`` / ``nblabel.module.X`` reference (and every
``from nblabel.m import a, b``) in docs/*.md and README.md must resolve to a real attribute,
every relative link must point at a file that exists, and docs/api.md must list the whole
public API (``nblabel.__all__``)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

import nblabel

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *DOCS]

DOTTED = re.compile(r"(?<![\w./-])nblabel(?:\.[A-Za-z_]\w*)+")
FROM_IMPORT = re.compile(r"from[ \t]+(nblabel(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[\w \t,]+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
PY_BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def resolve(dotted: str) -> object:
    """Import the longest module prefix of ``dotted`` and getattr the rest."""
    parts = dotted.split(".")
    obj: object = None
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def references(text: str) -> set[str]:
    refs = {m.group(0) for m in DOTTED.finditer(text)}
    for module, names in FROM_IMPORT.findall(text):
        for name in names.strip("()").split(","):
            if name.split():
                refs.add(f"{module}.{name.split()[0]}")  # "a as b" -> a
    return refs


def test_pages_exist() -> None:
    names = {p.name for p in DOCS}
    for page in ("getting-started.md", "boxes.md", "tags.md", "quality.md", "teams.md",
                 "api.md"):
        assert page in names, f"docs/{page} is missing"


def test_reference_finder_can_fail() -> None:
    refs = references("use `nblabel.NoSuchThing` and\nfrom nblabel.io import read_coco, nope\n"
                      "from nblabel.quality.lf import (\n    keyword_lf as kw,\n)\nimages = 1\n")
    assert refs == {"nblabel.NoSuchThing", "nblabel.io", "nblabel.io.read_coco",
                    "nblabel.io.nope", "nblabel.quality.lf", "nblabel.quality.lf.keyword_lf"}
    with pytest.raises(AttributeError):
        resolve("nblabel.NoSuchThing")
    with pytest.raises(AttributeError):
        resolve("nblabel.io.nope")
    assert resolve("nblabel.io.read_coco") is not None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_api_references_resolve(page: Path) -> None:
    broken = []
    for ref in sorted(references(page.read_text())):
        try:
            resolve(ref)
        except (AttributeError, ImportError) as e:
            broken.append(f"{ref}: {type(e).__name__}: {e}")
    assert not broken, f"{page.name} names API that does not exist:\n" + "\n".join(broken)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_exist(page: Path) -> None:
    missing = []
    for target in LINK.findall(page.read_text()):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert not missing, f"{page.name} links to missing files: {missing}"


def test_api_page_lists_the_public_api() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    listed = references(text)
    missing = [n for n in nblabel.__all__ if n != "__version__" and f"nblabel.{n}" not in listed]
    assert not missing, f"docs/api.md does not list: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_examples_parse(page: Path) -> None:
    for i, block in enumerate(PY_BLOCK.findall(page.read_text())):
        try:
            ast.parse(block)
        except SyntaxError as e:
            pytest.fail(f"{page.name}, python block {i + 1}: {e}\n{block}")


def test_key_tables_match_the_keymaps() -> None:
    """docs/boxes.md and docs/tags.md list every default key of the widgets."""
    from nblabel.widgets.boxes import ACTIONS
    from nblabel.widgets.tags import DEFAULT_KEYMAP

    boxes = (ROOT / "docs" / "boxes.md").read_text()
    missing = []
    for action, (_desc, keys) in ACTIONS.items():
        if action.startswith("class_") or "Arrow" in "".join(keys):
            continue  # documented as "1 ... 9" and "arrow keys"
        missing += [f"{action}: {k}" for k in keys if f"`{k}`" not in boxes]
    assert "`1` ... `9`" in boxes and "arrow keys" in boxes
    tags = (ROOT / "docs" / "tags.md").read_text()
    missing += [f"tags: {k}" for a, keys in DEFAULT_KEYMAP.items() for k in keys
                if not a.startswith("pick:") and f"`{k}`" not in tags]
    assert not missing, f"keys missing from the docs: {missing}"
