"""The meter rule, in one place: a meter reading never goes down, except one set by hand.

Why a module of its own: the rule is enforced at four places in two packages, and they
must never drift apart —

* the reader's checks refuse a reading lower than the last accepted one
  (:func:`meter_agent.checks.history_checks`, reason ``not_monotonic``);
* the agent's service refuses, as its last guard before recording and uploading, a
  reading lower than the last accepted one in its history
  (:mod:`meter_agent.reader_state`);
* the hub refuses a polled or pushed reading lower than its latest, unless it was set
  by hand (``energytui.hub``);
* the MQTT publisher never publishes a total lower than one it already published
  (``energytui.sinks.mqtt``).

Home Assistant and Prometheus take a lower total for a meter reset, and one wrong
accepted value would otherwise block every true one after it. The exception is a
reading a person set by hand (``method`` :data:`~meter_agent.schema.MANUAL_METHOD`, the
agent's ``PUT /reading``): a replaced meter or a wrong value corrected, which becomes the
new base instead of being refused.

The plausibility checks live here too (confidence threshold, never lower, largest rise
per day), for the same reason: the agent makes them before it accepts a reading
(:mod:`meter_agent.checks`) and the hub again before it stores one it is sent
(:func:`implausible`), and a threshold read one way in one package and another way in
the other would let through at one door what the other refuses.

Pure functions of numbers and a method name; energytui imports this module, and it
imports nothing but :mod:`meter_agent.schema`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from meter_agent.schema import MANUAL_METHOD, MeterReading


def is_lower(kwh: float | None, last_kwh: float | None) -> bool:
    """Whether ``kwh`` goes below ``last_kwh``: False when either is unknown (None), or
    when they are equal (a meter that stands still has not gone down)."""
    return kwh is not None and last_kwh is not None and kwh < last_kwh


def set_by_hand(method: str | None) -> bool:
    """Whether a reading with this ``method`` was set by a person (``"manual"``)."""
    return method == MANUAL_METHOD


def steps_back(kwh: float | None, last_kwh: float | None, method: str | None = None) -> bool:
    """Whether a reading steps back and may be refused: it is lower than the last
    accepted one (``last_kwh``) and was not set by hand.

    ``method`` is the reading's ``method`` (e.g. ``"cnn+seven_segment"`` or
    ``"manual"``); None is a reading the agent made itself, which is never by hand.
    A reading set by hand may go down: it corrects the ones before it.
    """
    return is_lower(kwh, last_kwh) and not set_by_hand(method)


def holds_back_total(value: float, published: float | None) -> bool:
    """Whether a total must be held back instead of published: it is lower than one
    already published (``published``; None when none was).

    There is no exception for a reading set by hand here: a publisher that lets a
    corrected total through must say so to its consumers another way (the Prometheus
    exporter starts a new epoch, which Prometheus reads as a counter reset).
    """
    return is_lower(value, published)


# -- plausibility: the checks the agent makes before accepting a reading, and the hub
# again before storing one it is sent (the seed's Pi posts readings no agent of ours has
# checked, and the seed's API stored them whatever their confidence) ---------------------

#: below this a reading is a guess, for the agent (``ocr.confidence_threshold``) and the
#: hub (``meter.confidence_threshold``) alike: one default, so the hub never refuses what
#: our own agent accepted. The seed's config.json sets 0.85 on its Pi, which then holds.
CONFIDENCE_THRESHOLD = 0.8
#: the seed's ``ocr.max_daily_increase_kwh``
SEED_MAX_DAILY_INCREASE_KWH = 100.0


class Refusal(StrEnum):
    """Why a reading is implausible, as the agent counts it and the hub records it."""

    LOW_CONFIDENCE = "low_confidence"
    NOT_MONOTONIC = "not_monotonic"
    INCREASE_TOO_LARGE = "increase_too_large"


@dataclass(frozen=True)
class Limits:
    """The plausibility settings: below ``confidence_threshold`` a reading is a guess; more
    than ``max_daily_increase_kwh`` per elapsed day above the last accepted reading is a
    misread digit (1,314 read as 473,188), not consumption."""

    confidence_threshold: float = CONFIDENCE_THRESHOLD
    max_daily_increase_kwh: float = SEED_MAX_DAILY_INCREASE_KWH


@dataclass(frozen=True)
class Refused:
    """A reading the plausibility checks refuse: the code and one sentence (no full stop)."""

    code: Refusal
    text: str


def too_unsure(confidence: float, threshold: float) -> bool:
    """Whether a reading's confidence is below the threshold."""
    return confidence < threshold


