"""Suggestions: tracker propagation, model predictions and rules, and the queue order
they imply (least certain first)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["order_by_uncertainty", "uncertainty"]


def uncertainty(suggestions: list[Any]) -> float:
    """Uncertainty in [0, 1] of one item's pending box suggestions.

    ``1 - best score``, raised to ``1 - IoU`` of the best tracker and model boxes when both
    exist and disagree. An item with no suggestion scores 0.5 (unknown, neither sure nor
    flagged).
    """
    if not suggestions:
        return 0.5
    best = max((s.score or 0.0) for s in suggestions)
    u = 1.0 - best
    by = {s.source: s for s in sorted(suggestions, key=lambda s: s.score or 0.0)}
    t, m = by.get("tracker"), by.get("model")
    if t is not None and m is not None and t.value and m.value:
        u = max(u, 1.0 - t.value[0].iou(m.value[0]))
    return float(min(1.0, max(0.0, u)))


def order_by_uncertainty(session: Any, *, explore: float = 0.2, random_state: int = 0
                         ) -> np.ndarray:
    """Reorder a session's queue: least certain suggestions first.

    A share ``explore`` of the items gets a random priority instead (so the annotator also
    sees typical items, which keeps a model trained on the labels unbiased). Returns the
    priorities given to ``session.queue.reorder`` (higher first).
    """
    if not 0.0 <= explore <= 1.0:
        raise ValueError(f"explore must be in [0, 1], got {explore}")
    keys = [str(k) for k in session.items.keys]
    pri = np.array([uncertainty(session.suggestions(k)) for k in keys], dtype=np.float64)
    rng = np.random.default_rng(random_state)
    pick = rng.random(len(keys)) < explore
    pri[pick] = rng.random(int(pick.sum()))
    session.queue.reorder(pri)
    return pri
