"""Single-label classification: :class:`ClassSession` (one class per item)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from nblabel.errors import InputError
from nblabel.session.base import LabelSession
from nblabel.session.kinds import ClassKind, check_classes, normalize_class

__all__ = ["ClassSession"]


class ClassSession(LabelSession):
    """Single-label classification: each item gets one class.

    The DataFrame column (default ``label``) holds the class per row.
    """

    kind = "label"
    default_column = "label"
    codec = ClassKind()

    def __init__(self, df: pd.DataFrame, *, classes: Sequence[str], **kwargs: Any) -> None:
        self.classes = check_classes(classes, "classes")
        if not self.classes:
            raise InputError("a ClassSession needs classes=['a', 'b', ...]")
        super().__init__(df, **kwargs)

    def normalize(self, value: Any, key: Any | None = None) -> str | None:
        return normalize_class(value, self.item_key(key), self.classes)

    def set_label(self, label: str | None, key: Any | None = None) -> str | None:
        """Set (or with ``None`` clear) the class of an item."""
        return self.set_value(label, key)
