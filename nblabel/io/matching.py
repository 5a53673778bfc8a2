"""Which DataFrame row a name in a label file refers to: by path, then by file name.

Label files name images in many ways: the path as the DataFrame has it (``images/a.jpg``),
an absolute path, a bare file name (COCO, VOC), a stem (YOLO ``a.txt``), a URL, or a
Label Studio upload name (``/data/upload/3/1a2b3c4d-a.jpg``). :class:`RowMatcher` tries
them from the most to the least specific; a file name that two rows share is ambiguous
and never guessed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

__all__ = ["RowMatcher", "item_names"]

#: Label Studio prefixes uploaded files with 8 hex digits and a dash
_UPLOAD = re.compile(r"^[0-9a-f]{8}-")


def item_names(session: Any) -> list[str]:
    """The name each row has in exported files: its image path as the DataFrame gives it
    (posix separators), or its item id for rows without images."""
    items = session.items
    if items.image_column is None:
        return [str(k) for k in items.keys]
    col = items.frame[items.image_column].tolist()
    return [str(k) if not isinstance(v, (str, bytes)) and not hasattr(v, "__fspath__")
            else str(v).replace("\\", "/") for k, v in zip(items.keys, col)]


def _clean(name: str) -> str:
    """A URL or Label Studio local-files reference as a plain path."""
    name = str(name).strip().replace("\\", "/")
    if "://" in name or name.startswith("/data/"):
        u = urlparse(name)
        d = parse_qs(u.query).get("d")
        name = d[0] if d else unquote(u.path)
    return name


class RowMatcher:
    """Find the row (position) a name refers to.

    Parameters
    ----------
    session : LabelSession
        Its rows' image paths (or ids, for rows without images) are the candidates.
    """

    def __init__(self, session: Any) -> None:
        names = item_names(session)
        self._exact: dict[str, int] = {}
        self._by_name: dict[str, list[int]] = defaultdict(list)
        self._by_stem: dict[str, list[int]] = defaultdict(list)
        root = session.items.root
        for pos, n in enumerate(names):
            self._exact.setdefault(n, pos)
            if root is not None:
                self._exact.setdefault(str(PurePosixPath(str(root).replace("\\", "/")) / n),
                                       pos)
            self._exact.setdefault(str(session.items.keys[pos]), pos)
            pp = PurePosixPath(n)
            self._by_name[pp.name].append(pos)
            self._by_stem[pp.stem].append(pos)
        self.ambiguous: set[str] = set()

    def _unique(self, table: dict[str, list[int]], name: str) -> int | None:
        hits = table.get(name)
        if not hits:
            return None
        if len(hits) > 1:
            self.ambiguous.add(name)
            return None
        return hits[0]

    def match(self, name: Any, *, stem: bool = False) -> int | None:
        """The row position of ``name``, or ``None`` (no row, or several rows share the
        file name: see :attr:`ambiguous`). ``stem=True`` matches file stems (YOLO)."""
        raw = _clean(str(name))
        if raw in self._exact:
            return self._exact[raw]
        pp = PurePosixPath(raw)
        if stem:
            return self._unique(self._by_stem, pp.stem)
        found = self._unique(self._by_name, pp.name)
        if found is None and _UPLOAD.match(pp.name) and pp.name not in self.ambiguous:
            found = self._unique(self._by_name, _UPLOAD.sub("", pp.name))
        return found
