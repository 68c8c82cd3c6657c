"""Command line of meter_agent (filled in by the meter_agent work)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("meter-agent: not built yet", file=sys.stderr)
    return 2
