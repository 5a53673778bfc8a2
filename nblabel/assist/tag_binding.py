"""The tag assistant bound to a labeler: :class:`ActiveBinding` runs a
:class:`~nblabel.assist.tags.TagAssistant` for a session and serves per-item probabilities
(the *trainer protocol* of the tag and class labelers); :func:`rank_suggestions` turns them
into the numbered suggestions a labeler shows."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from nblabel.assist.tags import TagAssistant, plot_learning_curve, session_snapshot
from nblabel.errors import InputError

__all__ = ["N_SUGGESTIONS", "ActiveBinding", "rank_suggestions", "strategy_name"]


#: How many of the model's most likely tags/classes the labelers number (keys 1-9).
N_SUGGESTIONS = 9


def rank_suggestions(scores: Mapping[str, float], n: int = N_SUGGESTIONS) -> list[str]:
    """The ``n`` most likely tags of an item, most likely first: the numbered suggestions a
    labeler shows (and a simulated annotator sees)."""
    return sorted(scores, key=lambda t: -scores[t])[:n]


_ALIASES = {"query-by-committee": "committee", "qbc": "committee", "uncertainty": "margin"}


def strategy_name(order: str) -> str:
    """``"least-confidence"`` -> ``"least_confidence"``; ``"query-by-committee"`` ->
    ``"committee"``."""
    o = str(order).strip().lower()
    return _ALIASES.get(o, o.replace("-", "_"))


class ActiveBinding:
    """Run a :class:`TagAssistant` for a session and serve per-item scores: the *trainer
    protocol* the tag and class labelers use (any object with these methods works):

    ``proba(key) -> {tag: probability}``
        the latest model's probabilities for one item (empty before the first fit);
    ``on_update(callback)``
        ``callback(event, info)`` with ``event`` "done" (``info``: ``n_labels``, ``score``,
        ``fit_seconds``) or "error" (``info["error"]``), called from the worker thread;
    ``plot_learning_curve(ax=None)``, ``close()``.

    Parameters
    ----------
    session : TagSession or ClassSession
        A session of text items.
    model : estimator or "default"
        Anything with ``fit``/``predict_proba``; ``"default"`` (or ``True``) is
        :class:`~nblabel.models.text.TextTagModel` (with the session's vocabulary).
    order : str
        Queue strategy after each fit (see :data:`nblabel.strategies.STRATEGIES`;
        dashes are accepted: ``"least-confidence"``).
    retrain_every : int, optional
        Labels between fits (default 20).
    random_state : int, optional
    **learner
        More :class:`TagAssistant` parameters (``exploration``,
        ``min_labels``, ``aggregate``, ``eval_set`` ...).
    """

    def __init__(
        self,
        session: Any,
        model: Any,
        *,
        order: str = "margin",
        retrain_every: int | None = None,
        random_state: int | None = None,
        **learner: Any,
    ) -> None:
        if session.items.image_column is not None:
            raise InputError(
                "model= trains on text items; for image items pass trainer= with your own "
                "scores (see nblabel.widgets.tag_training)"
            )
        self.session = session
        self.multilabel = hasattr(session, "tag_names")
        self._default = model is True or (isinstance(model, str) and model == "default")
        if self._default:
            from nblabel.models.text import TextTagModel

            vocab = getattr(session, "vocabulary", None)
            model = TextTagModel(vocabulary=vocab if hasattr(vocab, "aliases") else None)
        self._callbacks: list[Callable[[str, dict[str, Any]], None]] = []
        self._texts: list[str] | None = None
        self._texts_of: Any = None
        self._columns: list[str] = []  # tag/class names of the latest snapshot
        self._cache: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()
        self.learner = TagAssistant(
            model,
            strategy=strategy_name(order),
            multilabel=self.multilabel,
            retrain_every=int(retrain_every or 20),
            random_state=int(random_state or 0),
            on_done=self._done,
            on_error=self._error,
            **learner,
        )
        self.learner.attach(session)  # counts labels
        self.learner.bind(self._snapshot, session.queue)

    # -- worker side ------------------------------------------------------------------------
    def _snapshot(self) -> Any:
        s = self.session
        if self._texts_of is not s.items:  # rebuilt when rows come or go mid-session
            self._texts_of = s.items
            self._texts = [s.items.text(i) or "" for i in range(len(s.items))]
        snap = session_snapshot(s, self._texts)
        model = self.learner.model
        if self._default and self.multilabel and list(model.tags or ()) != snap.classes:
            model.set_params(tags=list(snap.classes))  # names the columns, mention features
        self._columns = list(snap.classes)
        return snap

    def _done(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._cache.clear()
        info = {
            "n_labels": row.get("labels"),
            "score": row.get("progressive_score"),
            "fit_seconds": row.get("fit_seconds"),
        }
        self._emit("done", info)

    def _error(self, exc: BaseException) -> None:
        self._emit("error", {"error": f"{type(exc).__name__}: {exc}"})

    def _emit(self, event: str, info: dict[str, Any]) -> None:
        for cb in list(self._callbacks):
            cb(event, info)

    # -- protocol ---------------------------------------------------------------------------
    def on_update(self, callback: Callable[[str, dict[str, Any]], None]) -> None:
        self._callbacks.append(callback)

    def start(self) -> Any:
        """Fit now (in the background) instead of waiting for ``retrain_every`` labels."""
        return self.learner.start()

    def proba(self, key: str) -> dict[str, float]:
        """``{tag: probability}`` of the latest model for one item (``{}`` before a fit)."""
        model = self.learner.model_
        if model is None:
            return {}
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        text = self.session.items.item(key).text or ""
        p = model.predict_proba([text])[0]
        names = [str(c) for c in getattr(model, "classes_", [])]
        if len(names) != len(p) or names == [str(i) for i in range(len(p))]:
            names = self._columns  # positional columns of the snapshot
        if len(names) != len(p):
            return {}
        out = {n: float(v) for n, v in zip(names, p)}
        with self._lock:
            self._cache[key] = out
        return out

    @property
    def history(self) -> list[dict[str, Any]]:
        return list(self.learner.history)

    def plot_learning_curve(self, ax: Any = None) -> Any:
        return plot_learning_curve(self.learner, ax=ax)

    def close(self) -> None:
        self.learner.close()