def allowed_increase_kwh(elapsed_s: float, max_per_day: float, step_kwh: float = 0.0) -> float:
    """How far a reading may rise ``elapsed_s`` seconds after the last accepted one:
    ``max_per_day`` scaled to the time, plus ``step_kwh`` (one unit of the last digit,
    which a reading a minute later may tick over whatever the daily rate). A reading
    older than the last one (negative time) may rise by the step only."""
    return max_per_day * max(0.0, elapsed_s) / 86400.0 + step_kwh


#: the most decimals a meter's reading is taken to have (a watt-hour of a kWh register)
MAX_DECIMALS = 3


def last_digit_step(kwh: float, digits: str | None = None) -> float:
    """One unit of a reading's last digit, in kWh: the rise a reading taken a moment
    later may show whatever the daily rate, when the register ticks over.

    From the digits the agent read, where it sent them (``314162`` for 314,162.0 kWh is
    a step of 1; ``3141620`` is 0.1); else from the number as it was written (12345.6 is
    0.1, 314162.0 is 1: the seed's Pi sends no digits). At most :data:`MAX_DECIMALS`
    decimals, and never above 1 kWh.
    """
    if digits and digits.isdigit() and kwh > 0:
        n = int(digits)
        for d in range(MAX_DECIMALS + 1):
            if abs(n / 10**d - kwh) <= 1e-9 * max(1.0, kwh):
                return 10.0**-d
    exponent = Decimal(repr(kwh)).normalize().as_tuple().exponent
    if not isinstance(exponent, int):  # nan or infinity: no step
        return 0.0
    return 10.0 ** max(-MAX_DECIMALS, min(0, exponent))


def rises_too_fast(
    kwh: float, last_kwh: float, elapsed_s: float, max_per_day: float, step_kwh: float = 0.0
) -> bool:
    """Whether ``kwh`` is more above ``last_kwh`` than :func:`allowed_increase_kwh`."""
    return kwh - last_kwh > allowed_increase_kwh(elapsed_s, max_per_day, step_kwh) + 1e-9


def kwh_text(kwh: float) -> str:
    """A reading in a sentence: 314162.3 as "314162.3" (``:g`` says 314162, and a
    refusal of 314163.3 after 314162.3 read "314163 … above … 314162"), 1314.0 as "1314"."""
    return f"{kwh:.3f}".rstrip("0").rstrip(".")


def lower_than(kwh: float, last_kwh: float) -> Refused:
    """The refusal of a reading that steps back (:func:`steps_back`)."""
    return Refused(
        Refusal.NOT_MONOTONIC,
        f"The reading {kwh_text(kwh)} kWh is lower than the last accepted {kwh_text(last_kwh)} kWh",
    )


def implausible(reading: MeterReading, last: MeterReading | None, limits: Limits) -> Refused | None:
    """The checks the hub makes on a reading it is sent, against the last it accepted:
    confidence, never lower (unless set by hand), and the largest rise per day plus one
    unit of the last digit (:func:`last_digit_step`), as the agent allows. A reading
    set by hand passes the two history checks: a person may correct the value either way
    (a replaced meter, or a misread one)."""
    if too_unsure(reading.confidence, limits.confidence_threshold):
        return Refused(
            Refusal.LOW_CONFIDENCE,
            f"The confidence {reading.confidence:.2f} is below the threshold "
            f"{limits.confidence_threshold:.2f}",
        )
    if last is None or set_by_hand(reading.method):
        return None
    if steps_back(reading.reading_kwh, last.reading_kwh, reading.method):
        return lower_than(reading.reading_kwh, last.reading_kwh)
    elapsed_s = (reading.timestamp - last.timestamp).total_seconds()
    # the finer of the two readings' last digits: the register may tick over by one
    step = min(
        last_digit_step(reading.reading_kwh, reading.digits),
        last_digit_step(last.reading_kwh, last.digits),
    )
    if rises_too_fast(
        reading.reading_kwh, last.reading_kwh, elapsed_s, limits.max_daily_increase_kwh, step
    ):
        allowed = allowed_increase_kwh(elapsed_s, limits.max_daily_increase_kwh, step)
        return Refused(
            Refusal.INCREASE_TOO_LARGE,
            f"The reading {kwh_text(reading.reading_kwh)} kWh is "
            f"{kwh_text(reading.reading_kwh - last.reading_kwh)} kWh above the last accepted "
            f"{kwh_text(last.reading_kwh)} kWh, more than the {allowed:.3g} kWh allowed in "
            f"{max(0.0, elapsed_s) / 3600:.3g} h at {limits.max_daily_increase_kwh:g} kWh a day",
        )
    return None
