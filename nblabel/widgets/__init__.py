"""Jupyter widgets of nblabel (import ipywidgets/anywidget; the core never imports this).

``BoxLabeler`` labels boxes on images; :mod:`nblabel.widgets.controls` holds the progress,
buttons and message area shared by the labeling widgets.
"""

from __future__ import annotations

from nblabel.widgets.boxes import BoxLabeler
from nblabel.widgets.controls import Controls

__all__ = ["BoxLabeler", "Controls"]
