"""``nblabel.image_folder``: a folder of photos as a labeler's DataFrame."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import nblabel
from nblabel.data.folder import image_folder
from nblabel.errors import InputError


def _photo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 12, 3), 90, np.uint8)).save(path)


def test_subfolders_are_groups_and_top_level_photos_stand_alone(tmp_path: Path) -> None:
    for name in ("cat/1.jpg", "cat/2.JPG", "dog/a/3.png", "4.png", "notes.txt",
                 ".hidden/5.jpg", "cat/.6.jpg"):
        if name.endswith(".txt"):
            (tmp_path / name).write_text("not a photo")
        else:
            _photo(tmp_path / name)
    df = image_folder(tmp_path)
    assert list(df.index) == ["4.png", "cat/1.jpg", "cat/2.JPG", "dog/a/3.png"]
    assert list(df["group"]) == ["4.png", "cat", "cat", "dog/a"]
    assert all(Path(p).is_absolute() and Path(p).exists() for p in df["path"])
    assert list(image_folder(tmp_path, recursive=False).index) == ["4.png"]
    assert nblabel.image_folder is image_folder


def test_a_labeler_takes_the_folder_as_it_is(tmp_path: Path) -> None:
    for name in ("seq1/1.jpg", "seq1/2.jpg", "seq2/1.jpg"):
        _photo(tmp_path / "photos" / name)
    df = image_folder(tmp_path / "photos")
    session = nblabel.BoxSession(df, image="path", classes=["thing"],
                                 store=str(tmp_path / "s.sqlite"), group="group")
    try:
        assert session.current.key == "seq1/1.jpg"
        session.draw_box(1, 1, 6, 5)
        session.submit()
        assert df.loc["seq1/1.jpg", "boxes"][0]["label"] == "thing"
    finally:
        session.close()


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_no_photos_is_a_clear_error(tmp_path: Path, make: str) -> None:
    target = tmp_path / "x"
    if make == "file":
        target.write_text("")
    elif make == "empty":
        target.mkdir()
        (target / "a.txt").write_text("")
    with pytest.raises(InputError, match=r"not a folder|no image files"):
        image_folder(target)
