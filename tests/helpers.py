"""Small builders shared by tests."""

from __future__ import annotations

from pathlib import Path

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
