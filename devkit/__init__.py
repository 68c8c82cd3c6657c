"""Development kit: what tests, benchmarks, screenshots and rehearsals need, beside the
monitor but not part of it. It lives in the source checkout only; the wheel ships
``energytui`` and ``meter_agent`` alone.

- ``devkit.emulator``: a Tesla Energy Gateway on loopback (``energytui emulator``).
- ``devkit.demo``: the deterministic demo app behind the snapshot tests and screenshots/.
- ``devkit.demo_agent``: a real meter_agent on a synthetic meter, for the meter screens.
- ``devkit.screenshots``: regenerates screenshots/ (``make screenshots``).
"""
