"""Plausibility checks: each rule rejects what it should and lets the rest through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meter_agent import checks
from meter_agent.checks import LastGood, Rejection, RejectionCode, history_checks, screen_checks
from meter_agent.config import OcrConfig

T = datetime(2026, 3, 1, tzinfo=UTC)


def code(why: Rejection | None) -> RejectionCode | None:
    return None if why is None else why.code


def test_lower_than_last_accepted_is_rejected() -> None:
    last = LastGood("012345", 12345.0, T)
    assert (
        code(history_checks("012344", T + timedelta(hours=1), last, OcrConfig()))
        == checks.NOT_MONOTONIC
    )
    assert history_checks("012345", T + timedelta(hours=1), last, OcrConfig()) is None


def test_monotonic_can_be_switched_off() -> None:
    last = LastGood("012345", 12345.0, T)
    assert (
        history_checks("012340", T + timedelta(hours=1), last, OcrConfig(monotonic=False)) is None
    )


def test_max_increase_scales_with_the_time_since_the_last_accepted_reading() -> None:
    ocr = OcrConfig(max_increase_per_day=48.0)  # 2 kWh per hour
    last = LastGood("001000", 1000.0, T)
    # one hour: 2 kWh plus one step of the last digit
    assert history_checks("001003", T + timedelta(hours=1), last, ocr) is None
    assert (
        code(history_checks("001004", T + timedelta(hours=1), last, ocr))
        == checks.INCREASE_TOO_LARGE
    )
    # ten hours later far more is plausible
    assert history_checks("001020", T + timedelta(hours=10), last, ocr) is None


def test_a_drum_known_to_have_just_settled_needs_the_time_to_reach_the_next_digit() -> None:
    """Read from drums, the last reading says how far its last drum had turned: the step
    of slack the rise limit grants a reading of unknown place is that drum's way to its
    next digit, plus a quarter step for the model's error."""
    ocr = OcrConfig(max_increase_per_day=24.0)  # 1 kWh per hour, a step of the last digit
    five = T + timedelta(minutes=5)  # 1/12 of a step allowed
    # the drum had just left 1: the next digit in five minutes is too fast
    just = LastGood("000001", 1.0, T, turned=0.02)
    why = history_checks("000002", five, just, ocr)
    assert code(why) == checks.INCREASE_TOO_LARGE
    assert why is not None and "0.98 of a step" in why.text and "0.02 turned" in why.text
    assert history_checks("000001", five, just, ocr) is None
    # nearly at 2 already, or placed up to a quarter step too low: it may get there
    assert history_checks("000002", five, LastGood("000001", 1.0, T, turned=0.8), ocr) is None
    assert history_checks("000002", five, LastGood("000001", 1.0, T, turned=0.7), ocr) is None
    # an hour later the drum may have turned a whole step
    assert history_checks("000002", T + timedelta(hours=1), just, ocr) is None
    # a reading of unknown place (set by hand, an LCD) keeps the step of slack
    assert history_checks("000002", five, LastGood("000001", 1.0, T), ocr) is None
    # and the digits the drums may show are those that pass: the last drum only its 1
    # just after it left 1, its 1 or 2 when it was nearly at 2
    assert checks.possible_digits(just, five, ocr)[-1] == {1}
    assert checks.possible_digits(LastGood("000001", 1.0, T, turned=0.8), five, ocr)[-1] == {1, 2}
    assert checks.possible_digits(LastGood("000001", 1.0, T), five, ocr)[-1] == {1, 2}


def test_decimals_scale_the_reading() -> None:
    ocr = OcrConfig(decimals=1, max_increase_per_day=24.0)
    last = LastGood("0123450", 12345.0, T)
    assert history_checks("0123460", T + timedelta(hours=1), last, ocr) is None  # +1.0 kWh
    assert (
        code(history_checks("0123475", T + timedelta(hours=1), last, ocr))
        == checks.INCREASE_TOO_LARGE
    )


def test_screens_wrong_count_and_unreadable_digits() -> None:
    eights = [("8", 0.99)] * 6
    assert code(screen_checks(eights, 6, "lcd7")) == checks.TEST_SCREEN
    assert screen_checks(eights, 6, "drum") is None  # a drum counter can truly show 888888
    assert code(screen_checks([("1", 0.9)] * 5, 6, "lcd7")) == checks.DIGIT_COUNT
    gap = [("1", 0.9)] * 5 + [(None, 0.0)]
    why = screen_checks(gap, 6, "drum")
    assert why is not None
    assert why.code == checks.UNREADABLE_DIGITS and "digit 6 of 6" in why.text


