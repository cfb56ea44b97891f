"""tests/waiting.wait_for: the one polling helper every asynchronous test wait goes through."""

from __future__ import annotations

import time

import pytest

from tests.waiting import MAX_SHOWN_CHARS, wait_for


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)
        self.now += secs


def _wait(fake: FakeTime, predicate, timeout: float = 1.0, what: str = "it", **kw):
    return wait_for(predicate, timeout, what, clock=fake.clock, sleep=fake.sleep, **kw)


def test_a_predicate_already_true_passes_at_once_without_sleeping():
    fake = FakeTime()

    result = _wait(fake, lambda: "ready")

    assert result == "ready"
    assert fake.sleeps == []


def test_it_returns_the_first_truthy_value_the_predicate_gives():
    fake = FakeTime()
    answers = iter([None, [], 0, {"state": "PROTECTED"}, "later"])

    result = _wait(fake, lambda: next(answers), interval=0.1)

    assert result == {"state": "PROTECTED"}
    assert fake.sleeps == [0.1, 0.1, 0.1]


def test_on_timeout_it_raises_naming_what_and_the_last_value_seen():
    fake = FakeTime()
    values = iter(range(1000))

    with pytest.raises(AssertionError) as err:
        _wait(fake, lambda: [] if next(values) < 1000 else None, what="the stop to fill")

    message = str(err.value)
    assert "timed out after 1 s waiting for the stop to fill" in message
    assert "last value seen: []" in message


def test_the_last_value_can_be_shown_another_way():
    fake = FakeTime()

    with pytest.raises(AssertionError, match=r"last value seen: 2 stops$"):
        _wait(fake, lambda stops: len(stops) == 1, sample=lambda: ["a", "b"],
              shown=lambda stops: f"{len(stops)} stops")


def test_a_huge_last_value_is_cut_short_in_the_failure():
    fake = FakeTime()

    with pytest.raises(AssertionError) as err:
        _wait(fake, lambda s: False, sample=lambda: "x" * 100_000)

    assert len(str(err.value)) < MAX_SHOWN_CHARS + 200
    assert str(err.value).endswith("xxx...")


def test_with_a_sample_it_tests_each_value_and_reports_the_last_one():
    fake = FakeTime()
    states = iter(["OPENING", "PROTECTING", "PROTECTED"])

    assert _wait(fake, lambda s: s == "PROTECTED", sample=lambda: next(states)) == "PROTECTED"

    with pytest.raises(AssertionError, match="last value seen: 'FLAT'"):
        _wait(fake, lambda s: s == "PROTECTED", sample=lambda: "FLAT")


def test_it_polls_until_the_timeout_then_once_more_and_never_sleeps_past_it():
    fake = FakeTime()
    polled_at: list[float] = []

    with pytest.raises(AssertionError):
        _wait(fake, lambda: polled_at.append(fake.now), timeout=1.0, interval=0.3)

    assert polled_at == pytest.approx([100.0, 100.3, 100.6, 100.9, 101.0])
    assert fake.now == pytest.approx(101.0)


def test_an_ignored_exception_counts_as_not_yet_and_is_the_value_reported():
    fake = FakeTime()
    tries = iter([ConnectionRefusedError("port 1"), ConnectionRefusedError("port 2"), "up"])

    def poll():
        got = next(tries)
        if isinstance(got, Exception):
            raise got
        return got

    assert _wait(fake, poll, ignoring=ConnectionRefusedError) == "up"
    with pytest.raises(AssertionError, match="last value seen: ConnectionRefusedError"):
        _wait(fake, lambda: (_ for _ in ()).throw(ConnectionRefusedError("down")),
              ignoring=(ConnectionRefusedError,))


def test_an_exception_not_ignored_propagates_at_once():
    fake = FakeTime()

    with pytest.raises(KeyError):
        _wait(fake, lambda: {}["missing"])
    assert fake.sleeps == []


def test_on_the_real_clock_a_tiny_timeout_fails_quickly():
    started = time.monotonic()

    with pytest.raises(AssertionError, match="waiting for never"):
        wait_for(lambda: False, 0.05, "never", interval=0.01)

    assert time.monotonic() - started < 1.0
