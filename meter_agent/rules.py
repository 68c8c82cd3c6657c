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

Pure functions of numbers and a method name; energytui imports this module, and it
imports nothing but :mod:`meter_agent.schema`.
"""

from __future__ import annotations

from meter_agent.schema import MANUAL_METHOD


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
