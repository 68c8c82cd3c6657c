"""Response and request bodies of the HTTP API.

Field names are snake_case and stable: Home Assistant templates and scripts
written against the original Flask API key on them. Powers are watts with the
Tesla gateway's signs, and every signed power comes with its direction in
words, so nobody has to remember which way is positive. Timestamps are ISO
8601 UTC with ``Z``. A value that is not known is ``null``, never ``0``.

Only pydantic here (no FastAPI), so the remote viewer can parse responses
with the same models the server writes them with. The sample's keys
(``PowerwallReadings``, ``PowerPoint``, ``LifetimeCounters``) are built from the wire
table (:mod:`energytui.wire`), so a field added there reaches the OpenAPI contract too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
    field_validator,
)

from energytui.model import BatteryStatus, GridDirection
from energytui.wire import api as wire_api
from energytui.wire.table import SAMPLE_TIME, GridStatusWord
from meter_agent.schema import MeterReading

_DATETIME = TypeAdapter(datetime)


class _Out(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ErrorResponse(_Out):
    """Every 4xx: one sentence saying what to fix."""

    detail: str


class SourceHealthOut(_Out):
    """What the hub knows about one source's recent behaviour."""

    name: str
    kind: str
    state: str = Field(description="waiting | ok | stale | error | backoff")
    live: bool = Field(
        description="true when the last success is recent and the last poll succeeded"
    )
    last_success: str | None = None
    last_attempt: str | None = None
    last_error: str | None = None
    consecutive_errors: int = 0
    latency_ms: float | None = None
    next_poll_at: str | None = None
    polls: int = 0
    failures: int = 0


class PowerwallHead(_Out):
    """What every ``PowerwallReadings`` starts with: the sample's time and its liveness."""

    timestamp: str = Field(description=SAMPLE_TIME.json[0].doc)
    age_s: float = Field(description="seconds between the sample and the response")
    stale: bool


class PointHead(_Out):
    timestamp: str


# Built from the wire table. A type checker sees the head classes (the table's keys are
# only known when the table is read), the running program the whole models.
if TYPE_CHECKING:
    LifetimeCounters = _Out
    PowerwallReadings = PowerwallHead
    PowerPoint = PointHead
else:
    LifetimeCounters = create_model(
        "LifetimeCounters",
        __base__=_Out,
        __doc__="The gateway's lifetime energy counters, watt-hours, one per direction"
        " (never signed).",
        **wire_api.lifetime_fields(),
    )
    PowerwallReadings = create_model(
        "PowerwallReadings",
        __base__=PowerwallHead,
        __doc__="The latest Powerwall sample; ``stale`` true means it is not live and only"
        " shown for context.",
        **wire_api.reading_fields(),
        lifetime=(LifetimeCounters | None, None),
    )
    PowerPoint = create_model(
        "PowerPoint",
        __base__=PointHead,
        __doc__="One point of power history (W, Tesla signs).",
        **wire_api.point_fields(),
    )


class MeterOut(_Out):
    """The latest accepted utility-meter reading (lower than the one before only when a
    person set it by hand at the agent, method "manual")."""

    reading_kwh: float
    timestamp: str = Field(description="when the agent read the meter")
    confidence: float = Field(description="OCR confidence 0-1")
    method: str
    digits: str | None = None
    id: str | None = None
    last_update: str | None = Field(description="when the hub last heard from the meter")
    age_s: float
    stale: bool


class EnergyFlowsOut(_Out):
    """Energy by direction, kWh, each a positive number."""

    solar_kwh: float
    home_kwh: float
    grid_import_kwh: float
    grid_export_kwh: float
    battery_charge_kwh: float
    battery_discharge_kwh: float


class EnergyTodayOut(EnergyFlowsOut):
    """Energy moved since local midnight, kWh, one positive number per direction."""

    method: str = Field(description="counters (gateway lifetime counters) or integrated")
    day: str | None = Field(description="local date the totals belong to")


class MeterPoint(_Out):
    timestamp: str
    reading_kwh: float
    confidence: float | None = None
    method: str | None = None


class CurrentHistory(_Out):
    power: list[PowerPoint]
    meter: list[MeterPoint]


class CurrentReadings(_Out):
    """``GET /current_readings``: everything the dashboard shows, from the hub's live cache."""

    timestamp: str = Field(description="when this response was made")
    stale: bool = Field(description="true when the Powerwall data is not live (or there is none)")
    powerwall: PowerwallReadings | None
    meter: MeterOut | None
    energy_today: EnergyTodayOut
    sources: dict[str, SourceHealthOut]
    history: CurrentHistory | None = None


class StoreStatus(_Out):
    enabled: bool
    readonly: bool
    error: str | None = None


