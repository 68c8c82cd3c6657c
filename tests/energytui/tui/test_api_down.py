"""Issue 16: a busy API port in the TUI names the settings the TUI really has (it has no
--port flag), and the fact that the API is down stays on screen after the toast fades."""

from __future__ import annotations

import socket

from energytui.runtime import build_hub
from energytui.tui.app import EnergyApp
from tests.energytui.test_runtime import config


async def test_busy_api_port_names_the_real_setting_and_stays_on_the_health_line(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        cfg = config(tmp_path, port)
        app = EnergyApp(cfg, build_hub(cfg))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            said = [n.message for n in app._notifications]
            [toast] = [m for m in said if "HTTP API not started" in m]
            assert "--port" not in toast
            assert "api.port" in toast and "ENERGYTUI_API__PORT" in toast
            app.clear_notifications()  # the toast is gone, as after its timeout
            app.refresh_view()
            await pilot.pause()
            health = str(app.screen.query_one("#health").render())
            assert f"HTTP API off: port {port} on 127.0.0.1 is already in use" in health
