"""The seed's Pi writing readings into energytui: POST /meter_reading as the seed had it.

A hub built as ``energytui serve`` builds it (the config's plausibility limits, a real
store on disk) serves its API on two real loopback sockets, 127.0.0.1 and ::1, with
only 127.0.0.0/8 trusted: the IPv4 client stands for the seed's Pi on the LAN (no
token), the IPv6 one for any other address (token needed).
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from energytui.api.auth import is_trusted
from energytui.config import Config, ConfigError, load_config
from energytui.hub import Hub
from energytui.runtime import build_hub
from energytui.serve import start_api_in_loop
from energytui.store import Store
from meter_agent.rules import Limits
from meter_agent.schema import MANUAL_METHOD, MeterReading
from tests.hub_support import wait_for

TOKEN = "seed-pi-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

#: the body of the seed's app.py docstring for POST /meter_reading, as written there
SEED_BODY = {
    "reading_kwh": 1234.56,
    "timestamp": "2025-11-07T14:23:45Z",
    "confidence": 0.98,
    "method": "camera_ocr",
    "digits": "1234567",
}
#: the seed's answers, key by key (ours may add keys beside them)
SEED_ACCEPTED = {"status": "accepted", "message": "Reading stored"}
SEED_MISSING = {"status": "rejected", "reason": "Missing required field: reading_kwh"}

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
FAR = datetime(2100, 1, 1, tzinfo=UTC)


@dataclass
class Site:
    hub: Hub
    v4: str  # trusted: 127.0.0.0/8
    v6: str  # not trusted

    def stored(self, series: str = "meter") -> list[dict]:
        return self.hub.store.query(series, EPOCH, FAR, resolution="raw")


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.fixture
async def site(tmp_path) -> AsyncIterator[Site]:
    if not _ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback")
    config = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(tmp_path)},
            "api": {"port": 0, "token": TOKEN, "trusted_networks": ["127.0.0.0/8"]},
        },
    )
    hub = build_hub(config)
    await hub.start()
    v4 = await start_api_in_loop(hub, config)
    v6 = await start_api_in_loop(hub, config.model_copy(update={"api": _on(config, "::1")}))
    try:
        yield Site(hub, f"http://127.0.0.1:{v4.port}", f"http://[::1]:{v6.port}")
    finally:
        await v6.stop()
        await v4.stop()
        await hub.stop()


def _on(config: Config, host: str):
    api = config.api.model_copy()
    api.host = host
    return api


def now_z(minutes: float = 0.0) -> str:
    ts = datetime.now(UTC) + timedelta(minutes=minutes)
    return ts.isoformat(timespec="seconds").replace("+00:00", "Z")


async def post(base: str, body: object, **kw) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        if isinstance(body, bytes):
            return await c.post("/meter_reading", content=body, **kw)
        return await c.post("/meter_reading", json=body, **kw)


# -- the seed's body --------------------------------------------------------------------


async def test_the_seeds_own_body_is_accepted_and_stored(site):
    r = await post(site.v4, SEED_BODY)
    assert r.status_code == 200
    body = r.json()
    assert {k: body[k] for k in SEED_ACCEPTED} == SEED_ACCEPTED
    assert body["result"] == "stored" and body["timestamp"] == "2025-11-07T14:23:45.000Z"
    [row] = site.stored()
    assert (row["reading_kwh"], row["confidence"], row["method"], row["digits"]) == (
        1234.56,
        0.98,
        "camera_ocr",
        "1234567",
    )
    assert site.hub.latest_meter.reading_kwh == 1234.56


async def test_a_reading_without_timestamp_is_dated_when_it_arrives(site):
    before = datetime.now(UTC)
    r = await post(site.v4, {"reading_kwh": 2000.5})
    after = datetime.now(UTC)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    got = site.hub.latest_meter
    assert before - timedelta(seconds=1) <= got.timestamp <= after + timedelta(seconds=1)
    assert got.confidence == 1.0 and got.method == "unknown"  # no OCR guess was stated
    assert [row["reading_kwh"] for row in site.stored()] == [2000.5]


async def test_keys_the_seed_did_not_define_are_ignored(site):
    extra = {"reading_kwh": 3000.0, "timestamp": now_z(), "device_id": 0, "image": "x.jpg"}
    r = await post(site.v4, extra | {"raw": {"ocr": [1, 2]}})
    assert r.status_code == 200 and r.json()["result"] == "stored"
    assert site.hub.latest_meter.reading_kwh == 3000.0


async def test_a_naive_timestamp_is_utc_as_the_seed_wrote_it(site):
    naive = datetime.now(UTC).replace(tzinfo=None, microsecond=0).isoformat()
    r = await post(site.v4, {"reading_kwh": 10.0, "timestamp": naive})
    assert r.status_code == 200
    assert site.hub.latest_meter.timestamp.isoformat() == naive + "+00:00"


@pytest.mark.parametrize(
    "body", [{}, {"confidence": 0.99}, [], b"", b"null", {"readingkwh": 12.0}], ids=repr
)
async def test_no_reading_kwh_is_the_seeds_400(site, body):
    r = await post(site.v4, body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    got = r.json()
    assert {k: got[k] for k in SEED_MISSING} == SEED_MISSING and got["code"] == "invalid"
    assert site.stored() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"reading_kwh": 1', None),
        (b"\xff\xfe\x00", None),
        ({"reading_kwh": "1234.5"}, "reading_kwh"),
        ({"reading_kwh": True}, "reading_kwh"),
        ({"reading_kwh": -3}, "reading_kwh"),
        ({"reading_kwh": 5.0, "confidence": 2}, "confidence"),
        ({"reading_kwh": 5.0, "timestamp": "yesterday"}, "timestamp"),
        ({"reading_kwh": 5.0, "timestamp": 1732521600}, "timestamp"),
        ({"reading_kwh": 5.0, "digits": "12.5"}, "digits"),
    ],
    ids=repr,
)
async def test_a_body_that_is_not_a_reading_is_400_rejected_with_one_sentence(site, body, field):
    r = await post(site.v4, body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    got = r.json()
    assert set(got) == {"status", "reason", "code"} and got["status"] == "rejected"
    reason = got["reason"]
    assert reason.endswith(".") and "\n" not in reason
    assert reason.startswith(field) if field else "JSON" in reason
    assert site.stored() == []


# -- plausibility: the agent's checks, made again by the hub ----------------------------


async def test_seed_bug_a_low_confidence_reading_is_refused_not_stored(site):
    """The seed logged "Low confidence reading" and stored it anyway (200 accepted)."""
    r = await post(site.v4, {"reading_kwh": 1500.0, "timestamp": now_z(), "confidence": 0.5})
    assert r.status_code == 400, "the seed accepted a 0.5-confidence reading"
    got = r.json()
    assert got["status"] == "rejected" and got["code"] == "low_confidence"
    assert "0.50 is below the threshold 0.80" in got["reason"]
    assert site.stored() == [] and site.hub.latest_meter is None
    [kept] = site.stored("meter_rejected")
    assert (kept["reading_kwh"], kept["code"]) == (1500.0, "low_confidence")
    assert kept["reason"] == site.hub.state.meter_rejected.refused.text


async def test_a_lower_reading_is_refused_unless_set_by_hand(site):
    assert (
        await post(site.v4, {"reading_kwh": 5000.0, "timestamp": now_z(-10)})
    ).status_code == 200
    lower = await post(site.v4, {"reading_kwh": 4990.0, "timestamp": now_z(-5)})
    assert lower.status_code == 400
    assert lower.json()["code"] == "not_monotonic"
    assert "lower than the last accepted 5000 kWh" in lower.json()["reason"]
    by_hand = await post(
        site.v4, {"reading_kwh": 12.0, "timestamp": now_z(), "method": MANUAL_METHOD}
    )
    assert by_hand.status_code == 200 and by_hand.json()["result"] == "stored"
    assert [row["reading_kwh"] for row in site.stored()] == [5000.0, 12.0]
    assert [row["reading_kwh"] for row in site.stored("meter_rejected")] == [4990.0]


async def test_a_jump_from_1314_to_473188_kwh_is_refused(site):
    assert (
        await post(site.v4, {"reading_kwh": 1314.0, "timestamp": now_z(-15)})
    ).status_code == 200
    jump_body = {"reading_kwh": 473188.0, "timestamp": now_z()}
    jump = await post(site.v4, jump_body)
    again = await post(site.v4, jump_body)  # sent again: refused again, kept once
    assert jump.status_code == again.status_code == 400
    got = jump.json()
    assert got["status"] == "rejected" and got["code"] == "increase_too_large"
    assert "471874 kWh above the last accepted 1314 kWh" in got["reason"]
    # a day later the meter may have moved up to 100 kWh, not more
    assert (await post(site.v4, {"reading_kwh": 1410.0, "timestamp": now_z(24 * 60)})).json()[
        "result"
    ] == "stored"
    assert [row["reading_kwh"] for row in site.stored()] == [1314.0, 1410.0]
    [kept] = site.stored("meter_rejected")
    assert kept["reading_kwh"] == 473188.0 and kept["code"] == "increase_too_large"


async def test_the_register_ticking_over_by_one_unit_a_minute_later_is_stored(site):
    """Found trying it: a meter of whole kWh read every minute went 314161 → 314162 and
    the hub refused it (0.07 kWh allowed in a minute at 100 kWh a day), as it would
    every tick-over until a quarter of an hour had passed; the agent allows one unit of
    the last digit, and so does the hub now."""
    for minutes, kwh in ((-1, 314161.0), (0, 314162.0)):
        r = await post(site.v4, {"reading_kwh": kwh, "timestamp": now_z(minutes)})
        assert r.status_code == 200, r.json()
    # two units in a minute is no tick-over
    two = await post(site.v4, {"reading_kwh": 314164.0, "timestamp": now_z(1)})
    assert two.status_code == 400 and two.json()["code"] == "increase_too_large"
    assert "more than the 1.07 kWh allowed" in two.json()["reason"]
    # a register with a tenth: its unit is 0.1 kWh, and a whole kWh in a minute is refused
    tenths = await post(site.v4, {"reading_kwh": 314162.3, "timestamp": now_z(60)})
    assert tenths.status_code == 200, tenths.json()
    whole = await post(site.v4, {"reading_kwh": 314163.3, "timestamp": now_z(61)})
    assert whole.status_code == 400 and whole.json()["code"] == "increase_too_large"
    # the tenths are said, not rounded away by the sentence
    assert "314163.3 kWh is 1 kWh above the last accepted 314162.3 kWh" in whole.json()["reason"]
    assert [row["reading_kwh"] for row in site.stored()] == [314161.0, 314162.0, 314162.3]


async def test_our_strict_route_refuses_the_same_readings_in_its_own_shape(site):
    async with httpx.AsyncClient(base_url=site.v4) as c:
        unsure = await c.post(
            "/api/v1/meter_reading",
            json={"reading_kwh": 7.0, "timestamp": now_z(), "confidence": 0.6, "id": "u1"},
        )
        sure = await c.post(
            "/api/v1/meter_reading",
            json={"reading_kwh": 7.0, "timestamp": now_z(), "confidence": 0.9, "id": "s1"},
        )
    assert unsure.status_code == 422
    assert unsure.json()["detail"].endswith("below the threshold 0.80, so it was not stored.")
    assert sure.status_code == 201 and sure.json()["status"] == "stored"
    assert [row["id"] for row in site.stored()] == ["s1"]


# -- who may write ----------------------------------------------------------------------


async def test_a_trusted_network_writes_without_a_token_and_others_need_it(site):
    untrusted = await post(site.v6, {"reading_kwh": 100.0, "timestamp": now_z(-60)})
    wrong = await post(site.v6, {"reading_kwh": 100.0}, headers={"Authorization": "Bearer guess"})
    assert untrusted.status_code == wrong.status_code == 401
    assert site.stored() == []
    trusted = await post(site.v4, {"reading_kwh": 100.0, "timestamp": now_z(-60)})
    with_token = await post(site.v6, {"reading_kwh": 100.5, "timestamp": now_z()}, headers=AUTH)
    assert trusted.status_code == with_token.status_code == 200
    assert [row["reading_kwh"] for row in site.stored()] == [100.0, 100.5]


async def test_without_a_token_configured_only_trusted_networks_write(tmp_path):
    config = load_config(
        environ={},
        overrides={"api": {"port": 0, "trusted_networks": ["::1/128"]}},
    )
    hub = Hub([])
    v4 = await start_api_in_loop(hub, config)
    v6 = await start_api_in_loop(hub, config.model_copy(update={"api": _on(config, "::1")}))
    try:
        refused = await post(f"http://127.0.0.1:{v4.port}", {"reading_kwh": 1.0}, headers=AUTH)
        taken = await post(f"http://[::1]:{v6.port}", {"reading_kwh": 1.0})
    finally:
        await v6.stop()
        await v4.stop()
    assert refused.status_code == 403 and "api.token" in refused.json()["detail"]
    assert taken.status_code == 200 and hub.latest_meter.reading_kwh == 1.0


async def test_a_proxy_header_naming_a_trusted_address_is_not_believed(site):
    """Only the TCP peer's address counts: a header is whatever the client says."""
    lie = {"X-Forwarded-For": "127.0.0.1", "X-Real-IP": "127.0.0.1", "Forwarded": "for=127.0.0.1"}
    r = await post(site.v6, {"reading_kwh": 100.0}, headers=lie)
    assert r.status_code == 401 and site.stored() == []


