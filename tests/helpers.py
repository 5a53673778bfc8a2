"""Small builders shared by tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image


def image_frame(tmp_path: Path, n: int = 5, size=(100, 80), index=None) -> pd.DataFrame:
    """A DataFrame with ``n`` small PNG files in column ``path``."""
    paths = []
    for i in range(n):
        p = tmp_path / f"im{i}.png"
        Image.new("RGB", size, (i * 40 % 255, 0, 0)).save(p)
        paths.append(str(p))
    return pd.DataFrame({"path": paths}, index=index if index is not None else
                        [f"a{i}" for i in range(n)])


def object_frame(tmp_path: Path) -> pd.DataFrame:
    """One 240x200 light image with a dark rectangle at (60, 40, 160, 120): a boundary for
    edge snapping to find."""
    img = np.full((200, 240, 3), 220, np.uint8)
    img[40:120, 60:160] = 40
    path = tmp_path / "obj.png"
    Image.fromarray(img).save(path)
    return pd.DataFrame({"path": [str(path)]})


def close_new_widgets():
    """Close every widget a test leaves open (keeps the global registry clean for others);
    a widget test module uses it as ``pytest.fixture(autouse=True)(close_new_widgets)``."""
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    yield
    for key in [k for k in list(_instances) if k not in before]:
        widget = _instances.get(key)
        if widget is not None:
            widget.close()
