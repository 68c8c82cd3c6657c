"""Property-based run over the agent's OpenAPI spec, against the app in a real uvicorn on
127.0.0.1: no input makes it answer 5xx, every refusal is one JSON sentence, and a
refused request stores nothing (no history line, no config change). Each write route is
also called without the token: 401, nothing stored. The oversized, slow and deeply
nested bodies are in test_http_limits.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from service_support import TOKEN, Agent, start_agent, write_config


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    a = start_agent(write_config(tmp_path_factory.mktemp("fuzz")))
    a.service.capture_once()  # a reading to serve: /meter is 503 only before the first
    yield a
    a.stop()


@pytest.fixture(scope="module")
def agent_schema(agent: Agent) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{agent.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("agent_schema")

WRITES = {("PUT", "/calibration"), ("POST", "/ocr"), ("POST", "/capture"), ("PUT", "/reading")}


def stored(agent: Agent) -> tuple[int, bytes]:
    """What a request could change: the history's length and the config file."""
    return len(agent.service.history), Path(agent.config_path).read_bytes()


def assert_refusal(response: object, case: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, f"{case.method} {case.path} answered {status}: {response.text}"  # type: ignore[attr-defined]
    if status >= 400:
        detail = response.json()["detail"]  # type: ignore[attr-defined]
        assert isinstance(detail, str) and detail.endswith((".", "?")), detail


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_input_makes_a_5xx_and_a_refusal_stores_nothing(case, agent: Agent) -> None:  # type: ignore[no-untyped-def]
    write = (case.method.upper(), case.path) in WRITES
    if write:
        before = stored(agent)
        anonymous = case.call(headers={"Authorization": "Bearer not-the-token"}, timeout=30)
        assert anonymous.status_code == 401, anonymous.text
        assert stored(agent) == before
    before = stored(agent)
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert_refusal(response, case)
    if response.status_code >= 400:
        assert stored(agent) == before, f"{case.method} {case.path} was refused but stored"
