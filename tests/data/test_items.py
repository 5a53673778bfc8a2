import numpy as np
import pandas as pd
import pytest

from nblabel.data.items import ItemSet
from nblabel.errors import ImageError, InputError


def test_duplicate_index_rejected_with_fix():
    df = pd.DataFrame({"t": ["a", "b", "c"]}, index=[1, 1, 2])
    with pytest.raises(InputError, match=r"duplicate.*\[1\].*reset_index"):
        ItemSet(df, text="t")


def test_multiindex_rejected_with_fix():
    df = pd.DataFrame({"t": ["a", "b"]}, index=pd.MultiIndex.from_tuples([(1, "x"), (1, "y")]))
    with pytest.raises(InputError, match="to_flat_index"):
        ItemSet(df, text="t")
    df.index = df.index.to_flat_index()
    items = ItemSet(df, text="t")
    assert items[1].key == "(1, 'y')" and items.position_of("(1, 'y')") == 1


def test_index_labels_with_same_text_rejected():
    df = pd.DataFrame({"t": ["a", "b"]}, index=pd.Index([1, "1"], dtype=object))
    with pytest.raises(InputError, match="same text form"):
        ItemSet(df, text="t")


def test_string_index_and_nan_text():
    df = pd.DataFrame({"title": ["Hello", np.nan, None], "body": ["x", "y", np.nan]},
                      index=["p", "q", "r"])
    items = ItemSet(df, text=["title", "body"])
    assert [it.text for it in items] == ["Hello\n\nx", "y", ""]
    assert items.item("q").position == 1


def test_missing_column():
    with pytest.raises(InputError, match="column 'nope'"):
        ItemSet(pd.DataFrame({"a": [1]}), text="nope")


def test_missing_image_names_row_and_file(tmp_path):
    df = pd.DataFrame({"path": [str(tmp_path / "gone.jpg")]}, index=["row-7"])
    items = ItemSet(df, image="path")
    with pytest.raises(ImageError, match=r"row-7.*gone\.jpg"):
        items[0].image()
    df2 = pd.DataFrame({"path": [np.nan]}, index=["r"])
    with pytest.raises(InputError, match=r"'r'.*empty"):
        ItemSet(df2, image="path")[0].image()


def test_in_memory_arrays():
    arrs = [np.zeros((10, 20), np.uint8), np.zeros((5, 6, 4), np.uint16)]
    items = ItemSet.from_arrays(arrs)
    assert items[0].image().pixels.shape == (10, 20, 3)
    assert items[1].size() == (6, 5)
    assert items[1].image().pixels.dtype == np.uint8
