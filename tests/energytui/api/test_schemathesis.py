"""Property-based run over the OpenAPI spec, against the API served by uvicorn on a real
loopback socket: no input makes any route answer 5xx, and a refused write stores nothing.

Every operation (the seed's routes, ours, /metrics, both POSTs) is called with generated
input; the POSTs once with the token and once without. The hub is built as
``energytui serve`` builds it (a real store on disk, the simulated site) and runs with
its API on a background thread and loop; the store is read on that loop after each
call. The oversized, slow and nested bodies that a generator will not produce are in
``test_limits.py``.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
from datetime import UTC, datetime

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from energytui.api import create_api
from energytui.config import Config, load_config
from energytui.hub import Hub
from energytui.runtime import build_hub
from energytui.serve import ApiHandle, start_api_in_loop
from energytui.sources.simulated import SimulatedSource

TOKEN = "schema-token"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)
#: statuses that refuse a request before it reaches the hub: nothing may be kept for it
REFUSED_AT_THE_DOOR = {400, 401, 403, 404, 405, 408, 413, 422, 431}


class ServedHub:
    """A started hub with a store and its API on 127.0.0.1, on a background loop."""

    def __enter__(self) -> ServedHub:
        self.tmp = tempfile.TemporaryDirectory()
        config = load_config(
            environ={},
            overrides={
                "general": {"data_dir": self.tmp.name},
                "simulated": {"interval_s": 0.05},
                "api": {"port": 0, "token": TOKEN},
            },
        )
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.hub = build_hub(config)
        self.run(self.hub.start())
        self.api: ApiHandle = self.run(start_api_in_loop(self.hub, config))
        self.url = self.api.url
        return self

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(20)

    def kept(self) -> tuple[int, int]:
        """Accepted and refused meter readings in the store, read on the hub's loop."""

        async def count() -> tuple[int, int]:
            store = self.hub.store
            assert store is not None
            return tuple(  # type: ignore[return-value]
                len(store.query(s, EPOCH, FAR, resolution="raw"))
                for s in ("meter", "meter_rejected")
            )

        return self.run(count())

    def __exit__(self, *exc) -> None:
        store_error = self.hub.store_error
        self.run(self.api.stop())
        self.run(self.hub.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
        self.tmp.cleanup()
        assert store_error is None, f"the store failed on what the API let in: {store_error}"


# the schema is the app's own document; the calls go to the served app
_schema_app = create_api(Hub([SimulatedSource()]), Config.model_validate({"api": {"token": TOKEN}}))
schema = schemathesis.openapi.from_dict(_schema_app.openapi())
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@pytest.fixture(scope="module")
def served():
    with ServedHub() as s:
        yield s


def not_a_server_error(response, case) -> None:
    assert response.status_code < 500, (
        f"{case.method} {case.path} answered {response.status_code}: {response.text[:200]}"
    )


@schema.parametrize()
@EXAMPLES
def test_no_input_makes_a_5xx(served, case):
    headers = {"Authorization": f"Bearer {TOKEN}"} if case.method == "POST" else None
    before = served.kept() if case.method == "POST" else None
    response = case.call(base_url=served.url, headers=headers, timeout=15)
    not_a_server_error(response, case)
    if before is not None and response.status_code in REFUSED_AT_THE_DOOR:
        # a reading refused by the plausibility checks is kept in meter_rejected with its
        # reason (a 400/422 of that kind); one that never reached the hub leaves no trace
        after = served.kept()
        assert after[0] == before[0], (
            f"{case.path} stored a reading it answered {response.status_code}"
        )
        if response.status_code not in (400, 422):
            assert after == before
    # every other built-in check runs (status codes and bodies as documented, …); a
    # schema-valid body may still be refused on purpose, e.g. a date that overflows UTC
    case.validate_response(response, excluded_checks=[positive_data_acceptance])


@schema.include(method="POST").parametrize()
@EXAMPLES
def test_a_write_without_the_token_is_refused_and_keeps_nothing(served, case):
    before = served.kept()
    response = case.call(base_url=served.url, timeout=15)
    not_a_server_error(response, case)
    if case.method == "POST":  # (the generator also tries other methods: 405)
        assert response.status_code == 401, (case.path, response.status_code, response.text)
        assert response.headers.get("www-authenticate") in ("Bearer", ["Bearer"])
        assert set(response.json()) == {"detail"}
    assert served.kept() == before
