"""meter_agent: reads the utility meter from a camera and never accepts a wrong value."""

__version__ = "0.1.0"