def test_confidence_threshold() -> None:
    assert (
        code(checks.confidence_check(0.5, OcrConfig(confidence_threshold=0.8)))
        == checks.LOW_CONFIDENCE
    )
    assert checks.confidence_check(0.85, OcrConfig(confidence_threshold=0.8)) is None


def test_a_rejection_is_written_as_code_colon_text_only_at_the_edge() -> None:
    why = history_checks(
        "012344", T + timedelta(hours=1), LastGood("012345", 12345.0, T), OcrConfig()
    )
    assert why == Rejection(
        RejectionCode.NOT_MONOTONIC, "012344 is lower than the last accepted 012345"
    )
    assert why.to_wire() == "not_monotonic: 012344 is lower than the last accepted 012345"
    assert str(why) == why.to_wire()
    # every code is its own wire text, so counts keyed by code read as before
    assert [c.value for c in RejectionCode] == list(checks.ALL_CODES)
    assert checks.LOW_CONFIDENCE == "low_confidence"


def test_the_digits_each_position_may_show_are_those_the_history_checks_pass() -> None:
    """From the last accepted reading up to the largest rise the time allows: a minute
    after 7669.0 kWh at 200 kWh a day (0.14 kWh, plus one step) the reading is 7669.0,
    7669.1 or 7669.2, and every one of them passes the history checks."""
    ocr = OcrConfig(decimals=1)
    last = LastGood("076690", 7669.0, T)
    ts = T + timedelta(minutes=1)
    got = checks.possible_digits(last, ts, ocr)
    assert got == [{0}, {7}, {6}, {6}, {9}, {0, 1, 2}]
    for d in ("076690", "076691", "076692"):
        assert history_checks(d, ts, last, ocr) is None
    assert history_checks("076693", ts, last, ocr) is not None
    # across a carry: 7669.9 may become 7670.1
    last = LastGood("076699", 7669.9, T)
    assert checks.possible_digits(last, ts, ocr) == [{0}, {7}, {6}, {6, 7}, {9, 0}, {9, 0, 1}]
    # a day later the lower positions may show anything
    assert checks.possible_digits(last, T + timedelta(days=1), ocr)[-3:] == [set(range(10))] * 3
    # nothing to go by: the history checks off, or a reading of another length
    assert checks.possible_digits(last, ts, OcrConfig(decimals=1, monotonic=False)) is None
    assert checks.possible_digits(LastGood("76699", 7669.9, T), ts, ocr) is None


def test_the_hubs_unit_of_the_last_digit_comes_from_the_digits_or_the_number() -> None:
    from meter_agent.rules import last_digit_step

    assert last_digit_step(314162.0) == 1.0  # the seed's Pi sends numbers only
    assert last_digit_step(12345.6) == 0.1
    assert last_digit_step(314162.0, "3141620") == 0.1  # the agent's digits say more
    assert last_digit_step(5.5, "0055") == 0.1
    assert last_digit_step(12345.678) == 0.001
    assert last_digit_step(0.1 + 0.2) == 0.001  # a float's noise: at most three decimals
    assert last_digit_step(1e9) == 1.0  # never above a kWh


def test_the_hub_allows_one_tick_of_the_finer_register() -> None:
    from meter_agent.rules import Limits, Refusal, implausible
    from meter_agent.schema import MeterReading

    def at(minutes: float, kwh: float, digits: str | None = None) -> MeterReading:
        return MeterReading(
            reading_kwh=kwh,
            timestamp=T + timedelta(minutes=minutes),
            confidence=0.95,
            digits=digits,
        )

    limits = Limits()
    assert implausible(at(1, 1315.0), at(0, 1314.0), limits) is None
    refused = implausible(at(1, 1316.0), at(0, 1314.0), limits)
    assert refused is not None and refused.code is Refusal.INCREASE_TOO_LARGE
    # whole-looking numbers of a register with a tenth: its digits give the unit
    assert implausible(at(1, 1315.0, "13150"), at(0, 1314.0, "13140"), limits) is not None
    # one reading written with a tenth makes the finer unit count
    assert implausible(at(1, 1315.0), at(0, 1314.5), limits) is not None
    assert implausible(at(1, 1314.6), at(0, 1314.5), limits) is None
