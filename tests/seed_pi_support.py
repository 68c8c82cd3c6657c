"""The seed's Pi: its config.json, read from the seed's document, and a place to upload to.

The seed's document (``shared/seed/000_*.txt``) holds the Pi's config.json as a fenced
```json block under its path heading; the tests take it from there rather than from a
copy, so they run the file users actually have.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.seed.seed_files import seed_files
from tests.support import REPO

SHARED = REPO.parent / "shared"


def seed_pi_config() -> dict[str, Any]:
    """The Pi's config.json exactly as the seed wrote it."""
    files = seed_files(SHARED)
    assert "config.json" in files, "the seed's document has no config.json block"
    data = json.loads(files["config.json"])
    assert isinstance(data, dict)
    return data


def seed_config_in(tmp_path: Path, **changes: dict[str, Any]) -> dict[str, Any]:
    """The seed's config.json with its paths moved into ``tmp_path`` and ``changes`` merged
    per section (our keys, e.g. ``camera.source`` "synthetic" instead of a real camera)."""
    data = seed_pi_config()
    data["storage"]["image_path"] = str(tmp_path / "images")
    data["logging"]["log_file"] = str(tmp_path / "log" / "meter.log")
    for section, values in changes.items():
        data.setdefault(section, {}).update(values)
    return data


def receiver_app() -> FastAPI:
    """A small hub: POST /meter_reading keeps each body and answers as the seed's hub did."""
    app = FastAPI()
    app.state.bodies = []

    @app.post("/meter_reading")
    async def meter_reading(request: Request) -> JSONResponse:
        body = await request.json()
        app.state.bodies.append(body)
        return JSONResponse({"status": "accepted", "reading_kwh": body.get("reading_kwh")})

    return app