def test_a_trusted_network_with_host_bits_is_the_whole_network():
    config = load_config(environ={}, overrides={"api": {"trusted_networks": [" 192.168.1.7/24"]}})
    assert config.api.trusted_networks == ["192.168.1.7/24"]
    assert config.api.trusted == (ipaddress.ip_network("192.168.1.0/24"),)
    assert is_trusted("192.168.1.200", config.api.trusted)
    assert not is_trusted("192.168.2.7", config.api.trusted)


def test_a_trusted_network_that_is_not_one_is_named_at_load():
    with pytest.raises(ConfigError) as err:
        load_config(
            environ={}, overrides={"api": {"trusted_networks": ["192.168.1.0/24", "192.168.1/33"]}}
        )
    text = str(err.value)
    assert "api.trusted_networks" in text and "'192.168.1/33' is not a network" in text
    assert text.count(".\n") == 0 and text.endswith(".")


# -- the body's size --------------------------------------------------------------------


async def _chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_an_oversized_body_is_refused_before_it_is_parsed(site):
    # not JSON at all: parsed, it would be a 400; refused for its size, it is a 413
    huge = b"{" + b"x" * 20_000
    declared = await post(site.v4, huge)
    async with httpx.AsyncClient(base_url=site.v4) as c:  # no Content-Length: chunked
        chunked = await c.post(
            "/meter_reading", content=_chunks(huge), headers={"Content-Type": "application/json"}
        )
    for r in (declared, chunked):
        assert r.status_code == 413
        assert r.json() == {
            "status": "rejected",
            "reason": "The request body is larger than 16384 bytes; a reading needs far less.",
            "code": "too_large",
        }
    # a valid reading padded past the cap is refused the same way, and nothing is stored
    padded = json.dumps({"reading_kwh": 9.0, "pad": "x" * 20_000}).encode()
    assert (await post(site.v4, padded)).status_code == 413
    # an untrusted writer without the token learns nothing about the body's fate
    assert (await post(site.v6, huge)).status_code == 401
    assert site.stored() == [] and site.stored("meter_rejected") == []


