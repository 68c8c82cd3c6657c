"""energytui: a live terminal monitor for a home solar system (Powerwall + camera-read meter)."""

__version__ = "0.1.0"
