"""Multi-label tagging: :class:`TagSession` (a set of tags per item)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from nblabel.errors import InputError, UnknownClassError
from nblabel.session.base import LabelSession
from nblabel.session.kinds import TagKind, check_classes

__all__ = ["TagSession"]


class TagSession(LabelSession):
    """Multi-label tagging: each item gets a set of tags.

    The DataFrame column (default ``tags``) holds a sorted list of tags per row.

    Parameters
    ----------
    tags : list of str or a vocabulary
        Allowed tags. A vocabulary object with ``normalize(tags) -> set`` (see
        :mod:`nblabel.vocab`) maps aliases and adds parents.
    allow_new : bool
        Unknown tags are added to the vocabulary instead of rejected.
    prefill : str, optional
        A column of tags to pre-fill (e.g. the author's own tags): offered as a suggestion of
        source ``import``.
    """

    kind = "tags"
    default_column = "tags"
    codec = TagKind()

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        tags: Any,
        allow_new: bool = False,
        prefill: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.vocabulary = tags
        self.allow_new = allow_new
        self.prefill_column = prefill
        if prefill is not None and prefill not in df.columns:
            raise InputError(f"prefill column {prefill!r} not in the DataFrame")
        if prefill is not None and prefill == (kwargs.get("column") or self.default_column):
            raise InputError(
                f"labels would overwrite the pre-fill column {prefill!r} (the author's tags); "
                f"pass column= another name, e.g. column='checked_{prefill}'"
            )
        self._tags = None if hasattr(tags, "normalize") else check_classes(tags, "tags")
        super().__init__(df, **kwargs)

    @property
    def tag_names(self) -> list[str]:
        if self._tags is not None:
            return list(self._tags)
        return list(self.vocabulary.tags)

    def normalize(self, value: Any, key: Any | None = None) -> frozenset[str]:
        key = self.item_key(key)
        if value is None:
            return frozenset()
        if isinstance(value, str):
            value = [value]
        if hasattr(self.vocabulary, "normalize"):
            on_unknown = "add" if self.allow_new else "raise"
            # a tag the item already has stays valid after it left the vocabulary
            ev = self.log.current(key)
            had = self.codec.decode(ev.payload) if ev is not None and ev.status != "deleted" else ()
            kept = {t for t in value if t in had and t not in self.vocabulary}
            rest = [t for t in value if t not in kept]
            return frozenset(self.vocabulary.normalize(rest, on_unknown=on_unknown)) | kept
        out = set()
        for t in value:
            t = str(t).strip()
            if t not in self._tags:  # type: ignore[operator]
                if not self.allow_new:
                    raise UnknownClassError(
                        f"item {key!r}: tag {t!r} is not in the vocabulary; pass allow_new=True "
                        "or add it with session.add_tag_to_vocabulary()"
                    )
                self._tags.append(t)  # type: ignore[union-attr]
            out.add(t)
        return frozenset(out)

    def add_tag_to_vocabulary(self, tag: str) -> None:
        if hasattr(self.vocabulary, "add"):
            self.vocabulary.add(tag)
        elif tag not in self._tags:  # type: ignore[operator]
            self._tags.append(tag)  # type: ignore[union-attr]

    def set_tags(self, tags: Iterable[str], key: Any | None = None) -> frozenset[str]:
        """Replace the tags of an item."""
        return self.set_value(list(tags), key)

    def add_tag(self, tag: str, key: Any | None = None) -> frozenset[str]:
        k = self.item_key(key)
        return self.set_value([*self.value(k), tag], k)

    def remove_tag(self, tag: str, key: Any | None = None) -> frozenset[str]:
        """Remove a tag (only that tag: its parents stay)."""
        k = self.item_key(key)
        current = set(self.value(k))
        current.discard(tag)
        self._record(k, "label", "accepted" if current else "deleted", sorted(current))
        return frozenset(current)

    def prefilled(self, key: Any | None = None) -> frozenset[str]:
        """Tags from the pre-fill column, normalised (unknown ones dropped)."""
        if self.prefill_column is None:
            return frozenset()
        k = self.item_key(key)
        raw = self.items.frame.iat[
            self.items.position_of(k), self.items.frame.columns.get_loc(self.prefill_column)
        ]
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            return frozenset()
        out: set[str] = set()
        vocab = self.vocabulary
        cheap_check = not self.allow_new and hasattr(vocab, "normalize")
        for t in [raw] if isinstance(raw, str) else list(raw):
            if cheap_check and t not in vocab:  # skip the error path (it ranks close matches)
                continue
            try:
                out |= self.normalize([t], k)
            except UnknownClassError:
                continue
        return frozenset(out)