async def test_the_seeds_body_sent_again_is_a_duplicate_not_a_second_reading(site):
    first = await post(site.v4, SEED_BODY)
    again = await post(site.v4, SEED_BODY)
    assert first.json()["result"] == "stored" and again.status_code == 200
    assert {k: again.json()[k] for k in SEED_ACCEPTED} == SEED_ACCEPTED
    assert again.json()["result"] == "duplicate" and len(site.stored()) == 1


async def test_our_strict_route_refuses_an_oversized_body_unread(site):
    async with httpx.AsyncClient(base_url=site.v4) as c:
        r = await c.post("/api/v1/meter_reading", content=b"[" * 20_000)
    assert r.status_code == 413 and r.json()["detail"].startswith("The request body is larger")


def test_an_ipv4_client_on_a_dual_stack_socket_counts_as_its_ipv4_address():
    lan = [ipaddress.ip_network("192.168.1.0/24")]
    assert is_trusted("::ffff:192.168.1.50", lan) and is_trusted("192.168.1.50", lan)
    assert not is_trusted("::ffff:192.168.2.50", lan) and not is_trusted("testclient", lan)
    assert not is_trusted("::1", [ipaddress.ip_network("127.0.0.0/8")])


class PolledMeter:
    """A meter source that answers every poll with the same reading, as the agent's
    ``GET /meter`` does between two reads."""

    kind = "meter"
    name = "meter"
    interval_s = 0.02
    timeout_s = 1.0

    def __init__(self, reading: MeterReading) -> None:
        self.reading = reading
        self.polls = 0

    async def poll(self) -> MeterReading:
        self.polls += 1
        return self.reading

    async def close(self) -> None:
        return None


async def test_a_polled_reading_passes_the_same_checks_and_is_kept_once(tmp_path):
    unsure = MeterReading(
        reading_kwh=42.0, timestamp=datetime.now(UTC), confidence=0.6, method="cnn", id="p1"
    )
    source = PolledMeter(unsure)
    store = Store.open(tmp_path / "store", _fsync=False)
    hub = Hub([source], store=store, meter_limits=Limits())
    await hub.start()
    try:
        await wait_for(lambda: source.polls >= 5)
    finally:
        await hub.stop()
    store = Store.open(tmp_path / "store", _fsync=False)
    try:
        assert store.query("meter", EPOCH, FAR) == []
        [kept] = store.query("meter_rejected", EPOCH, FAR, resolution="raw")
    finally:
        store.close()
    assert (kept["id"], kept["code"]) == ("p1", "low_confidence")
    assert hub.latest_meter is None and hub.state.meter_rejected.reading == unsure
