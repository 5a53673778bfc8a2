"""Small bundled samples for the demo, the notebooks and the tests.

See ``nblabel/data/ATTRIBUTION.md`` for sources and licences.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["data_dir", "food_sample", "projects_sample"]


def data_dir() -> Path:
    """Directory of the bundled sample data."""
    return Path(str(resources.files("nblabel") / "data"))


def food_sample() -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 food photos from three food types of ECUSTFD, in portion groups, with true boxes.

    Returns
    -------
    images : pandas.DataFrame
        Indexed by image id; columns ``path`` (absolute), ``group`` (portion and view, e.g.
        ``apple002S``: the photos a tracker can follow), ``food``, ``width``, ``height``.
    truth : pandas.DataFrame
        The ground-truth boxes, one row per box: ``id, label, x0, y0, x1, y1`` (labels are
        the food name and ``coin``).
    """
    root = data_dir() / "food"
    images = pd.DataFrame(json.loads((root / "images.json").read_text())).set_index("id")
    images["path"] = [str(root / p) for p in images["path"]]
    boxes = pd.DataFrame(json.loads((root / "boxes.json").read_text()))
    boxes = boxes.rename(columns={"xmin": "x0", "ymin": "y0", "xmax": "x1", "ymax": "y1"})
    return images, boxes


def projects_sample() -> tuple[pd.DataFrame, list[dict]]:
    """200 Made With ML projects with their authors' tags, and the tag vocabulary.

    Returns
    -------
    projects : pandas.DataFrame
        Indexed by project id; columns ``created_on``, ``title``, ``description``, ``tags``
        (the author's own tags, noisy: aliases and tags outside the vocabulary).
    vocabulary : list of dict
        ``{"tag", "aliases", "parents"}`` records (see :class:`nblabel.vocab.TagVocabulary`).
    """
    root = data_dir() / "projects"
    projects = pd.DataFrame(json.loads((root / "projects.json").read_text())).set_index("id")
    projects["created_on"] = pd.to_datetime(projects["created_on"])
    vocabulary = json.loads((root / "tags.json").read_text())
    return projects, vocabulary
