"""Former home of the tag/class assistant; see :mod:`nblabel.assist.tags`.

``ActiveLearner`` is :class:`nblabel.assist.tags.TagAssistant` under its former name.
"""

from __future__ import annotations

from nblabel.assist.tags import (
    ActiveLearner,
    Snapshot,
    TagAssistant,
    plot_learning_curve,
    session_snapshot,
)

__all__ = ["ActiveLearner", "Snapshot", "TagAssistant", "plot_learning_curve", "session_snapshot"]
