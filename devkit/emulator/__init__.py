"""A Tesla Energy Gateway emulator on loopback, for tests, benchmarks and demos.

It speaks the local HTTPS API that pypowerwall's local mode uses, serves the
values of a :class:`~energytui.sources.simulated.SimulatedSite`, counts
requests and logins, and injects faults on demand. No Textual here.
"""

from devkit.emulator.faults import FAULTS, FaultError
from devkit.emulator.gateway import Counts, app_from_raw, raw_from_app
from devkit.emulator.server import Emulator

__all__ = ["FAULTS", "Counts", "Emulator", "FaultError", "app_from_raw", "raw_from_app"]
