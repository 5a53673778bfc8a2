"""Calibration: a suggestion's score should be the chance that the annotator accepts it.

Raw scores (a tracker's confidence, a model's mask probability) are only orderings.
:class:`AcceptanceCalibrator` records, per source, each shown suggestion's raw score and
whether the annotator accepted it as it was, and maps raw scores to acceptance rates with
isotonic regression (:class:`sklearn.isotonic.IsotonicRegression`) fitted on the most
recent ``window`` decisions (the models improve and the annotator settles in: old decisions
stop describing today's suggestions). Until a source has ``min_decisions`` decisions there
is no calibrated score (``None``): say so rather than show a number that means nothing.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import numpy as np
from sklearn.isotonic import IsotonicRegression

__all__ = ["AcceptanceCalibrator"]


class AcceptanceCalibrator:
    """Per-source isotonic map from raw suggestion score to acceptance rate.

    Parameters
    ----------
    min_decisions : int
        Decisions of a source before its scores are calibrated.
    window : int or None
        Fit on this many most recent decisions of the source (``None``: all of them).
    refit_every : int
        Refit a source's map after this many new decisions.
    """

    def __init__(self, *, min_decisions: int = 20, window: int | None = 300,
                 refit_every: int = 20) -> None:
        self.min_decisions = min_decisions
        self.window = window
        self.refit_every = refit_every
        self._lock = threading.Lock()
        self._obs: dict[str, list[tuple[float, bool]]] = defaultdict(list)
        self._maps: dict[str, tuple[int, IsotonicRegression]] = {}

    def record(self, source: str, raw_score: float, accepted: bool) -> None:
        """One shown suggestion and the annotator's decision."""
        with self._lock:
            self._obs[source].append((float(raw_score), bool(accepted)))

    def decisions(self, source: str) -> int:
        with self._lock:
            return len(self._obs.get(source, ()))

    def calibrated(self, source: str, raw_score: float) -> float | None:
        """The acceptance rate of suggestions of ``source`` with this raw score (``None``
        while the source has fewer than ``min_decisions`` decisions)."""
        with self._lock:
            obs = list(self._obs.get(source, ()))
            fitted = self._maps.get(source)
        n = len(obs)
        if n < self.min_decisions:
            return None
        if fitted is None or n >= fitted[0] + self.refit_every:
            recent = obs if self.window is None else obs[-self.window:]
            x = np.array([o[0] for o in recent])
            y = np.array([o[1] for o in recent], dtype=float)
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
            fitted = (n, iso)
            with self._lock:
                self._maps[source] = fitted
        return float(fitted[1].predict([float(raw_score)])[0])
