"""The JSON that crosses between meter_agent and the energytui hub: one source of truth.

energytui imports this module; meter_agent imports nothing from energytui.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator


def _aware_utc(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("timestamp must carry a time zone (use ISO 8601 with Z)")
    try:
        return v.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("timestamp is out of range") from None


def iso_z(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def problem_words(err: Mapping[str, Any]) -> str:
    """pydantic's words for one validation problem, as the clause of a one-sentence error
    (the agent's config and HTTP errors, the hub's API): without its "Value error, "
    prefix, and without "after validation" ("List should have at least 4 items after
    validation, not 2": the items are the ones sent). The caller sets the case."""
    msg = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
    return msg.replace(" after validation", "")


#: ``method`` of a reading a person set by hand (the agent's ``PUT /reading``): it may be
#: lower than the one before (a replaced meter, or a wrong value corrected), and the hub
#: takes it as the new base instead of refusing it as a step backwards
MANUAL_METHOD = "manual"


class MeterReading(BaseModel):
    """An accepted meter reading, as served by ``GET /meter`` and posted to the hub.

    ``id`` is stable per reading (agent-generated) so a store-and-forward upload
    that is retried never stores the same reading twice.
    """

    model_config = ConfigDict(extra="forbid")

    reading_kwh: float = Field(ge=0.0, le=1e9)
    timestamp: datetime
    confidence: float = Field(ge=0.0, le=1.0)
    method: str = Field(default="unknown", max_length=64)
    digits: str | None = Field(default=None, max_length=32, pattern=r"^[0-9]*$")
    id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")

    @field_validator("reading_kwh", "confidence")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("timestamp")
    @classmethod
    def _tz(cls, v: datetime) -> datetime:
        return _aware_utc(v)

    @field_serializer("timestamp")
    def _ser_ts(self, v: datetime) -> str:
        return iso_z(v)


class MeterStatus(MeterReading):
    """``GET /meter``: the latest accepted reading plus when the agent last looked."""

    last_update: datetime | None = None

    @field_serializer("last_update")
    def _ser_lu(self, v: datetime | None) -> str | None:
        return None if v is None else iso_z(v)
