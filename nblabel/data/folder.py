"""A folder of photos as the DataFrame a labeler takes: one row per image file, grouped by
subfolder (the photos a tracker can follow: one shot sequence, one object, one video)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from nblabel.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "image_folder"]

#: file endings read as images (case-insensitive)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def image_folder(path: str | os.PathLike, *, recursive: bool = True) -> pd.DataFrame:
    """The image files under ``path`` as a DataFrame for :class:`~nblabel.BoxLabeler`.

    Photos in the same subfolder form a group (``group="group"``: a box drawn on one is
    carried to the others by the tracker); a photo directly in ``path`` is a group of its
    own. Files are only listed here, not opened: an unreadable one shows its error when
    it is labeled.

    Parameters
    ----------
    path : path-like
        The folder.
    recursive : bool
        Also list the photos in subfolders (at any depth).

    Returns
    -------
    pandas.DataFrame
        Indexed by the file's path relative to ``path`` (``/``-separated, so unique);
        columns ``path`` (absolute) and ``group`` (the relative subfolder, or the file's own
        id at the top level), sorted by id.

    Raises
    ------
    InputError
        When ``path`` is not a folder or holds no image file.
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise InputError(f"{path}: not a folder of images")
    files = root.rglob("*") if recursive else root.iterdir()
    found = sorted(
        f for f in files
        if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()
        and not any(part.startswith(".") for part in f.relative_to(root).parts)
    )
    if not found:
        raise InputError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)}) found")
    ids = [f.relative_to(root).as_posix() for f in found]
    groups = [f.parent.relative_to(root).as_posix() for f in found]
    frame = pd.DataFrame({
        "path": [str(f.resolve()) for f in found],
        "group": [i if g == "." else g for i, g in zip(ids, groups)],
    }, index=pd.Index(ids, name="id"))
    return frame
