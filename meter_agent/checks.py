"""Plausibility checks: the last line of defence against accepting a wrong reading.

A wrong value that gets accepted is worse than no value: Home Assistant and Prometheus
read a lower total as a meter reset, and AI-on-the-edge users report that one wrong
accepted value blocks every correct one after it. So every reading passes these checks,
and a rejected one keeps a reason (counted by its code) and never becomes the last good
value.

A reason is a :class:`Rejection`: a :class:`RejectionCode` (what ``rejected_counts``
counts and a dashboard can group by) and a sentence. It travels as that object through
the reader and the service; only at the edge (the HTTP responses, the history file,
``meter-agent read``) does it become its wire text ``"code: text"``
(:meth:`Rejection.to_wire`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from meter_agent import rules
from meter_agent.config import OcrConfig


class RejectionCode(StrEnum):
    """Why a reading was refused, as counted and as written before the colon."""

    UNREADABLE_IMAGE = "unreadable_image"
    CAMERA_MOVED = "camera_moved"
    NO_DIGIT_ROW = "no_digit_row"
    BLANK = "blank_display"
    TEST_SCREEN = "test_screen"
    OTHER_SCREEN = "other_screen"
    UNREADABLE_DIGITS = "unreadable_digits"
    DIGIT_COUNT = "digit_count"
    LOW_CONFIDENCE = rules.Refusal.LOW_CONFIDENCE.value
    ENGINES_DISAGREE = "engines_disagree"
    FRAMES_DISAGREE = "frames_disagree"
    NOT_MONOTONIC = rules.Refusal.NOT_MONOTONIC.value
    INCREASE_TOO_LARGE = rules.Refusal.INCREASE_TOO_LARGE.value


# the codes by their old names (a RejectionCode is a str: each equals its wire text)
UNREADABLE_IMAGE = RejectionCode.UNREADABLE_IMAGE
CAMERA_MOVED = RejectionCode.CAMERA_MOVED
NO_DIGIT_ROW = RejectionCode.NO_DIGIT_ROW
BLANK = RejectionCode.BLANK
TEST_SCREEN = RejectionCode.TEST_SCREEN
OTHER_SCREEN = RejectionCode.OTHER_SCREEN
UNREADABLE_DIGITS = RejectionCode.UNREADABLE_DIGITS
DIGIT_COUNT = RejectionCode.DIGIT_COUNT
LOW_CONFIDENCE = RejectionCode.LOW_CONFIDENCE
ENGINES_DISAGREE = RejectionCode.ENGINES_DISAGREE
FRAMES_DISAGREE = RejectionCode.FRAMES_DISAGREE
NOT_MONOTONIC = RejectionCode.NOT_MONOTONIC
INCREASE_TOO_LARGE = RejectionCode.INCREASE_TOO_LARGE

ALL_CODES = tuple(RejectionCode)
#: how far (a share of the last digit's step) the model may misplace the last drum of
#: the last accepted reading: held-out makers' turning drums stand within a tenth of a
#: step of their labels 97 % (electricity) and 78 % (water) of the time, unrounded
TURNED_MARGIN = 0.25


@dataclass(frozen=True)
class Rejection:
    """Why a reading was refused: a code and a sentence (without a final full stop)."""

    code: RejectionCode
    text: str

    def to_wire(self) -> str:
        """The reason as the API, the history file and ``meter-agent read`` write it."""
        return f"{self.code.value}: {self.text}"

    def __str__(self) -> str:
        return self.to_wire()


@dataclass(frozen=True)
class LastGood:
    """What the history checks compare with: the last accepted reading."""

    digits: str
    reading_kwh: float
    ts: datetime
    #: how far the last drum had turned past the reading's last digit (0 to 1), when
    #: the reading was read from drums; None for a reading set by hand or from an LCD
    turned: float | None = None


def to_kwh(digits: str, decimals: int) -> float:
    return int(digits) / (10**decimals)


def drum_reach(last: LastGood, elapsed_s: float, ocr: OcrConfig) -> float | None:
    """The furthest above the last accepted reading, in steps of its last digit, that
    its last drum may stand ``elapsed_s`` later when its place was known
    (``last.turned``): from there, as far as ``max_increase_per_day`` turns it in the
    time, plus :data:`TURNED_MARGIN` for where the model placed it. None when the place
    is unknown (the rise limit's step of slack applies). The one bound both
    :func:`history_checks` and :func:`possible_digits` keep to."""
    if last.turned is None:
        return None
    step = 1 / (10**ocr.decimals)
    may = rules.allowed_increase_kwh(elapsed_s, ocr.max_increase_per_day) / step
    return last.turned + may + TURNED_MARGIN


def possible_digits(last: LastGood, ts: datetime, ocr: OcrConfig) -> list[frozenset[int]] | None:
    """The digits each position may show at ``ts`` if the reading is to pass
    :func:`history_checks`: every reading from the last accepted one (the meter never
    runs back) up to the largest rise the time allows, position by position. None when
    the history constrains nothing (the monotonic check is off, or the last reading does
    not fit the digit count)."""
    n = ocr.expected_digits
    if not ocr.monotonic or len(last.digits) != n or not last.digits.isdigit():
        return None
    elapsed_s = (ts - last.ts).total_seconds()
    step = 1 / (10**ocr.decimals)
    allowed = rules.allowed_increase_kwh(elapsed_s, ocr.max_increase_per_day, step)
    lo = int(last.digits)
    hi = lo + int(math.floor(allowed * 10**ocr.decimals + 1e-9))
    reach = drum_reach(last, elapsed_s, ocr)
    if reach is not None:
        # the last drum's place known: as far as it may have turned since, which is
        # never more than the step of slack allows
        hi = min(hi, lo + int(math.floor(reach + 1e-9)))
    out: list[frozenset[int]] = []
    for i in range(n):
        unit = 10 ** (n - 1 - i)
        a, b = lo // unit, hi // unit
        out.append(
            frozenset(range(10)) if b - a >= 9 else frozenset(x % 10 for x in range(a, b + 1))
        )
    return out


def screen_checks(
    per_digit: list[tuple[str | None, float]], expected: int, display: str
) -> Rejection | None:
    """Reject the screens that are not the reading: the LCD segment test, blank, too few
    readable digits, a wrong digit count."""
    chars = [c for c, _ in per_digit]
    if len(chars) != expected:
        return Rejection(
            DIGIT_COUNT, f"{len(chars)} digit cells, the calibration expects {expected}"
        )
    if display != "drum" and expected >= 3 and all(c == "8" for c in chars):
        return Rejection(TEST_SCREEN, "every digit is 8, the LCD segment test screen")
    missing = sum(c is None for c in chars)
    if missing:
        where = ", ".join(str(i + 1) for i, c in enumerate(chars) if c is None)
        return Rejection(UNREADABLE_DIGITS, f"digit {where} of {expected} could not be read")
    return None


def confidence_check(confidence: float, ocr: OcrConfig) -> Rejection | None:
    if rules.too_unsure(confidence, ocr.confidence_threshold):
        return Rejection(
            LOW_CONFIDENCE,
            f"confidence {confidence:.2f} is below the threshold {ocr.confidence_threshold:.2f}",
        )
    return None


def history_checks(
    digits: str, ts: datetime, last: LastGood | None, ocr: OcrConfig
) -> Rejection | None:
    """Monotonic and maximum-increase checks against the last accepted reading.

    The allowed increase is ``max_increase_per_day`` scaled to the time since the last
    accepted reading, plus one step of the last digit (a reading a minute later may
    legitimately tick over by one unit, whatever the daily rate): the hub's
    :func:`rules.implausible` makes the same checks with the same functions.

    When the last reading was read from drums, the agent also knows how far its last
    drum had turned (``last.turned``), and the slack step is that drum's way to its
    next digit (with :data:`TURNED_MARGIN` for the model's error). A drum just settled
    on 1, read 2.5 five minutes later (a footed 1 half-way to 2 taken for a 2 half-way
    to 3) is refused when the meter cannot rise most of a step in five minutes; the
    hub, which never sees the drums, keeps the step of slack.
    """
    if last is None:
        return None
    value = to_kwh(digits, ocr.decimals)
    if ocr.monotonic and rules.steps_back(value, last.reading_kwh):
        return Rejection(
            NOT_MONOTONIC,
            f"{digits} is lower than the last accepted {last.digits}",
        )
    elapsed_s = (ts - last.ts).total_seconds()
    elapsed_days = max(0.0, elapsed_s) / 86400.0
    step = 1 / (10**ocr.decimals)
    allowed = rules.allowed_increase_kwh(elapsed_s, ocr.max_increase_per_day, step)
    if rules.rises_too_fast(value, last.reading_kwh, elapsed_s, ocr.max_increase_per_day, step):
        return Rejection(
            INCREASE_TOO_LARGE,
            f"{digits} is {value - last.reading_kwh:g} kWh above the last accepted "
            f"{last.digits}, more than the {allowed:.3g} kWh allowed in "
            f"{elapsed_days * 24:.3g} h",
        )
    reach = drum_reach(last, elapsed_s, ocr)
    if reach is not None and last.turned is not None:
        # the step of slack above is for a last drum whose place is unknown; read from
        # drums, it is known: the drum had to turn from there to this reading's digit
        steps = (value - last.reading_kwh) / step
        if steps > reach:
            need = steps - last.turned
            may = reach - last.turned - TURNED_MARGIN
            return Rejection(
                INCREASE_TOO_LARGE,
                f"{digits} needs the last drum to turn {need:.2f} of a step since the last "
                f"accepted {last.digits} (its drum {last.turned:.2f} turned), more than "
                f"the {may:.2f} allowed in {elapsed_days * 24 * 60:.3g} min",
            )
    return None
