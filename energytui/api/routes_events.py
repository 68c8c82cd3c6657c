"""``/api/v1/events``: the event log (outages, the battery at reserve, failing sources…).

Read-only: the events come from the hub (its memory, or the store's event log for
more than the recent ones); acknowledging them is the TUI's ``a``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from energytui.api.schemas import ErrorResponse
from energytui.events import Event
from energytui.hub import Hub
from energytui.model import iso_z

router = APIRouter(prefix="/events", tags=["events"])


class EventOut(BaseModel):
    """One event."""

    id: int = Field(description="grows with time; unique in one log")
    timestamp: str = Field(description="when it happened (the hub's clock), ISO 8601 UTC")
    kind: str = Field(description="grid_down, grid_up, battery_reserve, source_failed, …")
    severity: Literal["info", "warning", "alarm"]
    text: str = Field(description="one sentence")
    subject: str = Field(description="the source or sink it is about; empty when none")
    seen: bool = Field(description="someone has seen it (acknowledged in the TUI)")


class EventsOut(BaseModel):
    count: int
    unseen: int = Field(description="events not yet seen among the recent ones")
    seen_upto: int = Field(description="every event with an id up to this one was seen")
    events: list[EventOut] = Field(description="newest first")


def _out(e: Event, seen_upto: int) -> EventOut:
    return EventOut(
        id=e.id,
        timestamp=iso_z(e.at),
        kind=e.kind.value,
        severity=e.severity.word,  # type: ignore[arg-type]
        text=e.text,
        subject=e.subject,
        seen=e.id <= seen_upto,
    )


@router.get("", response_model=EventsOut, responses={422: {"model": ErrorResponse}})
async def events(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
    unseen: Annotated[bool, Query(description="only the events not yet seen")] = False,
) -> EventsOut:
    """The newest events first, each with its time, kind, severity and one sentence."""
    hub: Hub = request.app.state.hub
    book = hub.events.view()
    found = await hub.recent_events(limit)
    if unseen:
        found = [e for e in found if e.id > book.seen_upto]
    return EventsOut(
        count=len(found),
        unseen=len(book.unseen),
        seen_upto=book.seen_upto,
        events=[_out(e, book.seen_upto) for e in found],
    )
