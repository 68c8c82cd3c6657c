"""The meter rule: a meter reading never goes down, except a reading set by hand."""

from __future__ import annotations

import pytest

from meter_agent import rules
from meter_agent.schema import MANUAL_METHOD


@pytest.mark.parametrize(
    ("kwh", "last", "lower"),
    [
        (99.9, 100.0, True),
        (100.0, 100.0, False),  # a meter standing still has not gone down
        (100.1, 100.0, False),
        (0.0, 100.0, True),
        (None, 100.0, False),  # unknown on either side: nothing to compare
        (100.0, None, False),
        (None, None, False),
    ],
)
def test_is_lower(kwh: float | None, last: float | None, lower: bool) -> None:
    assert rules.is_lower(kwh, last) is lower


def test_a_lower_reading_steps_back_whatever_engines_read_it() -> None:
    assert rules.steps_back(99.0, 100.0)  # the agent's own reading (no method)
    assert rules.steps_back(99.0, 100.0, "cnn+seven_segment")
    assert rules.steps_back(99.0, 100.0, "restored")
    assert rules.steps_back(99.0, 100.0, "unknown")


def test_a_reading_set_by_hand_may_go_down() -> None:
    assert MANUAL_METHOD == "manual"
    assert rules.set_by_hand(MANUAL_METHOD)
    assert not rules.set_by_hand("Manual") and not rules.set_by_hand(None)
    assert not rules.steps_back(5.0, 100.0, MANUAL_METHOD)


def test_equal_higher_or_first_readings_never_step_back() -> None:
    assert not rules.steps_back(100.0, 100.0)
    assert not rules.steps_back(100.5, 100.0)
    assert not rules.steps_back(100.0, None)  # the first reading
    assert not rules.steps_back(None, 100.0)


def test_a_published_total_is_held_back_only_when_lower() -> None:
    assert rules.holds_back_total(9.999, 10.0)
    assert not rules.holds_back_total(10.0, 10.0)
    assert not rules.holds_back_total(10.001, 10.0)
    assert not rules.holds_back_total(0.0, None)  # nothing published yet
    assert not rules.holds_back_total(float("nan"), 10.0)  # as `nan < 10.0`: not lower
