"""The labeling session: the controller that binds items, queue, store and DataFrame.

- :mod:`~nblabel.session.base`: :class:`LabelSession` -- record (store first), navigation,
  undo/redo, suggestions, observers, progress;
- :mod:`~nblabel.session.frame`: write-back into the user's DataFrame, re-mapping after the
  index changed, the tidy ``labels`` table;
- :mod:`~nblabel.session.kinds`: the public value codecs of boxes, tags and classes;
- :mod:`~nblabel.session.boxes`, :mod:`~nblabel.session.tags`,
  :mod:`~nblabel.session.classes`: :class:`BoxSession`, :class:`TagSession`,
  :class:`ClassSession`.

The names of the former ``nblabel.session`` module are re-exported here.
"""

from __future__ import annotations

from nblabel.session.base import LabelSession, Progress, Suggestion
from nblabel.session.boxes import BoxSession
from nblabel.session.classes import ClassSession
from nblabel.session.tags import TagSession

__all__ = ["BoxSession", "ClassSession", "LabelSession", "Progress", "Suggestion", "TagSession"]
