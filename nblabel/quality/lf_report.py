"""What labeling functions do: per LF coverage, overlaps, conflicts and empirical accuracy
against the human labels so far (:func:`lf_summary`), and a chart of it.

Below :mod:`nblabel.quality.lf` (which re-exports these): it reads the votes through their
public attributes (``frame``, ``names``, ``fired()``) and imports nothing of ``lf``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["lf_summary", "plot_lf_summary"]


def _as_labels(vote: Any) -> frozenset[str]:
    """A vote as a set of labels (empty: abstain)."""
    if vote is None:
        return frozenset()
    if isinstance(vote, float) and np.isnan(vote):
        return frozenset()
    if isinstance(vote, str):
        return frozenset([vote])
    if isinstance(vote, Iterable):
        return frozenset(str(v) for v in vote if v is not None)
    return frozenset([str(vote)])


def _truth_of(labels: Any, index: pd.Index) -> list[frozenset[str] | None]:
    """Human labels aligned to ``index`` (``None``: unlabeled)."""
    if labels is None:
        return [None] * len(index)
    if hasattr(labels, "log") and hasattr(labels, "value"):  # a labeling session
        labeled = set(labels.log.labeled_items())
        out = []
        for k in index:
            key = str(k)
            out.append(_as_labels(labels.value(key)) if key in labeled else None)
        return out
    s = labels if isinstance(labels, pd.Series) else pd.Series(labels)
    out = []
    for k in index:
        if k not in s.index:
            out.append(None)
            continue
        v = s.loc[k]
        out.append(None if v is None or (isinstance(v, float) and np.isnan(v))
                   else _as_labels(v))
    return out


def lf_summary(votes: Any, labels: Any = None) -> pd.DataFrame:
    """Per labeling function: what it labels, how often, with whom it agrees, how well.

    Parameters
    ----------
    votes : nblabel.quality.lf.Votes
        From :func:`~nblabel.quality.lf.apply_lfs`.
    labels : session, Series or mapping, optional
        Human labels so far (a :class:`~nblabel.session.LabelSession`, or row index ->
        label / tag list); rows without one are ignored for accuracy.

    Returns
    -------
    pandas.DataFrame
        Index: LF names. ``polarity`` (labels voted), ``coverage`` (share of rows voted
        on), ``overlaps`` (share of rows where it and another LF vote), ``conflicts``
        (share of rows where another LF votes a disjoint set of labels), ``n_labeled``
        (its votes on human-labeled rows), ``correct``/``incorrect`` (labels voted that
        are / are not in the human label), ``emp_accuracy`` (correct / (correct +
        incorrect); NaN without labeled votes). The definitions follow Snorkel's
        ``LFAnalysis``, with sets of labels for multi-label tasks.
    """
    F = votes.frame
    n = F.shape[0]
    fired = votes.fired()
    n_fired = fired.sum(axis=1)
    truth = _truth_of(labels, F.index)
    rows = []
    cells = F.to_numpy(dtype=object)
    who = [np.flatnonzero(r) for r in fired]
    for j in range(len(votes.names)):
        col = cells[:, j]
        fj = fired[:, j]
        overlap = fj & (n_fired > 1)
        conflict = np.zeros(n, dtype=bool)
        for i in np.flatnonzero(overlap):
            v = col[i]
            conflict[i] = any(k != j and not (v & cells[i, k]) for k in who[i])
        correct = incorrect = n_lab = 0
        for i in np.flatnonzero(fj):
            t = truth[i]
            if t is None:
                continue
            n_lab += 1
            correct += len(col[i] & t)
            incorrect += len(col[i] - t)
        pol = sorted(set().union(*col[fj])) if fj.any() else []
        rows.append({
            "polarity": pol,
            "coverage": fj.mean() if n else np.nan,
            "overlaps": overlap.mean() if n else np.nan,
            "conflicts": conflict.mean() if n else np.nan,
            "n_labeled": n_lab,
            "correct": correct,
            "incorrect": incorrect,
            "emp_accuracy": correct / (correct + incorrect) if correct + incorrect else np.nan,
        })
    return pd.DataFrame(rows, index=pd.Index(votes.names, name="lf"))


def plot_lf_summary(summary: pd.DataFrame, *, ax: Any = None, top: int = 30) -> Any:
    """Bar chart of coverage / overlaps / conflicts per LF with empirical accuracy as dots.

    Shows the ``top`` LFs by coverage; returns the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    s = summary.sort_values("coverage", ascending=False).head(top).iloc[::-1]
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 0.28 * len(s) + 1.2))
    else:
        fig = ax.figure
    y = np.arange(len(s))
    ax.barh(y + 0.25, s["coverage"], height=0.25, label="coverage")
    ax.barh(y, s["overlaps"], height=0.25, label="overlaps")
    ax.barh(y - 0.25, s["conflicts"], height=0.25, label="conflicts")
    acc = s["emp_accuracy"].to_numpy(dtype=float)
    ok = ~np.isnan(acc)
    if ok.any():
        ax.plot(acc[ok], y[ok], "k o", ms=4, label="empirical accuracy")
    ax.set_yticks(y, [str(i) for i in s.index])
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("share of rows (accuracy: share of votes)")
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig
