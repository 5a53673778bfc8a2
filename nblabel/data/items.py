"""Items: the rows of the user's DataFrame (or in-memory arrays) that get labeled.

An item's id is its DataFrame index label; the store keys it by ``str(label)``. Indexes must
be unique and their string forms distinct. A MultiIndex is refused with the fix in the message
(``df.index = df.index.to_flat_index()`` makes each row's id a tuple).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nblabel.data.images import LoadedImage, image_size, load_image
from nblabel.errors import InputError

__all__ = ["Item", "ItemSet"]


@dataclass(frozen=True)
class Item:
    """One row to label.

    Attributes
    ----------
    key : str
        Stable id used by the store: ``str(index_label)``.
    label : object
        The DataFrame index label of the row.
    position : int
        Row position in the DataFrame when the session started.
    """

    key: str
    label: Any
    position: int
    _items: ItemSet

    @property
    def path(self) -> Path | None:
        """Image path of the item, if the session has an image column."""
        return self._items.path(self.position)

    @property
    def text(self) -> str | None:
        """Text of the item (text columns joined by a blank line; NaN becomes empty)."""
        return self._items.text(self.position)

    def image(self, max_side: int | None = None) -> LoadedImage:
        """Decoded image (see :func:`nblabel.data.images.load_image`)."""
        return self._items.image(self.position, max_side=max_side)

    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the image in pixels, read from the file header."""
        return self._items.size(self.position)

    @property
    def row(self) -> pd.Series:
        """The DataFrame row."""
        return self._items.frame.iloc[self.position]


def _check_index(index: pd.Index) -> np.ndarray:
    if isinstance(index, pd.MultiIndex):
        raise InputError(
            "a DataFrame with a MultiIndex cannot be labeled directly; use "
            "df.index = df.index.to_flat_index() (ids become tuples) or df.reset_index()"
        )
    if not index.is_unique:
        dup = index[index.duplicated()].unique()[:5].tolist()
        raise InputError(
            f"the DataFrame index has duplicate labels (e.g. {dup}); items need unique ids: "
            "use df.reset_index(drop=True) or de-duplicate the rows"
        )
    if index.dtype == object or pd.api.types.is_string_dtype(index.dtype):
        as_text = index.astype(str)
    else:
        as_text = index.map(str)
    keys = np.asarray(as_text, dtype=object)
    if not pd.Index(keys).is_unique:
        raise InputError(
            "two index labels have the same text form (e.g. 1 and '1'); item ids must differ "
            "as strings: convert the index to one type"
        )
    return keys


class ItemSet:
    """The rows of a DataFrame as items, with lazy access to images and text.

    Parameters
    ----------
    frame : pandas.DataFrame
        The user's DataFrame (kept by reference, never copied).
    image : str, optional
        Column of image paths (relative paths are resolved against ``root``).
    text : str or list of str, optional
        Column(s) of text.
    root : path-like, optional
        Directory relative image paths refer to.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        image: str | None = None,
        text: str | Sequence[str] | None = None,
        root: str | Path | None = None,
    ) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"expected a pandas DataFrame, got {type(frame).__name__}")
        self.frame = frame
        self.keys = _check_index(frame.index)
        self._positions = pd.Index(self.keys)
        self.image_column = image
        self.text_columns = [text] if isinstance(text, str) else list(text or [])
        for col in [image, *self.text_columns]:
            if col is not None and col not in frame.columns:
                raise InputError(
                    f"column {col!r} not in the DataFrame (columns: {list(frame.columns)[:10]})"
                )
        self.root = Path(root) if root is not None else None
        self._sizes: dict[int, tuple[int, int]] = {}

    @classmethod
    def from_arrays(cls, images: Sequence[np.ndarray] | np.ndarray) -> ItemSet:
        """Items from in-memory image arrays (ids 0..n-1)."""
        frame = pd.DataFrame({"image": list(images)})
        items = cls(frame)
        items.image_column = "image"
        return items

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, position: int) -> Item:
        return Item(str(self.keys[position]), self.frame.index[position], int(position), self)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def position_of(self, key: Any) -> int:
        """Row position of an item key (or index label)."""
        try:
            return int(self._positions.get_loc(str(key)))
        except KeyError:
            raise InputError(f"no item with id {key!r} in this session") from None

    def positions_of(self, keys: Sequence[str]) -> np.ndarray:
        """Vectorised :meth:`position_of`; -1 for unknown keys."""
        return self._positions.get_indexer(list(keys))

    def item(self, key: Any) -> Item:
        return self[self.position_of(key)]

    def _cell(self, position: int, column: str) -> Any:
        return self.frame.iat[position, self.frame.columns.get_loc(column)]

    def path(self, position: int) -> Path | None:
        if self.image_column is None:
            return None
        value = self._cell(position, self.image_column)
        if isinstance(value, np.ndarray):
            return None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise InputError(
                f"row {self.frame.index[position]!r}: column {self.image_column!r} is empty; "
                "give an image path or drop the row"
            )
        p = Path(str(value))
        return self.root / p if self.root is not None and not p.is_absolute() else p

    def text(self, position: int) -> str | None:
        if not self.text_columns:
            return None
        parts = []
        for col in self.text_columns:
            v = self._cell(position, col)
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                continue
            parts.append(str(v))
        return "\n\n".join(parts)

    def image(self, position: int, *, max_side: int | None = None) -> LoadedImage:
        if self.image_column is None:
            raise InputError("this session has no image column; pass image='column'")
        value = self._cell(position, self.image_column)
        if isinstance(value, np.ndarray):
            return _array_image(value, position, max_side)
        try:
            return load_image(self.path(position), max_side=max_side)
        except OSError as e:
            raise type(e)(f"row {self.frame.index[position]!r}: {e}") from None

    def size(self, position: int) -> tuple[int, int]:
        if position not in self._sizes:
            value = self._cell(position, self.image_column) if self.image_column else None
            if isinstance(value, np.ndarray):
                self._sizes[position] = (int(value.shape[1]), int(value.shape[0]))
            else:
                path = self.path(position)
                try:
                    self._sizes[position] = image_size(path)
                except OSError as e:
                    raise type(e)(f"row {self.frame.index[position]!r}: {e}") from None
        return self._sizes[position]


def _array_image(arr: np.ndarray, position: int, max_side: int | None) -> LoadedImage:
    a = np.asarray(arr)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InputError(f"item {position}: image array must be HxW, HxWx3 or HxWx4, got {a.shape}")
    if a.shape[2] == 4:
        alpha = a[:, :, 3:4].astype(np.float64) / (65535.0 if a.dtype == np.uint16 else 255.0)
        a = a[:, :, :3] * alpha + (1 - alpha) * (65535 if a.dtype == np.uint16 else 255)
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = ((a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)).astype(np.uint8)
    h, w = a.shape[:2]
    if max_side is not None and max(h, w) > max_side:
        from PIL import Image

        im = Image.fromarray(a)
        im.thumbnail((max_side, max_side))
        b = np.asarray(im)
        return LoadedImage(b, w, h, b.shape[1] / w)
    return LoadedImage(np.ascontiguousarray(a), w, h, 1.0)
