"""A small async client for a meter_agent's HTTP API, used by the meter and
calibration screens. Every failure becomes :class:`AgentError` with one
sentence a user can act on ("agent refused the token", "agent is down").
"""

from __future__ import annotations

from typing import Any

import httpx

from energytui.sources.http_words import http_failure


class AgentError(Exception):
    """The agent could not be reached or refused; ``str()`` is one sentence."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AgentClient:
    def __init__(self, base_url: str, *, token: str = "", timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s, headers=headers)
        self.timeout_s = timeout_s

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            resp = await self._client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise AgentError(
                f"meter agent at {self.base_url} did not answer within {self.timeout_s:g} s."
            ) from None
        except httpx.HTTPError as exc:
            raise AgentError(
                f"meter agent at {self.base_url} cannot be reached ({http_failure(exc)[0]}); "
                "is it running?"
            ) from None
        if resp.status_code == 401:
            raise AgentError(
                "meter agent refused the token; check meter.token in the config.", status=401
            )
        if resp.status_code == 403:
            raise AgentError(f"meter agent refused the change: {_detail(resp)}", status=403)
        if resp.status_code >= 400:
            raise AgentError(f"meter agent said: {_detail(resp)}", status=resp.status_code)
        return resp

    async def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        resp = await self._request(method, path, **kwargs)
        try:
            data = resp.json()
        except ValueError:
            raise AgentError(
                f"meter agent at {self.base_url} sent a reply that is not JSON."
            ) from None
        if not isinstance(data, dict):
            raise AgentError(f"meter agent at {self.base_url} sent an unexpected reply.")
        return data

    async def health(self) -> dict[str, Any]:
        return await self.json("GET", "/health")

    async def readings(
        self, *, include_rejected: bool = False, limit: int = 50
    ) -> list[dict[str, Any]]:
        data = await self.json(
            "GET",
            "/readings",
            params={"include_rejected": str(include_rejected).lower(), "limit": limit},
        )
        return list(data.get("readings", []))

    async def calibration(self) -> dict[str, Any]:
        return await self.json("GET", "/calibration")

    async def save_calibration(self, calibration: dict[str, Any]) -> dict[str, Any]:
        return await self.json("PUT", "/calibration", json=calibration)

    async def ocr(self, calibration: dict[str, Any] | None = None) -> dict[str, Any]:
        """Live OCR of the current frame, for an unsaved window when the agent supports it."""
        if calibration is not None:
            try:
                return await self.json("POST", "/ocr", json=calibration)
            except AgentError as exc:
                if exc.status not in (404, 405):
                    raise
        return await self.json("GET", "/ocr")

    async def set_reading(self, digits: str) -> dict[str, Any]:
        """Set the meter's true reading by hand (the agent's recovery route, token needed)."""
        return await self.json("PUT", "/reading", json={"digits": digits})

    async def frame(
        self, stage: str = "raw", width: int | None = None, *, outline: bool = True
    ) -> bytes:
        """The camera picture as JPEG; ``outline=False`` asks for the raw stage without the
        saved window drawn on it (the calibration screen draws the window being edited;
        an older agent that does not know the parameter draws it anyway)."""
        params: dict[str, Any] = {"stage": stage}
        if width:
            params["width"] = width
        if not outline:
            params["outline"] = "false"
        resp = await self._request("GET", "/frame.jpg", params=params)
        return resp.content

    async def close(self) -> None:
        await self._client.aclose()


def _detail(resp: httpx.Response) -> str:
    try:
        detail = resp.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, str) and detail:
        return detail if detail.endswith(".") else detail + "."
    return f"HTTP {resp.status_code}."
