"""nblabel: label boxes and tags in Jupyter, with suggestions from trackers and models, an
uncertainty-ordered queue, and every label written back to your DataFrame.

The public API is listed in ``__all__``; names are imported lazily so that ``import nblabel``
stays light and the core never loads widget libraries until a widget is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    # core
    "Box": "nblabel.shapes",
    "TagSet": "nblabel.shapes",
    "ClassLabel": "nblabel.shapes",
    "BoxSession": "nblabel.session",
    "TagSession": "nblabel.session",
    "ClassSession": "nblabel.session",
    "Suggestion": "nblabel.session",
    "Progress": "nblabel.session",
    "Store": "nblabel.store",
    "LabelEvent": "nblabel.store",
    "open_store": "nblabel.store",
    "Queue": "nblabel.queue",
    "ItemSet": "nblabel.data.items",
    "load_image": "nblabel.data.images",
    "image_folder": "nblabel.data.folder",
    "datasets": "nblabel.data.datasets",
    "NblabelError": "nblabel.errors",
    "InputError": "nblabel.errors",
    "ImageError": "nblabel.errors",
    "StoreError": "nblabel.errors",
    # label quality
    "labeling_function": "nblabel.quality.lf",
    "apply_lfs": "nblabel.quality.lf",
    "lf_summary": "nblabel.quality.lf",
    "LabelModel": "nblabel.quality.labelmodel",
    "MajorityVote": "nblabel.quality.labelmodel",
    "Review": "nblabel.quality.review",
    "metrics": "nblabel.quality.metrics",
    # tags, models, active learning, teams
    "TagVocabulary": "nblabel.vocab",
    "TextTagModel": "nblabel.models.text",
    "ActiveLearner": "nblabel.active",
    "BoxAssistant": "nblabel.assist.boxes",
    "TagAssistant": "nblabel.assist.tags",
    "Assignment": "nblabel.store.assign",
    "team_progress": "nblabel.store.agreement",
    # widgets (import ipywidgets on first use)
    "BoxLabeler": "nblabel.widgets.boxes",
    "TagLabeler": "nblabel.widgets.tags",
    "ClassLabeler": "nblabel.widgets.tags",
}

__all__ = sorted([*_API, "__version__"])


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'nblabel' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith(name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
