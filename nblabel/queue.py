"""The order in which items are served.

A :class:`Queue` holds a permutation of item positions. ``sequential`` keeps DataFrame order,
``random`` shuffles it with a seed, and :meth:`Queue.reorder` puts items in order of a
priority score (higher first) -- the hook for active learning. The queue never drops an
item: it only orders them all, and :meth:`Queue.rank` says where each one stands.
"""

from __future__ import annotations

import threading

import numpy as np

from nblabel.errors import InputError

__all__ = ["ORDERS", "Queue"]

ORDERS = ("sequential", "random")


class Queue:
    """A permutation of ``n`` item positions with a priority hook.

    Parameters
    ----------
    n : int
        Number of items.
    order : {"sequential", "random"}
        Initial order.
    random_state : int, optional
        Seed for ``random``.
    """

    def __init__(self, n: int, *, order: str = "sequential", random_state: int | None = None):
        if order not in ORDERS:
            raise InputError(f"unknown order {order!r}; use one of {ORDERS} or reorder() by score")
        self.n = int(n)
        self.order_name = order
        perm = np.arange(self.n, dtype=np.int64)
        if order == "random":
            perm = np.random.default_rng(random_state).permutation(self.n)
        self._lock = threading.Lock()
        self._set(perm)
        self.priority: np.ndarray | None = None

    def _set(self, perm: np.ndarray) -> None:
        rank = np.empty(self.n, dtype=np.int64)
        rank[perm] = np.arange(self.n, dtype=np.int64)
        with self._lock:  # both arrays swap together: readers never see a half update
            self._order, self._rank = perm, rank

    @property
    def order(self) -> np.ndarray:
        """Positions in serving order (read-only view)."""
        view = self._order.view()
        view.flags.writeable = False
        return view

    @property
    def ranks(self) -> np.ndarray:
        """Place of every position in the queue (read-only view; 0 = first)."""
        view = self._rank.view()
        view.flags.writeable = False
        return view

    def rank(self, position: int) -> int:
        """Where an item stands in the queue (0 = first)."""
        return int(self._rank[position])

    def reorder(self, priority: np.ndarray) -> None:
        """Serve items by decreasing ``priority`` (ties keep the current order).

        The swap is atomic; the caller keeps its current item.
        """
        p = np.asarray(priority, dtype=np.float64)
        if p.shape != (self.n,):
            raise InputError(f"priority must have one value per item ({self.n}), got {p.shape}")
        p = np.where(np.isnan(p), -np.inf, p)
        with self._lock:
            current = self._order
        perm = current[np.argsort(-p[current], kind="stable")]
        self._set(perm)
        self.priority = p

    def next_open(self, after: int | None, closed: np.ndarray, *, chunk: int = 4096) -> int | None:
        """The first position after ``after`` (in queue order) whose ``closed`` flag is False,
        wrapping around; ``None`` when every item is closed."""
        with self._lock:
            order, rank = self._order, self._rank
        start = 0 if after is None else int(rank[after]) + 1
        for lo, hi in ((start, self.n), (0, start)):
            i = lo
            while i < hi:
                j = min(hi, i + chunk)
                hits = np.flatnonzero(~closed[order[i:j]])
                if hits.size:
                    return int(order[i + hits[0]])
                i = j
        return None

    # -- rows added or removed while a session runs -------------------------------------
    def remap(self, new_positions: np.ndarray, n: int) -> None:
        """Follow a change of the rows: ``new_positions[i]`` is where old position ``i``
        went (-1: removed). Surviving items keep their order; new items (positions no old
        one maps to) join at the end in row order. The swap is atomic, in place (holders of
        this queue see the change)."""
        mapped = np.asarray(new_positions, dtype=np.int64)
        with self._lock:
            current = self._order
        kept = mapped[current]
        kept = kept[kept >= 0]
        fresh = np.ones(int(n), dtype=bool)
        fresh[kept] = False
        perm = np.concatenate([kept, np.flatnonzero(fresh)]).astype(np.int64)
        priority = None
        if self.priority is not None:
            priority = np.full(int(n), np.nan)
            ok = mapped >= 0
            priority[mapped[ok]] = self.priority[: mapped.size][ok]
        rank = np.empty(int(n), dtype=np.int64)
        rank[perm] = np.arange(int(n), dtype=np.int64)
        with self._lock:
            self.n = int(n)
            self._order, self._rank = perm, rank
        self.priority = priority