class SinkStatusOut(_Out):
    """A publisher's state (today the InfluxDB writer: ``InfluxStatus``)."""

    state: Literal["ok", "behind", "error", "stopped"] = Field(
        description="ok: caught up; behind: points wait longer than two flush intervals;"
        " error: the last write failed (points are kept in the spool and sent later)"
    )
    line: str = Field(description="the health line's words, e.g. 'InfluxDB ok, 1,234 written'")
    enabled: bool = True
    url: str | None = Field(default=None, description="where it writes (no password)")
    points_written: int = Field(default=0, description="points the database took since start")
    points_pending: int = Field(default=0, description="points waiting to be sent")
    oldest_unsent_age_s: float | None = Field(
        default=None, description="age of the oldest waiting point, s; null when none waits"
    )
    dropped: int = Field(default=0, description="oldest points dropped because the spool was full")
    rejected: int = Field(default=0, description="points the database refused as malformed")
    last_error: str | None = None
    last_write: str | None = Field(default=None, description="when a batch was last taken")


class MeterRejectedOut(_Out):
    """The latest reading the hub's plausibility checks refused."""

    reading_kwh: float
    confidence: float | None = None
    timestamp: str = Field(description="when the meter was read (the reading's own time)")
    code: Literal["low_confidence", "not_monotonic", "increase_too_large"]
    reason: str = Field(description="why, in one sentence")
    at: str = Field(description="when the hub refused it")


class HealthOut(_Out):
    """``GET /health``: healthy (Powerwall live), degraded (something stale) or unhealthy (no power data)."""

    status: Literal["healthy", "degraded", "unhealthy"]
    timestamp: str
    version: str
    uptime_s: float
    powerwall_connected: bool
    meter_connected: bool
    meter_refused_lower_kwh: float | None = Field(
        default=None,
        description="the meter agent's latest reading when it is lower than the accepted one"
        " and so refused (the agent started over, or the meter was replaced: set the reading"
        " by hand at the agent); null otherwise",
    )
    meter_rejected: MeterRejectedOut | None = Field(
        default=None,
        description="the latest reading the plausibility checks refused (too low a confidence,"
        " lower than the last and not set by hand, or too large a rise), kept until the next"
        " one is refused; null before any. It does not make status degraded",
    )
    store: StoreStatus
    sources: dict[str, SourceHealthOut]
    sinks: dict[str, SinkStatusOut] = Field(
        default_factory=dict,
        description="the publishers this process runs, by name ('influxdb'); empty without any",
    )


class PowerwallStatus(_Out):
    """``GET /powerwall/status``: the site's state in words."""

    timestamp: str
    connected: bool = Field(description="the Powerwall source is live")
    stale: bool
    sample_timestamp: str | None
    grid_status: GridStatusWord
    grid_connected: bool | None
    grid_direction: GridDirection | None
    battery_status: BatteryStatus | None
    battery_percentage: float | None
    backup_reserve_percentage: float | None
    mode: str
    mode_label: str
    source: str | None
    health: SourceHealthOut | None
    last_error: str | None


class SoeOut(_Out):
    """``GET /powerwall/soe``: battery state of energy (pypowerwall proxy's shape plus staleness)."""

    percentage: float | None
    timestamp: str | None
    stale: bool


class VitalsOut(_Out):
    """``GET /powerwall/vitals``: device details from the slow schedule, when the source has them."""

    timestamp: str
    available: bool
    fetched_at: str | None = None
    firmware: str | None = None
    site_name: str | None = None
    operation_mode: str | None = None
    alerts: list[str] = Field(default_factory=list)
    battery_blocks: list[dict] = Field(default_factory=list)
    strings: list[dict] = Field(default_factory=list)
    temperatures: dict[str, float] = Field(default_factory=dict)
    vitals: dict | None = None
    notes: list[str] = Field(default_factory=list)
    capacity_kwh: float | None = Field(
        default=None, description="the battery's full capacity as the gateway reports it"
    )
    reserve_pct: float | None = Field(default=None, description="backup reserve, Tesla app %")
    mode_unknown: str | None = Field(default=None, description="why operation_mode is null")
    reserve_unknown: str | None = Field(default=None, description="why reserve_pct is null")
    alert_descriptions: dict[str, str] = Field(
        default_factory=dict, description="each alert code in words"
    )


class MeterHistory(_Out):
    """``GET /history/meter``: every accepted reading in the window, oldest first."""

    days: float
    start: str
    end: str
    count: int
    origin: Literal["store", "memory"]
    readings: list[MeterPoint]


class PowerHistory(_Out):
    """``GET /history/power``: power samples in the window, oldest first (store rollups when long)."""

    hours: float
    start: str
    end: str
    count: int
    origin: Literal["store", "memory"]
    points: list[PowerPoint]


class MeterPostResult(_Out):
    """``POST /meter_reading`` outcome: stored (201) or duplicate (200)."""

    status: Literal["stored", "duplicate"]
    id: str | None
    reading_kwh: float


#: the years a meter reading may be dated in: a reading from year 1 is a sender's bug, and
#: the store names its files by date (a year-1 reading could not be filed)
READING_YEARS = range(2000, 2100)
BAD_YEAR = "must be a date from 2000 to 2099 (when the meter was read)"


def _plausible_year(v: datetime | None) -> datetime | None:
    if v is not None and v.year not in READING_YEARS:
        raise ValueError(BAD_YEAR)
    return v


