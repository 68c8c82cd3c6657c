"""A reading answered ``recorded: true`` by a real ``meter-agent serve`` is there after a
restart, even when the card was full a moment before: the agent's file-size limit is
lowered from outside (``prlimit``), so its own writes fail half way exactly as on a full
card. And a reading the history lost but the reader's state kept is written back."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import httpx
from serve_support import ServeProcess
from service_support import write_config


def test_a_reading_after_a_failed_append_survives_a_restart(tmp_path: Path) -> None:
    """A history append cut short by a full card used to leave its half line; the next
    reading, answered ``recorded: true``, was glued onto it and dropped at the restart."""
    cfg = write_config(tmp_path, ocr={"interval_s": 86400.0})
    history = tmp_path / "data" / "history.jsonl"
    agent = ServeProcess(cfg).start()
    try:
        with httpx.Client(base_url=agent.url, timeout=30) as c:
            deadline = time.monotonic() + 60
            while c.get("/health").json()["last_capture"] is None:  # the first scheduled round
                assert time.monotonic() < deadline
                time.sleep(0.05)
            r = c.put("/reading", json={"digits": "200000"}, headers=agent.auth())
            assert r.status_code == 200 and r.json()["recorded"] is True, r.text
            soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
            resource.prlimit(agent.pid, resource.RLIMIT_FSIZE, (history.stat().st_size + 40, hard))
            r = c.put("/reading", json={"digits": "200100"}, headers=agent.auth())
            assert r.status_code == 507, r.text
            resource.prlimit(agent.pid, resource.RLIMIT_FSIZE, (soft, hard))
            r = c.put("/reading", json={"digits": "200200"}, headers=agent.auth())
            assert r.status_code == 200 and r.json()["recorded"] is True, r.text
            confirmed = r.json()["id"]
    finally:
        agent.stop()
    lines = history.read_text().splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)  # no half line left
    with ServeProcess(cfg) as again, httpx.Client(base_url=again.url, timeout=30) as c:
        meter = c.get("/meter").json()
        assert meter["digits"] == "200200" and meter["id"] == confirmed
        ids = [r["id"] for r in c.get("/readings", params={"limit": 100}).json()["readings"]]
        assert confirmed in ids
    state = json.loads((tmp_path / "data" / "reader_state.json").read_text())
    assert state["last_digits"] == "200200"


def test_a_state_newer_than_the_history_is_written_back_to_it(tmp_path: Path) -> None:
    """reader_state.json is saved only after the reading's history line: a state that is
    newer than the history's last accepted reading means the history lost a confirmed
    reading. At the restart it is written back, so /meter and the checks agree."""
    cfg = write_config(tmp_path, ocr={"interval_s": 86400.0})
    with ServeProcess(cfg) as a, httpx.Client(base_url=a.url, timeout=30) as c:
        r = c.put("/reading", json={"digits": "400000"}, headers=a.auth())
        assert r.status_code == 200
        r = c.put("/reading", json={"digits": "400500"}, headers=a.auth())
        assert r.status_code == 200
    history = tmp_path / "data" / "history.jsonl"
    lines = history.read_text().splitlines()
    kept = [line for line in lines if json.loads(line).get("digits") != "400500"]
    assert len(kept) == len(lines) - 1
    history.write_text("".join(line + "\n" for line in kept))  # the line the card lost
    with ServeProcess(cfg) as b, httpx.Client(base_url=b.url, timeout=30) as c:
        assert c.get("/meter").json()["digits"] == "400500"
    assert any(json.loads(line)["digits"] == "400500" for line in history.read_text().splitlines())


def test_a_reading_the_last_guard_refuses_is_never_written_back(tmp_path: Path) -> None:
    """A reading the reader took but the service's last guard refused (lower than the
    history's last accepted one) must not stay the reader's value: its saved state would
    be newer than the history, and the restart would write it back as accepted."""
    from service_support import start_agent

    cfg = write_config(tmp_path)
    a = start_agent(cfg)  # the synthetic meter shows 123456
    try:
        assert a.service.capture_once().accepted is True
    finally:
        a.stop()
    b = start_agent(cfg, start=123400)  # then a lower value
    try:
        b.service.reader.last_accepted = None  # a reader with nothing to compare against
        result, record = b.service.capture_and_record()
        assert result.accepted is True and record.accepted is False
        assert record.reason and record.reason.startswith("not_monotonic")
    finally:
        b.stop()
    c = start_agent(cfg, start=123400)
    try:
        assert c.service.latest_status().digits == "123456"  # type: ignore[union-attr]
        assert c.service.reader.last_accepted.digits == "123456"  # type: ignore[union-attr]
        accepted = [r.digits for r in c.service.history.query(limit=100)]
        assert "123400" not in accepted
    finally:
        c.stop()
