"""The labeling assistant: the live loop that works ahead of the annotator.

:class:`BoxAssistant` tracks new boxes through their image group, retrains a box model in
the background, posts fused suggestions and reorders the queue; :class:`TagAssistant`
retrains a tag/class model and orders the queue by uncertainty. Both run on
:class:`~nblabel.assist._worker.Lane` workers and never block labeling.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BoxAssistant", "TagAssistant"]


def __getattr__(name: str) -> Any:
    if name == "BoxAssistant":
        from nblabel.assist.boxes import BoxAssistant

        return BoxAssistant
    if name == "TagAssistant":
        from nblabel.assist.tags import TagAssistant

        return TagAssistant
    raise AttributeError(name)
