"""Energy and cost over a span, and any span as CSV (``/api/v1/energy``,
``/api/v1/history.csv``).

Both are cut from the same 15-minute slots as the history screen's
(:mod:`energytui.energy`), so the API, the screen and a CSV file agree with each
other and a longer span never shows less.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from energytui.api.schemas import CostOut, EnergyFlowsOut, EnergyOut, EnergyPeriodOut, ErrorResponse
from energytui.config import Config
from energytui.energy import (
    SpanEnergy,
    energy_between,
    reading_spacing_s,
    slot_cache_for,
    to_csv,
)
from energytui.hub import Hub
from energytui.model import DailyEnergy, iso_z
from energytui.tariff import Cost, Tariff

router = APIRouter(tags=["history"])

SpanName = Literal["6h", "24h", "7d", "30d", "1y"]
Unit = Literal["slot", "hour", "day", "month"]
#: span → (length, the period of its JSON periods, the period of its CSV rows); the
#: history screen's bars and export use the same
SPANS: dict[str, tuple[timedelta, str, str]] = {
    "6h": (timedelta(hours=6), "hour", "slot"),
    "24h": (timedelta(hours=24), "hour", "hour"),
    "7d": (timedelta(days=7), "day", "hour"),
    "30d": (timedelta(days=30), "day", "day"),
    "1y": (timedelta(days=365), "month", "day"),
}
ERR = {"model": ErrorResponse}

SpanQuery = Annotated[SpanName, Query(description="the window: 6h, 24h, 7d, 30d or 1y")]
BackQuery = Annotated[
    int, Query(ge=0, le=1000, description="how many whole spans before now the window ends")
]
UnitQuery = Annotated[
    Unit | None,
    Query(description="sum by slot (15 min), hour, day or month; default by span"),
]


async def _span(request: Request, span: str, back: int, unit: str) -> tuple[SpanEnergy, str]:
    hub: Hub = request.app.state.hub
    config: Config = request.app.state.config
    length = SPANS[span][0]
    end = hub.clock.now() - back * length
    start = end - length
    memory = [s.to_record() for s in hub.state.history] if hub.store is None else []
    spacing = reading_spacing_s(getattr(hub.power_source, "interval_s", None), hub.clock)
    return await energy_between(
        hub.query_store if hub.store is not None else None,
        start,
        end,
        hub.zone,
        unit,
        Tariff.from_config(config.tariff),
        interval_s=spacing,
        memory=memory,
        cache=slot_cache_for(hub.store),
        now=hub.clock.now(),
    )


def _flows(e: DailyEnergy) -> dict[str, float]:
    d = e.to_dict()
    d.pop("method", None)
    return d


def _cost(c: Cost | None) -> CostOut | None:
    if c is None:
        return None
    return CostOut(
        currency=c.currency,
        cost=round(c.cost, 4),
        without_solar=round(c.without_solar, 4),
        savings=round(c.savings, 4),
        fixed=round(c.fixed, 4),
    )


@router.get("/energy", response_model=EnergyOut, responses={422: ERR})
async def energy(
    request: Request, span: SpanQuery = "24h", back: BackQuery = 0, unit: UnitQuery = None
) -> EnergyOut:
    """Energy by direction over the span, per period, with cost and savings when the
    config has a ``[tariff]``."""
    e, origin = await _span(request, span, back, unit or SPANS[span][1])
    return EnergyOut(
        span=span,
        start=iso_z(e.start),
        end=iso_z(e.end),
        unit=e.unit,  # type: ignore[arg-type]
        method=e.method,
        covered_s=e.covered_s,
        origin=origin,  # type: ignore[arg-type]
        total=EnergyFlowsOut(**_flows(e.total)),
        cost=_cost(e.cost),
        periods=[
            EnergyPeriodOut(
                start=p.start.isoformat(),
                end=p.end.isoformat(),
                method=p.energy.method,
                cost=_cost(p.cost),
                **_flows(p.energy),
            )
            for p in e.periods
        ],
    )


@router.get(
    "/history.csv",
    response_class=Response,
    responses={
        200: {"description": "CSV, one row per period", "content": {"text/csv": {}}},
        422: ERR,
    },
)
async def history_csv(
    request: Request, span: SpanQuery = "24h", back: BackQuery = 0, unit: UnitQuery = None
) -> Response:
    """The span's energy (and cost) as CSV, units in the column names (``solar_kwh``,
    ``cost_EUR``), local times with their offset; saved as
    ``energytui-<span>-<start>-<end>.csv``."""
    e, _ = await _span(request, span, back, unit or SPANS[span][2])
    zone = request.app.state.hub.zone
    name = f"energytui-{span}-{_stamp(e.start, zone)}-{_stamp(e.end, zone)}.csv"
    return Response(
        to_csv(e),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _stamp(ts: datetime, zone) -> str:
    return ts.astimezone(zone).strftime("%Y%m%d-%H%M")
