"""The hub's HTTP API: the original Flask routes and Prometheus metrics, served by uvicorn.

``create_api`` is imported lazily so that :mod:`energytui.api.schemas` (used by
the remote viewer) does not pull in FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from energytui.api.app import create_api

__all__ = ["create_api"]


def __getattr__(name: str) -> Any:
    if name == "create_api":
        from energytui.api.app import create_api

        return create_api
    raise AttributeError(name)
