"""``TagAssistant``: retrain a tag/class model in the background, reorder the queue by
uncertainty, and serve per-item probabilities to the tag and class labelers.

:class:`TagAssistant` (also importable as ``nblabel.active.ActiveLearner``, its former name)
runs on one :class:`~nblabel.assist._worker.Lane`, the worker shape shared with
:class:`~nblabel.assist.boxes.BoxAssistant`. Every ``retrain_every`` new labels it takes a
*snapshot* of the labels on the calling thread (cheap: arrays and lists), fits a clone of
the model on the snapshot in the worker, scores every item with the chosen strategy and
calls ``queue.reorder(priorities)`` once -- an atomic swap, so the annotator's current item
and everything labeled meanwhile are untouched. Labeling never waits for training.

Lifecycle
---------
``start()`` (or ``attach(session)`` + labeling) launches a fit; only one runs at a time and
a request arriving meanwhile runs right after it with the newest labels (the lane's
newest-wins queue). ``cancel()`` discards the running fit's result (scikit-learn fits cannot
be interrupted; the thread finishes in the background and its result is dropped).
``close()`` cancels and shuts the worker down. A failed fit sets ``status = "failed"`` and
``error``, logs the traceback and calls ``on_error(exc)``; it is never swallowed, and the
queue keeps its previous order.

Learning curve
--------------
Before each refit, the previous model is scored on the labels that arrived since it was
fitted (it has never seen them: *progressive validation*), and, when ``eval_set`` is given,
on that held-out set. :attr:`TagAssistant.history` keeps one row per fit;
:func:`plot_learning_curve` draws it with matplotlib.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import accuracy_score, f1_score

from nblabel import strategies as S
from nblabel.assist._worker import Lane

__all__ = [
    "ActiveLearner",
    "Snapshot",
    "TagAssistant",
    "plot_learning_curve",
    "session_snapshot",
]

log = logging.getLogger("nblabel")


@dataclass(frozen=True)
class Snapshot:
    """Training data frozen at one moment: what a background fit works on.

    Attributes
    ----------
    X : sequence
        Features of *all* items (e.g. texts), in item order.
    labeled : ndarray of int
        Positions of the labeled items.
    y : ndarray or list
        Their labels: a ``(len(labeled), k)`` 0/1 array (multi-label) or class names.
    classes : list of str
        Names of the ``k`` tags/classes.
    """

    X: Sequence[Any]
    labeled: np.ndarray
    y: Any
    classes: list[str] = field(default_factory=list)


def session_snapshot(session: Any, texts: Sequence[str] | None = None) -> Snapshot:
    """A :class:`Snapshot` of a ``TagSession`` or ``ClassSession`` (text items).

    Multi-label when the session has ``tag_names``; single-label with ``classes``.
    """
    n = len(session.items)
    if texts is None:
        texts = [session.items.text(i) or "" for i in range(n)]
    done = getattr(session, "_done", None)
    if done is None:
        keys = session.items.keys
        labeled = np.array([i for i in range(n) if session.is_labeled(keys[i])], dtype=np.intp)
    else:
        labeled = np.flatnonzero(done)
    keys = session.items.keys
    values = [session.value(keys[i]) for i in labeled]
    if hasattr(session, "tag_names"):
        classes = list(session.tag_names)
        col = {t: j for j, t in enumerate(classes)}
        y = np.zeros((labeled.size, len(classes)), dtype=int)
        for r, v in enumerate(values):
            for t in v or ():
                if t in col:
                    y[r, col[t]] = 1
        return Snapshot(texts, labeled, y, classes)
    return Snapshot(texts, labeled, [str(v) for v in values], list(session.classes))


def _quality(y_true: Any, y_pred: Any, multilabel: bool) -> float:
    if multilabel:
        return float(f1_score(y_true, y_pred, average="micro", zero_division=0))
    return float(accuracy_score(y_true, y_pred))


class TagAssistant:
    """Background retraining and uncertainty ordering of a tag or class labeling queue.

    Parameters
    ----------
    model : estimator
        A scikit-learn style estimator with ``fit`` and ``predict_proba`` (cloned for every
        fit), e.g. :class:`nblabel.models.text.TextTagModel`. A model with a ``corpus``
        parameter left at ``None`` gets all items' features as its corpus.
    strategy : str
        One of :data:`nblabel.strategies.STRATEGIES` (``"committee"`` is scored with
        ``committee_size`` clones fitted on bootstrap resamples).
    multilabel : bool
        Probabilities are independent per tag (``TagSession``) or rows summing to 1.
    aggregate : {"mean", "max"}
        Multi-label aggregation of per-tag uncertainty (see :mod:`nblabel.strategies`).
    exploration : float
        Share of the queue given to random items.
    density : float
        Exponent of information-density weighting (uncertainty x density ** density; 0 =
        off). Needs a model with a ``features(X)`` method returning L2-normalised rows
        (``TextTagModel`` has one); ignored otherwise. On the madewithml benchmark it
        makes margin sampling beat random order from the first labels on.
    density_fade : int, optional
        Labels over which the density exponent falls linearly to 0 (``density x (1 -
        labels / density_fade)``): density picks representative items while the model
        is young, uncertainty alone decides later. ``None``: no fading. The default, 200,
        was chosen on a development split of madewithml (older projects only), where it
        cut the labels to match random order's micro-F1 at 625 from 500 to 425 (least
        confidence) and 425 to 400 (margin) (``benchmarks/results/tags.md``).
    random_state : int
        Seed of exploration and committees.
    retrain_every : int
        Refit after this many new labels (counted by :meth:`labeled`).
    early_retrain_every, early_until : int, optional
        Refit every ``early_retrain_every`` labels while there are at most ``early_until``
        (a young model improves fastest: e.g. every 5 labels up to 50, then every 25).
    min_labels : int
        No fit before this many labels (the queue keeps its order: cold start).
    eval_set : (X, y), optional
        Held-out data scored after each fit (``history[i]["eval_score"]``).
    on_done, on_error : callable, optional
        Called from the worker thread with the history row / the exception.
    """

    def __init__(
        self,
        model: Any,
        *,
        strategy: str = "margin",
        multilabel: bool = True,
        aggregate: str = "mean",
        exploration: float = 0.2,
        density: float = 1.0,
        density_fade: int | None = 200,
        random_state: int = 0,
        retrain_every: int = 10,
        early_retrain_every: int | None = None,
        early_until: int = 0,
        min_labels: int = 5,
        committee_size: int = 3,
        eval_set: tuple[Any, Any] | None = None,
        on_done: Callable[[dict[str, Any]], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        if strategy not in S.STRATEGIES:
            raise ValueError(f"unknown strategy {strategy!r}; use one of {S.STRATEGIES}")
        self.model = model
        self.strategy = strategy
        self.multilabel = multilabel
        self.aggregate = aggregate
        self.exploration = exploration
        if density_fade is not None and density_fade <= 0:
            raise ValueError(f"density_fade must be a positive label count, not {density_fade}")
        self.density = density
        self.density_fade = density_fade
        self.random_state = random_state
        self.retrain_every = retrain_every
        self.early_retrain_every = early_retrain_every
        self.early_until = early_until
        self.min_labels = min_labels
        self.committee_size = committee_size
        self.eval_set = eval_set
        self.on_done = on_done
        self.on_error = on_error
        self.status = "idle"  # idle | training | failed | cancelled | closed
        self.error: BaseException | None = None
        self.history: list[dict[str, Any]] = []
        self.model_: Any | None = None
        self.priorities_: np.ndarray | None = None
        self._lock = threading.Lock()
        self._lane = Lane("tag-model", on_error=self._failed)
        self._since_fit = 0
        self._n_labels = 0
        self._fitted_on: set[int] = set()
        self._session: Any | None = None
        self._snapshot_fn: Callable[[], Snapshot] | None = None
        self._queue: Any | None = None
        self._texts: Sequence[str] | None = None

    # ------------------------------------------------------------------ binding
    def attach(self, session: Any) -> TagAssistant:
        """Follow a session: count its labels, snapshot it and reorder its queue."""
        self._session = session
        self._queue = session.queue
        self._snapshot_fn = self._session_snapshot
        session.on_change(self._on_session_change)
        return self

    def detach(self) -> None:
        """Stop following the session (a running fit still finishes)."""
        if self._session is not None:
            self._session.on_change(self._on_session_change, remove=True)
            self._session = None

    def bind(self, snapshot: Callable[[], Snapshot], queue: Any | None = None) -> TagAssistant:
        """Use any data source: ``snapshot()`` returns a :class:`Snapshot`; ``queue`` has
        ``reorder(priorities)``."""
        self._snapshot_fn = snapshot
        self._queue = queue
        return self

    def _session_snapshot(self) -> Snapshot:
        if self._texts is None or len(self._texts) != len(self._session.items):
            n = len(self._session.items)
            self._texts = [self._session.items.text(i) or "" for i in range(n)]
        return session_snapshot(self._session, self._texts)

    def _on_session_change(self, what: str, key: str) -> None:
        if what == "items":  # rows added or removed mid-session
            from nblabel.assist.rows import tag_rows_changed

            tag_rows_changed(self)
        if what == "value":
            self.labeled(1)

    # ------------------------------------------------------------------ lifecycle
    @property
    def running(self) -> bool:
        """A fit is queued or in progress."""
        return self._lane.busy

    def labeled(self, n: int = 1) -> Future | None:
        """Count ``n`` new labels; starts a fit when ``retrain_every`` is reached."""
        self._since_fit += n
        self._n_labels += n
        every = self.retrain_every
        if self.early_retrain_every and self._n_labels <= self.early_until:
            every = self.early_retrain_every
        if self._since_fit >= every:
            return self.start()
        return None

    def start(self, snapshot: Snapshot | None = None) -> Future | None:
        """Start a background fit now (on ``snapshot`` or a fresh one).

        Returns a future of the fit's history row, or ``None`` when there are fewer than
        ``min_labels`` labels. If a fit is already running, a new one follows it with the
        newest labels (a fit still queued is replaced: newest wins).
        """
        if self.status == "closed":
            raise RuntimeError("this TagAssistant is closed")
        if snapshot is None:
            if self._snapshot_fn is None:
                raise RuntimeError("nothing to fit: call attach(session) or bind(snapshot_fn)")
            snapshot = self._snapshot_fn()
        if snapshot.labeled.size < self.min_labels:
            return None
        with self._lock:
            self._since_fit = 0
            self.status = "training"
        return self._lane.submit(self._run, snapshot, key="fit", label="training")

    def cancel(self) -> None:
        """Drop the result of the running fit (and any pending one)."""
        running = self.running
        self._lane.cancel()
        if running:
            self.status = "cancelled"

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no fit runs (tests, scripts); ``True`` when idle."""
        return self._lane.wait(timeout)

    def close(self) -> None:
        """Cancel, stop following the session and stop the worker thread."""
        self.cancel()
        self.detach()
        self._lane.close(timeout=0.0)  # a running scikit-learn fit is not waited for
        self.status = "closed"

    # ------------------------------------------------------------------ work (worker thread)
    def _failed(self, job: str, e: BaseException) -> None:
        with self._lock:
            self.status = "failed"
            self.error = e
        if self.on_error is not None:
            try:
                self.on_error(e)
            except Exception:
                log.exception("nblabel on_error callback failed")

    def _run(self, gen: int, snap: Snapshot) -> dict[str, Any] | None:
        row = self._fit_and_score(snap, gen)
        if row is not None and self.on_done is not None:
            try:
                self.on_done(row)
            except Exception:
                log.exception("nblabel on_done callback failed")
        return row

    def _fit_and_score(self, snap: Snapshot, gen: int) -> dict[str, Any] | None:
        t0 = time.perf_counter()
        X = snap.X
        lab = snap.labeled
        prev, fitted_on = self.model_, self._fitted_on
        row: dict[str, Any] = {"labels": int(lab.size), "time": time.time()}
        # progressive validation: the previous model on labels it has never seen
        new = np.array([r for r, p in enumerate(lab) if int(p) not in fitted_on], dtype=np.intp)
        if prev is not None and new.size:
            pred = prev.predict([X[lab[r]] for r in new])
            y_new = snap.y[new] if self.multilabel else [snap.y[r] for r in new]
            row["progressive_score"] = _quality(y_new, pred, self.multilabel)
            row["progressive_n"] = int(new.size)
        model = self._clone(X)
        y = snap.y
        model.fit([X[i] for i in lab], y)
        proba = model.predict_proba(X)
        if self.strategy == "committee":
            proba = self._committee(X, lab, y)
        scores = S.score(
            proba, self.strategy, n=len(X), multilabel=self.multilabel,
            aggregate=self.aggregate,  # type: ignore[arg-type]
        )
        beta = self.density_exponent(int(lab.size))
        if beta > 0 and self.strategy not in ("sequential", "random") and hasattr(
            model, "features"
        ):
            scores = scores * S.density(model.features(X)) ** beta
        # order what is still to label: the exploration share is drawn among those items,
        # and labeled ones (skipped by next() anyway) go last
        open_ = np.setdiff1d(np.arange(len(X)), lab)
        pri = np.zeros(len(X))  # open items get 1..n
        if open_.size:
            pri[open_] = S.priorities(
                scores[open_], exploration=self.exploration,
                random_state=self.random_state + gen,
            )
        if self.eval_set is not None:
            Xe, ye = self.eval_set
            row["eval_score"] = _quality(ye, model.predict(Xe), self.multilabel)
        row["fit_seconds"] = round(time.perf_counter() - t0, 3)
        with self._lock:
            if not self._lane.current(gen):  # cancelled or superseded: drop the result
                return None
            self.model_ = model
            self._fitted_on = {int(p) for p in lab}
            cur = None if self._session is None else self._session.current
            if cur is not None:
                # the item on screen goes first, so that next() continues with the most
                # wanted item instead of wherever this one landed in the new order
                pri = pri.copy()
                pri[cur.position] = np.inf
            self.priorities_ = pri
            if self._queue is not None and pri.shape == (self._queue.n,):
                self._queue.reorder(pri)  # one atomic swap (rows unchanged since the snapshot)
            self.history.append(row)
            self.status = "idle"
            self.error = None
        return row

    def density_exponent(self, n_labels: int) -> float:
        """The information-density exponent used after a fit on ``n_labels`` labels."""
        if self.density_fade is None:
            return float(self.density)
        return float(self.density) * max(0.0, 1.0 - n_labels / self.density_fade)

    def _clone(self, X: Sequence[Any]) -> Any:
        model = clone(self.model)
        params = model.get_params(deep=False)
        if "corpus" in params and params["corpus"] is None:
            # e.g. TextTagModel: fit TF-IDF once on all items, reused by every refit
            model.set_params(corpus=list(X))
        return model

    def _committee(self, X: Sequence[Any], lab: np.ndarray, y: Any) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        out = []
        for _ in range(self.committee_size):
            r = rng.choice(lab.size, size=lab.size, replace=True)
            m = self._clone(X)
            yr = y[r] if isinstance(y, np.ndarray) else [y[i] for i in r]
            m.fit([X[lab[i]] for i in r], yr)
            out.append(m.predict_proba(X))
        return np.stack(out)

    # ------------------------------------------------------------------ reporting
    def learning_curve(self) -> dict[str, list[float]]:
        """``{"labels": [...], "progressive_score": [...], "eval_score": [...]}`` so far
        (``nan`` where a score was not measured)."""
        rows = list(self.history)
        return {
            "labels": [r["labels"] for r in rows],
            "progressive_score": [r.get("progressive_score", np.nan) for r in rows],
            "eval_score": [r.get("eval_score", np.nan) for r in rows],
        }

    def plot_learning_curve(self, ax: Any = None) -> Any:
        """Plot :meth:`learning_curve` (see :func:`plot_learning_curve`)."""
        return plot_learning_curve(self, ax=ax)

    def __repr__(self) -> str:
        return (
            f"TagAssistant({self.strategy}, status={self.status}, fits={len(self.history)}"
            + (f", error={self.error!r}" if self.error else "")
            + ")"
        )


