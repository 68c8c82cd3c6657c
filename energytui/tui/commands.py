"""Command palette entries: every action reachable by name as well as by key."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

COMMANDS = [
    ("Refresh now", "refresh", "Poll every source immediately"),
    ("Devices", "devices", "Alerts, battery blocks, strings, reserve and mode"),
    ("Meter", "meter", "The utility meter's readings and consumption"),
    ("Calibrate meter", "calibrate", "Move and size the meter's digit window"),
    ("History", "history", "Power flows and battery charge over 6 h to 1 year"),
    ("Toggle simulated grid outage", "toggle_outage", "Only for the simulated site"),
    ("Help", "help", "Keys, sign conventions, stale data"),
]


class EnergyCommands(Provider):
    async def discover(self) -> Hits:
        for name, action, help_text in COMMANDS:
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.app.run_action, action),
                    help=help_text,
                )
