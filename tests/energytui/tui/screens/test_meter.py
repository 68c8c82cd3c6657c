"""The meter screen fed by a real meter_agent on loopback (synthetic meter)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from devkit.demo import demo_config
from devkit.demo_agent import DemoAgent
from energytui.hub import Hub
from energytui.meter_stats import consumption, reconcile
from energytui.sources.meter import MeterSource
from energytui.sources.simulated import SimulatedSource
from energytui.tui.app import EnergyApp
from energytui.tui.screens.calibration import CalibrationScreen
from energytui.tui.screens.meter import MeterScreen, decimals_of, meter_kwh, needed_decimals


@pytest.fixture
def agent(tmp_path):
    with DemoAgent(tmp_path) as a:
        yield a


async def test_meter_screen_shows_accepted_and_rejected_readings(agent):
    first = await asyncio.to_thread(agent.service.capture_and_record)
    assert first[1].accepted
    agent.source.advance(-30)  # a reading lower than the last must be refused, with its reason
    second = await asyncio.to_thread(agent.service.capture_and_record)
    assert not second[1].accepted
    cfg = demo_config()
    cfg.meter.endpoint = agent.url
    hub = Hub(
        [SimulatedSource(interval_s=999), MeterSource(agent.url, interval_s=0.2, timeout_s=5)]
    )
    app = EnergyApp(cfg, hub)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if hub.latest_meter is not None:
                break
        assert hub.latest_meter.reading_kwh == first[0].reading_kwh
        await pilot.press("m")
        screen = app.screen
        assert isinstance(screen, MeterScreen)
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.rejected:
                break
        await pilot.pause()
        shot = app.export_screenshot()
        assert f"{first[0].reading_kwh:,.1f}" in shot.replace("\u00a0", " ")
        assert "not_monotonic" in shot
        # the accepted reading taught the agent its digits, and the screen says which
        learnt = "".join(sorted(set(first[0].digits)))
        assert f"digits learnt by the agent: {learnt}" in shot.replace("&#160;", " ")
        assert len(screen.rejected) == 1
        await pilot.press("c")  # the footer's "c Calibrate" opens the calibration screen
        await pilot.pause()
        assert isinstance(app.screen, CalibrationScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, MeterScreen)


async def test_set_reading_by_hand_from_the_meter_screen(tmp_path):
    """A replaced meter shows less than the last value: every capture is refused until
    the user types the true reading (s, digits, Enter). Wrong digits or a wrong token
    change nothing and say why."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with DemoAgent(tmp_path / "a") as agent:
        first = await asyncio.to_thread(agent.service.capture_and_record)
        assert first[1].accepted
        agent.source.advance(-30)
        stuck = await asyncio.to_thread(agent.service.capture_and_record)
        assert not stuck[1].accepted
        shown = stuck[0].per_digit and "".join(c or "?" for c, _ in stuck[0].per_digit)
        assert shown and shown.isdigit()
        cfg = demo_config()
        cfg.meter.endpoint = agent.url
        cfg.meter.token = agent.token
        app = EnergyApp(cfg, Hub([SimulatedSource(interval_s=999)]))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("m")
            screen = app.screen
            assert isinstance(screen, MeterScreen)
            await pilot.press("s")
            await pilot.pause()
            await pilot.press(*"123", "enter")  # too few digits: the agent says so
            for _ in range(100):
                await pilot.pause(0.05)
                if screen.set_error:
                    break
            assert "exactly 6 digits" in screen.set_error
            assert agent.service.reader.last_accepted.digits == first[0].digits

            await pilot.press("s")
            await pilot.pause()
            await pilot.press(*shown, "enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if agent.service.reader.last_accepted.digits == shown:
                    break
            assert agent.service.reader.last_accepted.method == "manual"
            # the agent has taken it; the screen learns so when the answer arrives
            await screen.workers.wait_for_complete()
            assert screen.set_error is None
            after = await asyncio.to_thread(agent.service.capture_and_record)
            assert after[1].accepted and after[1].digits == shown

            await pilot.press("s")
            await pilot.pause()
            await pilot.press("escape")  # cancelled: nothing sent
            await pilot.pause()
            assert isinstance(app.screen, MeterScreen)
    with DemoAgent(tmp_path / "b") as agent:
        cfg = demo_config()
        cfg.meter.endpoint = agent.url
        cfg.meter.token = "not-the-token"
        app = EnergyApp(cfg, Hub([SimulatedSource(interval_s=999)]))
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("m", "s")
            await pilot.pause()
            await pilot.press(*"123456", "enter")
            for _ in range(100):
                await pilot.pause(0.05)
                if app.screen.set_error:
                    break
            assert "refused the token" in app.screen.set_error
            assert len(agent.service.history) == 0


async def test_meter_screen_says_when_the_agent_is_down():
    cfg = demo_config()
    cfg.meter.endpoint = "http://127.0.0.1:9"
    hub = Hub([SimulatedSource(interval_s=999)])
    app = EnergyApp(cfg, hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("m")
        for _ in range(100):
            await pilot.pause(0.05)
            if app.screen.agent_error:
                break
        assert "cannot be reached" in app.screen.agent_error


def test_consumption_is_anchored_before_the_period():
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    readings = [
        (t0 - timedelta(minutes=2), 100.0),
        (t0 + timedelta(hours=5), 103.5),
        (t0 + timedelta(hours=9), 104.0),
    ]
    c = consumption(readings, t0)
    assert c.kwh == pytest.approx(4.0) and c.readings == 2
    assert consumption(readings, t0 + timedelta(days=1)).kwh is None
    assert "+0.50 kWh" in reconcile(4.0, 3.5)
    assert reconcile(None, 3.5) == "not enough data to compare yet"


async def test_meter_screen_says_why_a_lower_agent_reading_is_refused(agent):
    """The agent started over (or the meter was replaced) and reads less than the hub's
    last reading: the hub refuses it, and the screen says so and what to do, instead
    of showing an old reading that silently stops moving."""
    from meter_agent.schema import MeterReading

    first, _ = await asyncio.to_thread(agent.service.capture_and_record)
    hub = Hub(
        [SimulatedSource(interval_s=999), MeterSource(agent.url, interval_s=0.2, timeout_s=5)]
    )
    higher = first.reading_kwh + 1000.0
    before = MeterReading(
        reading_kwh=higher, timestamp=datetime.now(UTC) - timedelta(hours=1), confidence=0.99
    )
    assert await hub.ingest_meter(before) == "stored"
    cfg = demo_config()
    cfg.meter.endpoint = agent.url
    app = EnergyApp(cfg, hub)
    async with app.run_test(size=(140, 36)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if hub.state.meter_refused is not None:
                break
        assert hub.state.meter_refused.reading_kwh == first.reading_kwh
        assert hub.latest_meter.reading_kwh == higher
        await pilot.press("m")
        await pilot.pause()
        shown = str(app.screen.query_one("#meter-latest").render())
        assert f"The agent now reads {first.reading_kwh:,.1f} kWh" in shown  # its decimals
        assert "set the reading (s)" in shown
    # a reading set by hand is taken although lower, and the notice goes
    manual = MeterReading(
        reading_kwh=first.reading_kwh, timestamp=datetime.now(UTC), confidence=1.0, method="manual"
    )
    assert await hub.ingest_meter(manual) == "stored"
    assert hub.state.meter_refused is None


async def test_a_reading_the_hub_refused_is_in_health_and_on_the_meter_screen(tmp_path):
    """The seed's Pi posts whatever it reads; the hub's checks refuse a 0.5-confidence
    reading, and /api/v1/health and the meter screen say which reading and why."""
    import httpx

    from energytui.config import load_config
    from energytui.runtime import build_hub

    token = "t0ken-for-tests"
    cfg = load_config(
        environ={},
        overrides={
            "general": {"data_dir": str(tmp_path / "data"), "timezone": "UTC"},
            "simulated": {"interval_s": 0.5},
            "api": {"port": 0, "token": token},
        },
    )
    hub = build_hub(cfg)
    app = EnergyApp(cfg, hub)
    auth = {"Authorization": f"Bearer {token}"}
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(200):
            if app.runtime.api is not None:
                break
            await pilot.pause(0.05)
        assert app.runtime.api is not None
        url = app.runtime.api.url
        await pilot.press("m")
        screen = app.screen
        assert isinstance(screen, MeterScreen)
        line = screen.query_one("#meter-hub-rejected")
        await pilot.pause()
        assert not line.display  # nothing refused yet: no line at all
        async with httpx.AsyncClient(base_url=url, headers=auth) as client:
            assert (await client.get("/api/v1/health")).json()["meter_rejected"] is None
            r = await client.post("/meter_reading", json={"reading_kwh": 1234.5, "confidence": 0.5})
            assert r.status_code == 400 and r.json()["status"] == "rejected"
            health = (await client.get("/api/v1/health")).json()
        rejected = health["meter_rejected"]
        assert rejected["reading_kwh"] == 1234.5 and rejected["confidence"] == 0.5
        assert rejected["code"] == "low_confidence"
        assert rejected["reason"] == "The confidence 0.50 is below the threshold 0.80"
        refused_at = datetime.fromisoformat(rejected["at"].replace("Z", "+00:00"))
        assert abs((datetime.now(UTC) - refused_at).total_seconds()) < 30
        assert hub.latest_meter is None  # refused means not stored

        for _ in range(300):  # the view comes with the next second's publish (a busy CI: later)
            if line.display:
                break
            await pilot.pause(0.05)
        text = str(line.render())
        assert line.display and text.startswith("The hub refused 1,234.5 kWh (read ")
        assert text.endswith("confidence 50%): the confidence 0.50 is below the threshold 0.80."), (
            text
        )
        shot = app.export_screenshot().replace("\u00a0", " ").replace("&#160;", " ")
        assert "The hub refused 1,234.5 kWh" in shot


async def _until(pilot, check, tries: int = 200) -> None:
    for _ in range(tries):
        if check():
            return
        await pilot.pause(0.05)


def _box(screen, selector: str) -> str:
    """A widget's text as drawn at its width, lines joined by spaces."""
    from textual.geometry import Region

    widget = screen.query_one(selector)
    size = widget.content_size
    lines = widget.render_lines(Region(0, 0, size.width, size.height))
    return " ".join(" ".join(strip.text.split()) for strip in lines).strip()


def _meter_hub(agent, interval_s: float = 999.0) -> Hub:
    """A hub that polls the agent once at start and then only when asked (``r``)."""
    return Hub(
        [
            SimulatedSource(interval_s=999),
            MeterSource(agent.url, interval_s=interval_s, timeout_s=5),
        ]
    )


async def test_every_figure_has_the_meters_decimals_times_have_seconds_and_reasons_wrap(
    tmp_path,
):
    """A meter that shows whole kWh: "314,159 kWh", never "314,159.00"; two readings a
    minute apart show their seconds; a refusal's reason is read in full at 100 columns."""
    with DemoAgent(tmp_path, decimals=0) as agent:
        await _whole_kwh_meter(agent)


async def _whole_kwh_meter(agent) -> None:
    first, rec = await asyncio.to_thread(agent.service.capture_and_record)
    assert rec.accepted and first.reading_kwh == 314159.0
    agent.source.advance(-30)
    _, refused = await asyncio.to_thread(agent.service.capture_and_record)
    assert not refused.accepted and len(refused.reason) > 40
    cfg = demo_config()
    cfg.meter.endpoint = agent.url
    hub = _meter_hub(agent)
    app = EnergyApp(cfg, hub)
    async with app.run_test(size=(100, 36)) as pilot:
        await _until(pilot, lambda: hub.latest_meter is not None)
        await pilot.press("m")
        screen = app.screen
        assert isinstance(screen, MeterScreen)
        await _until(pilot, lambda: screen.rejected and screen.decimals == 0)
        await pilot.pause()
        latest = _box(screen, "#meter-latest")
        assert "314,159 kWh" in latest and "314,159.0" not in latest
        recent = screen.query_one("#meter-recent")
        when, kwh, *_ = recent.get_row_at(0)
        assert kwh == "314,159"
        assert re.fullmatch(r"\d\d \w{3} \d\d:\d\d:\d\d", when), when
        usage = _box(screen, "#meter-usage")
        assert ".00 kWh" not in usage
        # the reason, wrapped within the box, is all there
        rejected = _box(screen, "#meter-rejected-list")
        assert " ".join(refused.reason.split()) in rejected, rejected
        assert re.search(r"\d\d:\d\d:\d\d", rejected)


def test_meter_figures_follow_the_meters_decimals():
    assert meter_kwh(314159.0, 0) == "314,159"
    assert meter_kwh(31415.9, 1) == "31,415.9"
    assert meter_kwh(1234.5, 3) == "1,234.500"
    assert meter_kwh(1234.5, None) == "1,234.5"
    assert decimals_of("314159", 31415.9) == 1
    assert decimals_of("0314159", 314159.0) == 0
    assert decimals_of(None, 1.0) is None
    assert needed_decimals([500.0, 501.5, 502.25]) == 2 and needed_decimals([500.0]) == 0
    assert reconcile(4.0, 3.5, decimals=0) == (
        "meter 4 kWh vs Powerwall grid import 3.50 kWh (+0 kWh, +14 %)"
    )


async def test_r_on_the_meter_screen_polls_the_agent_through_the_hub(agent):
    """`r` is the app's "poll now" on the meter screen too: the hub asks the agent for
    its reading at once (a new one shows), and the screen reloads the agent's lists."""
    first, _ = await asyncio.to_thread(agent.service.capture_and_record)
    cfg = demo_config()
    cfg.meter.endpoint = agent.url
    hub = _meter_hub(agent)
    app = EnergyApp(cfg, hub)
    async with app.run_test(size=(120, 36)) as pilot:
        await _until(pilot, lambda: hub.latest_meter is not None)
        await pilot.press("m")
        screen = app.screen
        assert isinstance(screen, MeterScreen)
        await screen.workers.wait_for_complete()
        polls = hub.health[hub.meter_source.name].polls
        agent.source.advance(1)  # the meter moved on; the agent reads it on its schedule
        newer, rec = await asyncio.to_thread(agent.service.capture_and_record)
        assert rec.accepted and newer.reading_kwh > first.reading_kwh
        agent.source.advance(-30)
        _, refused = await asyncio.to_thread(agent.service.capture_and_record)
        assert not refused.accepted
        await pilot.press("r")
        await _until(pilot, lambda: hub.latest_meter.reading_kwh == newer.reading_kwh)
        assert hub.health[hub.meter_source.name].polls > polls
        await _until(pilot, lambda: len(screen.rejected) == 1)
        await pilot.pause()
        assert f"{newer.reading_kwh:,.1f} kWh" in _box(screen, "#meter-latest")
        assert "not_monotonic: 314130 is lower" in _box(screen, "#meter-rejected-list")


async def test_a_reading_set_by_hand_shows_at_once(tmp_path):
    """After "Set reading" the latest reading is the one just set, without waiting for
    the hub's next poll of the agent (here: never) or a key."""
    with DemoAgent(tmp_path) as agent:
        first, _ = await asyncio.to_thread(agent.service.capture_and_record)
        cfg = demo_config()
        cfg.meter.endpoint = agent.url
        cfg.meter.token = agent.token
        hub = _meter_hub(agent)
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=(120, 36)) as pilot:
            await _until(pilot, lambda: hub.latest_meter is not None)
            await pilot.press("m", "s")
            await pilot.pause()
            await pilot.press(*"300000", "enter")
            screen = app.screen
            await _until(pilot, lambda: hub.latest_meter.reading_kwh == 30000.0)
            assert hub.latest_meter.method == "manual"
            await pilot.pause()
            assert "30,000.0 kWh" in _box(screen, "#meter-latest")
            assert first.reading_kwh != 30000.0


async def test_a_reading_set_by_hand_shows_at_once_on_a_hub_the_agent_pushes_to(tmp_path):
    with DemoAgent(tmp_path) as agent:
        cfg = demo_config()
        cfg.meter.endpoint = agent.url
        cfg.meter.token = agent.token
        hub = Hub([SimulatedSource(interval_s=999)])
        app = EnergyApp(cfg, hub)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("m", "s")
            await pilot.pause()
            await pilot.press(*"300000", "enter")
            await _until(pilot, lambda: hub.latest_meter is not None)
            assert hub.latest_meter.reading_kwh == 30000.0
            (record,) = agent.service.history.query(limit=1)
            assert hub.latest_meter.id == record.id and record.method == "manual"


async def test_console_mode_draws_only_console_glyphs(agent):
    from tests.energytui.tui.screens.test_calibration import _console_safe, _drawn_glyphs

    await asyncio.to_thread(agent.service.capture_and_record)
    agent.source.advance(-30)
    await asyncio.to_thread(agent.service.capture_and_record)
    cfg = demo_config(console=True)
    cfg.meter.endpoint = agent.url
    hub = _meter_hub(agent)
    app = EnergyApp(cfg, hub)
    async with app.run_test(size=(100, 36)) as pilot:
        await _until(pilot, lambda: hub.latest_meter is not None)
        await pilot.press("m")
        screen = app.screen
        await _until(pilot, lambda: bool(screen.rejected))
        await pilot.pause()
        bad = {ch for ch in _drawn_glyphs(screen) if not _console_safe(ch)}
        assert not bad, bad
