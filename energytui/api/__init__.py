"""The hub's HTTP API: the original Flask routes, Prometheus metrics, served by uvicorn."""

from energytui.api.app import create_api

__all__ = ["create_api"]
