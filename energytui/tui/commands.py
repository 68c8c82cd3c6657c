"""Command palette entries: every action reachable by name as well as by key.

An entry whose action the app hides here (Outage away from the simulated site) is left
out, as its key is from the footer: the palette never offers what would do nothing.
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

COMMANDS = [
    ("Poll now", "refresh", "Poll every source now, the meter agent included (r)"),
    ("Devices", "devices", "Alerts, battery blocks, strings, reserve and mode (v)"),
    ("Meter", "meter", "The utility meter's readings and consumption (m)"),
    ("Calibrate meter", "calibrate", "Move and size the meter's digit window (c)"),
    ("History", "history", "Power flows and battery charge over 6 h to 1 year (y)"),
    ("Toggle simulated grid outage", "toggle_outage", "Only for the simulated site (o)"),
    ("Help", "help", "This screen's keys, the global keys, signs, stale data (?)"),
]


class EnergyCommands(Provider):
    def _commands(self) -> list[tuple[str, str, str]]:
        return [c for c in COMMANDS if self.app.check_action(c[1], ()) is not False]

    async def discover(self) -> Hits:
        for name, action, help_text in self._commands():
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(name),
                    partial(self.app.run_action, action),
                    help=help_text,
                )