class MeterReadingIn(MeterReading):
    """The body of ``POST /meter_reading``: a :class:`MeterReading`, numbers strictly numbers.

    Lax parsing would take ``"confidence": true`` as 1.0 or ``"reading_kwh": "12"``
    as 12.0, and a bare number as a Unix time; a reading that arrives that mangled
    is refused instead.
    """

    reading_kwh: float = Field(ge=0.0, le=1e9, strict=True)
    confidence: float = Field(ge=0.0, le=1.0, strict=True)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _iso_text(cls, v: Any) -> Any:
        if not isinstance(v, str):
            raise ValueError("must be ISO 8601 text with a time zone, e.g. 2026-11-25T08:00:00Z")
        try:  # years 1 and 9999 with an offset overflow when moved to UTC
            parsed = _DATETIME.validate_python(v)
            if parsed.tzinfo is not None:
                parsed.astimezone(UTC)
        except OverflowError:
            raise ValueError("is out of the range of dates a meter reading can have") from None
        except ValidationError:
            pass  # the field's own validation says what is wrong
        return v

    @field_validator("timestamp")
    @classmethod
    def _year(cls, v: datetime) -> datetime:
        _plausible_year(v)
        return v


class SeedMeterIn(BaseModel):
    """The body of the seed's ``POST /meter_reading``, as its Pi sends it.

    Only ``reading_kwh`` is required. ``timestamp`` missing means "now" (when the hub
    receives it); one without a zone is UTC, as the seed's own code wrote every time
    (``datetime.utcnow().isoformat()``). ``confidence`` missing means the sender makes no
    OCR guess (a CT clamp, a person): 1.0. Keys the seed did not define are ignored, so a
    Pi sending more keeps working. Numbers must be JSON numbers: ``"12"`` or ``true`` as a
    reading is refused, not guessed at.
    """

    model_config = ConfigDict(extra="ignore")

    reading_kwh: float = Field(ge=0.0, le=1e9, strict=True, allow_inf_nan=False)
    timestamp: datetime | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0, strict=True, allow_inf_nan=False)
    method: str | None = Field(default=None, max_length=64)
    digits: str | None = Field(default=None, max_length=32, pattern=r"^[0-9]*$")
    id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _iso_text(cls, v: Any) -> Any:
        if v is not None and not isinstance(v, str):
            raise ValueError("must be ISO 8601 text, e.g. 2025-11-07T14:23:45Z")
        return v

    @field_validator("timestamp")
    @classmethod
    def _year(cls, v: datetime | None) -> datetime | None:
        return _plausible_year(v)

    def to_reading(self, arrived: datetime) -> MeterReading:
        """The reading the hub takes; raises ``ValueError`` (a ValidationError) when the
        timestamp cannot be moved to UTC."""
        ts = arrived if self.timestamp is None else self.timestamp
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return MeterReading(
            reading_kwh=self.reading_kwh,
            timestamp=ts,
            confidence=1.0 if self.confidence is None else self.confidence,
            method=self.method or "unknown",
            digits=self.digits,
            id=self.id,
        )


class SeedMeterAccepted(_Out):
    """The seed's 200 answer to ``POST /meter_reading``, with our fields beside it."""

    status: Literal["accepted"] = "accepted"
    message: str = Field(default="Reading stored", description="the seed's text, always")
    result: Literal["stored", "duplicate"] = Field(
        description="stored now, or already stored (the same id, or a reading not newer "
        "than the last with no id)"
    )
    id: str | None
    reading_kwh: float
    timestamp: str = Field(description="the reading's time (when it arrived if not sent)")


class SeedMeterRejected(_Out):
    """The seed's 400 answer to ``POST /meter_reading`` (also our 413), with a code beside."""

    status: Literal["rejected"] = "rejected"
    reason: str = Field(
        description="one sentence saying why (for a missing reading_kwh the seed's own words,"
        " 'Missing required field: reading_kwh')"
    )
    code: str = Field(
        description="invalid (the body), too_large (the body's size), or the plausibility "
        "check that refused the reading: low_confidence, not_monotonic, increase_too_large"
    )


class CostOut(_Out):
    """Money in the tariff's currency: what was paid (imports − exports + the fixed
    charge), what the home would have cost all from the grid, and the difference."""

    currency: str
    cost: float
    without_solar: float
    savings: float
    fixed: float


class EnergyPeriodOut(EnergyFlowsOut):
    start: str = Field(description="local start, ISO 8601 with its UTC offset")
    end: str = Field(description="local end (exclusive), ISO 8601 with its UTC offset")
    method: str = Field(description="counters, integrated, or counters and integrated")
    cost: CostOut | None = None


class EnergyOut(_Out):
    """A span's energy summed from 15-minute slots: every span agrees with every other."""

    span: str
    start: str
    end: str
    unit: Literal["slot", "hour", "day", "month"]
    method: str = Field(description="where the figures come from (counters or integrated)")
    covered_s: float = Field(description="the time covered by slots that saw energy")
    origin: Literal["store", "memory"]
    total: EnergyFlowsOut
    cost: CostOut | None = Field(description="null without a [tariff] in the config")
    periods: list[EnergyPeriodOut]