def plot_learning_curve(
    curves: TagAssistant | Mapping[str, Any], *, ax: Any = None, metric: str = "micro_f1"
) -> Any:
    """Model quality against labels so far, with matplotlib.

    Parameters
    ----------
    curves : TagAssistant or mapping
        A learner (plots its progressive and held-out scores), or the ``results`` of
        ``nblabel bench tags`` (``{strategy: {metric: {labels: {"mean", "std"}}}}``), or
        ``{name: (labels, scores)}``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    if isinstance(curves, TagAssistant):
        lc = curves.learning_curve()
        series = {
            "new labels (progressive)": (lc["labels"], lc["progressive_score"]),
            "held-out set": (lc["labels"], lc["eval_score"]),
        }
        ylabel = "micro-F1" if curves.multilabel else "accuracy"
    else:
        series = {}
        for name, v in curves.items():
            if isinstance(v, Mapping) and metric in v:
                pts = sorted((int(k), d["mean"], d.get("std", 0.0)) for k, d in v[metric].items())
                series[name] = ([p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts])
            else:
                series[name] = (list(v[0]), list(v[1]))
        ylabel = metric.replace("_", "-")
    for name, s in series.items():
        x, y = np.asarray(s[0], float), np.asarray(s[1], float)
        if x.size == 0 or np.all(np.isnan(y)):
            continue
        (line,) = ax.plot(x, y, marker="o", ms=3, label=name)
        if len(s) > 2:
            sd = np.asarray(s[2], float)
            ax.fill_between(x, y - sd, y + sd, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("labels")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return ax


#: The former name of :class:`TagAssistant`.
ActiveLearner = TagAssistant
