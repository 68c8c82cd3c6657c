"""Events from a real PowerwallSource on pypowerwall against the gateway emulator: the
gateway islanding and coming back, and the gateway failing and recovering."""

from __future__ import annotations

from devkit.emulator import Emulator
from energytui.events import Holds, Kind, Severity
from energytui.hub import Hub
from tests.gateway_support import one_sentence, until


async def test_the_gateway_islanding_failing_and_recovering_are_events(
    make_source, emulator: Emulator
):
    src = make_source()
    src.interval_s = 0.5  # below the config minimum, for a quick test
    hub = Hub([src])
    hub.events.detector.holds = Holds(grid=0.0, source=0.0)

    def kinds() -> list[Kind]:
        return [e.kind for e in hub.events.recent]

    await hub.start()
    try:
        await until(lambda: hub.power_is_live)
        assert kinds() == []
        emulator.set_fault("outage")
        await until(lambda: Kind.GRID_DOWN in kinds())
        emulator.clear_faults("outage")
        await until(lambda: Kind.GRID_UP in kinds())
        emulator.set_fault("error", status=500)
        await until(lambda: Kind.SOURCE_FAILED in kinds())
        emulator.clear_faults()
        await until(lambda: Kind.SOURCE_RECOVERED in kinds())
    finally:
        await hub.stop()
    assert kinds() == [Kind.GRID_DOWN, Kind.GRID_UP, Kind.SOURCE_FAILED, Kind.SOURCE_RECOVERED]
    down, _, failed, _ = hub.events.recent
    assert down.severity is Severity.ALARM
    assert failed.subject == "powerwall" and "answered HTTP 500" in failed.text
    assert all(one_sentence(e.text) for e in hub.events.recent)
    assert hub.view.events.top == down
