import threading

import numpy as np
import pytest

from nblabel.errors import InputError
from nblabel.queue import Queue


def test_sequential_and_random_are_permutations():
    q = Queue(10)
    assert q.order.tolist() == list(range(10))
    r = Queue(10, order="random", random_state=3)
    assert sorted(r.order.tolist()) == list(range(10))
    assert r.order.tolist() == Queue(10, order="random", random_state=3).order.tolist()
    assert r.order.tolist() != list(range(10))
    with pytest.raises(InputError):
        Queue(3, order="best")


def test_reorder_by_priority_keeps_every_item_and_ties_stable():
    q = Queue(6)
    q.reorder(np.array([0.1, 0.9, 0.1, np.nan, 0.5, 0.9]))
    assert q.order.tolist() == [1, 5, 4, 0, 2, 3]
    assert q.rank(3) == 5
    with pytest.raises(InputError):
        q.reorder(np.zeros(5))


def test_next_open_wraps_and_ends():
    q = Queue(5)
    closed = np.array([False, True, True, False, False])
    assert q.next_open(0, closed) == 3
    assert q.next_open(4, closed) == 0
    assert q.next_open(None, np.ones(5, bool)) is None
    assert q.next_open(2, closed, chunk=1) == 3


def test_reorder_is_atomic_for_concurrent_readers():
    q = Queue(50_000)
    errors = []

    def reader():
        for _ in range(200):
            order = q.order
            if len(np.unique(order)) != q.n:
                errors.append("torn")

    t = threading.Thread(target=reader)
    t.start()
    rng = np.random.default_rng(0)
    for _ in range(20):
        q.reorder(rng.random(q.n))
    t.join()
    assert not errors
