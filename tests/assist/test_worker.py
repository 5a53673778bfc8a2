"""The assistants' one background-worker shape: newest request wins, cancel, errors, close."""

from __future__ import annotations

import threading
import time

import pytest

from nblabel.assist._worker import Lane


def test_a_queued_job_is_replaced_by_a_newer_one_with_the_same_key():
    gate = threading.Event()
    ran: list[str] = []
    lane = Lane("test")
    lane.submit(lambda gen: gate.wait(5), key="block")
    lane.submit(lambda gen, x: ran.append(x), "old", key="fit")
    lane.submit(lambda gen, x: ran.append(x), "new", key="fit")
    lane.submit(lambda gen, x: ran.append(x), "other", key=None)
    gate.set()
    assert lane.wait(10)
    assert ran == ["new", "other"]
    assert [r["ok"] for r in lane.history] == [True, True, True]
    lane.close()


def test_a_failing_job_is_recorded_reported_and_the_lane_goes_on():
    errors: list[tuple[str, BaseException]] = []
    lane = Lane("test", on_error=lambda job, e: errors.append((job, e)))

    def boom(gen):
        raise ValueError("broken model")

    lane.submit(boom, label="fit")
    lane.wait(10)
    assert lane.status == "failed" and isinstance(lane.error, ValueError)
    assert errors and errors[0][0] == "fit" and "broken model" in str(errors[0][1])
    assert lane.history[-1]["ok"] is False and "broken model" in lane.history[-1]["error"]
    done = []
    lane.submit(lambda gen: done.append(1))
    lane.wait(10)
    assert done == [1] and lane.status == "idle"
    lane.close()


def test_cancel_stops_a_running_job_between_steps_and_drops_queued_ones():
    steps: list[int] = []
    started = threading.Event()
    lane = Lane("test")

    def long(gen):
        started.set()
        for i in range(200):
            if not lane.current(gen):
                return
            steps.append(i)
            time.sleep(0.01)

    lane.submit(long)
    lane.submit(lambda gen: steps.append(-1))
    started.wait(5)
    lane.cancel()
    assert lane.wait(10)
    assert -1 not in steps and len(steps) < 200
    lane.close()


def test_close_joins_the_thread_and_refuses_new_work():
    lane = Lane("test")
    lane.submit(lambda gen: None)
    lane.wait(10)
    assert lane.alive
    lane.close()
    assert not lane.alive and lane.status == "closed"
    with pytest.raises(RuntimeError, match="closed"):
        lane.submit(lambda gen: None)
    assert not [t for t in threading.enumerate() if t.name == "nblabel-test" and t.is_alive()]
