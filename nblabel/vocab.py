"""A tag vocabulary with aliases and parents (the madewithml ``tags.json`` format).

The file is a list of records ``{"tag": "3d", "aliases": ["three-dimensional"],
"parents": ["computer-vision"]}``. Tags and aliases are *normalised* (lower case, spaces and
underscores turned into ``-``) both when the vocabulary is built and on every input, so
``"Three Dimensional"`` and ``"three_dimensional"`` both mean ``"3d"``. A tag implies its
parents, transitively (``closure``). A parent named by a record but without a record of its
own becomes a vocabulary tag without aliases or parents.

The vocabulary can change during a session (:meth:`TagVocabulary.add`,
:meth:`TagVocabulary.remove`); labels already stored are never rewritten by it.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from nblabel.errors import InputError, UnknownClassError

__all__ = ["TagVocabulary", "normalize_tag"]

_SEP = re.compile(r"[\s_]+")
_DASHES = re.compile(r"-{2,}")


def normalize_tag(tag: str) -> str:
    """Canonical spelling of a tag or alias: ``" Deep_Learning "`` -> ``"deep-learning"``."""
    if not isinstance(tag, str):
        raise InputError(f"a tag must be a string, got {tag!r} ({type(tag).__name__})")
    t = _DASHES.sub("-", _SEP.sub("-", tag.strip().lower())).strip("-")
    if not t:
        raise InputError(f"empty tag {tag!r}")
    return t


class TagVocabulary:
    """Tags with aliases and parents.

    Parameters
    ----------
    records : iterable of str or mapping
        Tag names, or records with keys ``tag``, ``aliases`` (optional), ``parents``
        (optional), as in ``tags.json``.
    allow_new : bool
        When True an unknown tag given to :meth:`canonical`/:meth:`normalize` is added to the
        vocabulary (with no parents); when False it raises :class:`UnknownClassError`.

    Raises
    ------
    InputError
        If an alias is also a tag name or the alias of another tag, or the parent links
        form a cycle.

    Examples
    --------
    >>> v = TagVocabulary([{"tag": "3d", "aliases": ["three-dimensional"],
    ...                     "parents": ["computer-vision"]}])
    >>> v.normalize(["Three Dimensional"])
    ['3d', 'computer-vision']
    """

    def __init__(self, records: Iterable[str | Mapping[str, Any]] = (), *, allow_new: bool = False):
        self.allow_new = allow_new
        self._parents: dict[str, tuple[str, ...]] = {}
        self._aliases: dict[str, str] = {}  # alias -> tag
        recs = [{"tag": r} if isinstance(r, str) else r for r in records]
        # two passes: names and aliases first, so a parent may be named by an alias
        for rec in recs:
            self.add(rec["tag"], aliases=rec.get("aliases", ()))
        for rec in recs:
            self.add(rec["tag"], parents=rec.get("parents", ()))

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_json(cls, path: str | PathLike[str], *, allow_new: bool = False) -> TagVocabulary:
        """Read a ``tags.json`` file (a list of ``{"tag", "aliases", "parents"}`` records)."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise InputError(f"cannot read tag vocabulary {p}: {e}") from e
        if not isinstance(data, list):
            raise InputError(f"{p}: expected a JSON list of tag records, got {type(data).__name__}")
        return cls(data, allow_new=allow_new)

    def to_records(self) -> list[dict[str, Any]]:
        """The vocabulary as ``tags.json`` records (sorted by tag)."""
        aliases: dict[str, list[str]] = {t: [] for t in self._parents}
        for a, t in self._aliases.items():
            aliases[t].append(a)
        return [
            {"tag": t, "aliases": sorted(aliases[t]), "parents": list(self._parents[t])}
            for t in sorted(self._parents)
        ]

    # ---------------------------------------------------------------- mutation
    def add(self, tag: str, *, aliases: Iterable[str] = (), parents: Iterable[str] = ()) -> str:
        """Add a tag (or merge aliases/parents into an existing one); returns its name.

        Parents unknown to the vocabulary are added too.
        """
        t = normalize_tag(tag)
        if t in self._aliases:
            raise InputError(f"cannot add tag {t!r}: it is an alias of {self._aliases[t]!r}")
        ps = [normalize_tag(p) for p in parents]
        for p in ps:
            p = self._aliases.get(p, p)
            known = p in self._parents
            if p == t or (known and t in self.ancestors(p)):
                raise InputError(f"tag {t!r} cannot have parent {p!r}: that makes a cycle")
        old = self._parents.get(t, ())
        merged = list(old)
        for p in ps:
            p = self._aliases.get(p, p)
            if p not in self._parents:
                self._parents[p] = ()
            if p not in merged:
                merged.append(p)
        self._parents[t] = tuple(merged)
        for a in aliases:
            an = normalize_tag(a)
            if an == t:
                continue
            if an in self._parents:
                raise InputError(f"alias {an!r} of {t!r} is already a tag name")
            if self._aliases.get(an, t) != t:
                raise InputError(
                    f"alias {an!r} of {t!r} is already an alias of {self._aliases[an]!r}"
                )
            self._aliases[an] = t
        return t

    def remove(self, tag: str) -> None:
        """Remove a tag, its aliases and its use as a parent. Stored labels are untouched."""
        t = self.canonical(tag, allow_new=False)
        del self._parents[t]
        self._aliases = {a: x for a, x in self._aliases.items() if x != t}
        self._parents = {k: tuple(p for p in v if p != t) for k, v in self._parents.items()}

    # ---------------------------------------------------------------- lookup
    @property
    def tags(self) -> list[str]:
        """All tag names, sorted."""
        return sorted(self._parents)

    def __len__(self) -> int:
        return len(self._parents)

    def __iter__(self) -> Iterator[str]:
        return iter(self.tags)

    def __contains__(self, tag: object) -> bool:
        if not isinstance(tag, str):
            return False
        try:
            t = normalize_tag(tag)
        except InputError:
            return False
        return t in self._parents or t in self._aliases

    def __repr__(self) -> str:
        return f"TagVocabulary({len(self)} tags, {len(self._aliases)} aliases)"

    def aliases(self) -> dict[str, str]:
        """A copy of the alias -> tag mapping."""
        return dict(self._aliases)

    def parents(self, tag: str) -> tuple[str, ...]:
        """Direct parents of a tag."""
        return self._parents[self.canonical(tag, allow_new=False)]

    def ancestors(self, tag: str) -> list[str]:
        """All ancestors of a tag (parents, their parents, ...), nearest first."""
        t = self.canonical(tag, allow_new=False)
        out: list[str] = []
        stack = list(self._parents[t])
        while stack:
            p = stack.pop(0)
            if p not in out and p != t:
                out.append(p)
                stack.extend(self._parents.get(p, ()))
        return out

    def canonical(self, tag: str, *, allow_new: bool | None = None) -> str:
        """The vocabulary name of a tag or alias.

        Raises
        ------
        UnknownClassError
            If the tag is unknown and new tags are not allowed; the message suggests
            close matches.
        """
        t = normalize_tag(tag)
        if t in self._parents:
            return t
        if t in self._aliases:
            return self._aliases[t]
        if self.allow_new if allow_new is None else allow_new:
            return self.add(t)
        close = difflib.get_close_matches(t, list(self._parents) + list(self._aliases), n=3)
        names = dict.fromkeys(self._aliases.get(c, c) for c in close)
        hint = f"; did you mean {', '.join(map(repr, names))}?" if close else ""
        raise UnknownClassError(
            f"unknown tag {tag!r}: not in the vocabulary of {len(self)} tags{hint} "
            "Add it with vocabulary.add(...) or create the vocabulary with allow_new=True."
        )

    def normalize(
        self,
        tags: Iterable[str] | str | None,
        *,
        closure: bool = True,
        on_unknown: str = "raise",
    ) -> list[str]:
        """Canonical, sorted tags: aliases mapped, parents added (when ``closure``).

        Parameters
        ----------
        on_unknown : {"raise", "ignore", "add"}
            What to do with a tag not in the vocabulary: raise :class:`UnknownClassError`
            (or add it when the vocabulary has ``allow_new=True``), drop it silently (e.g. a
            pre-filled column with free-form tags), or add it to the vocabulary.
        """
        if tags is None:
            return []
        if isinstance(tags, str):
            tags = [tags]
        if on_unknown not in ("raise", "ignore", "add"):
            raise ValueError(f"on_unknown must be 'raise', 'ignore' or 'add', got {on_unknown!r}")
        out: set[str] = set()
        for tag in tags:
            try:
                t = self.canonical(tag, allow_new=True if on_unknown == "add" else None)
            except UnknownClassError:
                if on_unknown == "ignore":
                    continue
                raise
            out.add(t)
            if closure:
                out.update(self.ancestors(t))
        return sorted(out)

    def complete(self, prefix: str, *, limit: int = 10) -> list[str]:
        """Tags matching typed text, for type-to-filter completion.

        Tags whose name or alias starts with the text come first, then those containing it;
        each group sorted by name. Results are canonical tag names without repeats.
        """
        try:
            q = normalize_tag(prefix)
        except InputError:
            return self.tags[:limit]
        starts: list[str] = []
        contains: list[str] = []
        for key, tag in [(t, t) for t in self._parents] + list(self._aliases.items()):
            if key.startswith(q):
                starts.append(tag)
            elif q in key:
                contains.append(tag)
        out: list[str] = []
        for t in sorted(set(starts)) + sorted(set(contains) - set(starts)):
            if t not in out:
                out.append(t)
        return out[:limit]
