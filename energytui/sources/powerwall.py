"""The Tesla Powerwall as a hub source, through pypowerwall.

Why it is built the way it is (facts from docs/powerwall.md):

* pypowerwall blocks and its local mode has no lock, so one dedicated worker
  thread owns the ``Powerwall`` object and makes every call; the event loop
  only awaits futures.
* ``power()`` answers zeros when the gateway is down, so we never use it: we
  read ``/api/meters/aggregates`` ourselves and treat a missing answer as an
  error with a cause (timeout, refused, 429, HTTP status, bad JSON) learnt
  from a transport adapter that watches pypowerwall's own session.
* A wrong password makes pypowerwall log in again on every call, which can
  lock the owner out, so logins are gated here with a growing delay; a 429
  pauses all calls (5 min by default, as the gateway wants).
* The dashboard needs 3 requests per cycle (aggregates, soe, grid status);
  everything else (operation, status, system status, vitals, strings,
  alerts, sitemaster) is fetched on ``slow_interval_s`` for :meth:`details`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from energytui.clock import Clock
from energytui.config import Config, PowerwallConfig
from energytui.model import GridStatus, PowerSample
from energytui.sources.base import Cause, SourceError
from energytui.sources.powerwall_connect import ConnectSpec, open_powerwall
from energytui.sources.powerwall_details import (
    MODE_LABELS,
    PowerwallDetails,
    app_pct,
    blocks_from_vitals,
    parse_battery_blocks,
    parse_capacity_kwh,
    parse_counters,
    parse_power,
    parse_strings,
    parse_temps,
    raw_pct,
)
from energytui.sources.powerwall_errors import OPERATION, Explainer, Failure
from energytui.sources.powerwall_gate import LoginBackoff, Pause
from energytui.sources.powerwall_wire import WireEvent, WireRecorder

log = logging.getLogger(__name__)
# pypowerwall logs every failure at ERROR; with no handler configured Python would
# print those to stderr, right over the TUI. The app's own logging still sees them.
logging.getLogger("pypowerwall").addHandler(logging.NullHandler())

AGGREGATES = "/api/meters/aggregates"
SOE = "/api/system_status/soe"
GRID_STATUS = "/api/system_status/grid_status"

TEDAPI_DEFAULT_HOST = "192.168.91.1"
#: Cloud data refreshes every few minutes and FleetAPI calls are metered.
CLOUD_MIN_INTERVAL_S = 60.0


#: how a closed gate's sentence ends, before the time left (counted down on screen)
LOGIN_WAIT = "next login attempt in"
PAUSE_WAIT = "resuming in"


def _source_error(f: Failure) -> SourceError:
    """The worker's failure as the hub's error, its wait kept apart for the countdown."""
    return SourceError(f.reason, retry_after=f.retry_after, cause=f.cause, then=f.then)


class PowerwallSource:
    """A :class:`~energytui.sources.base.Source` reading a Powerwall with pypowerwall."""

    kind = "power"

    def __init__(
        self,
        config: PowerwallConfig,
        *,
        state_dir: Path,
        name: str = "powerwall",
        clock: Clock | None = None,
        timezone: str = "UTC",
        login_backoff: LoginBackoff | None = None,
        rate_limit_pause_s: float = 300.0,
        pool_size: int = 2,
    ) -> None:
        self.config = config
        self.name = name
        self.mode = config.mode
        self.clock = clock or Clock()
        self.state_dir = Path(state_dir)
        self.timezone = timezone
        interval = float(config.interval_s)
        if self.mode in ("cloud", "fleetapi"):
            interval = max(interval, CLOUD_MIN_INTERVAL_S)
        self.interval_s = interval
        self.timeout_s = float(config.timeout_s)
        self.slow_interval_s = float(config.slow_interval_s)
        self.host = config.host or (TEDAPI_DEFAULT_HOST if self.mode == "tedapi" else "")
        self.login_backoff = login_backoff or LoginBackoff()
        self.rate_limit_pause_s = rate_limit_pause_s
        self.pause = Pause()
        self.pool_size = pool_size
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"pypowerwall-{name}"
        )
        self._pw: Any = None  # the pypowerwall.Powerwall, touched only in the worker
        self._wire: WireRecorder | None = None
        self._fast: asyncio.Future | None = None
        self._slow: asyncio.Future | None = None
        self._slow_due: datetime | None = None
        self._details = PowerwallDetails(connection_mode=self.mode, can_control=self.can_control)
        self._site_name: str | None = None
        self._login_reason = "Powerwall rejected the password"
        self._closed = False
        self._explain = Explainer(self.where, self.timeout_s, self.mode)

    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> PowerwallSource:
        """Build from the whole config, as the runtime does: the session cache lives under
        ``data_dir`` and pypowerwall gets the configured time zone."""
        return cls(
            config.powerwall, state_dir=config.data_dir, timezone=config.general.timezone, **kwargs
        )

    # -- public surface -------------------------------------------------------------
    @property
    def where(self) -> str:
        """How the user knows this gateway: its address, or the cloud."""
        if self.mode == "cloud":
            return "the Tesla cloud"
        if self.mode == "fleetapi":
            return "Tesla FleetAPI"
        return self.host

    @property
    def can_control(self) -> bool:
        """Whether reserve and mode can be changed in this connection mode."""
        return self.mode in ("local", "cloud", "fleetapi")

    @property
    def capacity_kwh(self) -> float | None:
        """The battery's full capacity the gateway last reported (kWh); None before the
        first slow refresh, or when the gateway does not report it."""
        return self._details.capacity_kwh

    @property
    def request_count(self) -> int:
        """HTTP requests this source has sent (local mode; 0 when not measurable)."""
        return self._wire.total if self._wire is not None else 0

    async def poll(self) -> PowerSample:
        """One dashboard cycle: aggregates, state of energy and grid status."""
        self._check_gates()
        if self._fast is not None and not self._fast.done():
            raise SourceError(
                f"Powerwall at {self.where} is still busy with the previous request; skipping this poll.",
                cause=Cause.BUSY,
            )
        job = self._submit(self._fast_cycle)
        self._fast = job
        sample = await self._await(job, self.timeout_s + 0.8)
        now = self.clock.now()
        if self._slow_due is None or now >= self._slow_due:
            self._slow_due = now + timedelta(seconds=self.slow_interval_s)
            self._start_slow()
        if self._details.reserve_pct is not None:
            sample = replace(sample, reserve_pct=self._details.reserve_pct)
        return sample

    async def details(self) -> PowerwallDetails:
        """The slow-schedule facts (alerts, batteries, strings, temps, vitals, reserve, mode).

        Waits for a refresh in progress; starts the first one if none has run.
        Never raises: if nothing could be fetched, ``notes`` says why.
        """
        if self._slow is None and not self._gated() and not self._closed:
            self._start_slow()
        if self._slow is not None and not self._slow.done():
            # a failure is already turned into ``notes`` by _slow_done; never raise here
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._slow), self.timeout_s * 3 + 1)
        return self._details

    async def refresh_details(self) -> PowerwallDetails:
        """Fetch the slow facts now (the devices screen's refresh key)."""
        self._check_gates()
        self._start_slow()
        return await self.details()

    async def set_reserve(self, pct: float) -> str:
        """Set the backup reserve (Tesla app %); one sentence on success, SourceError otherwise."""
        try:
            pct = float(pct)
        except (TypeError, ValueError):
            raise SourceError(
                "The backup reserve must be a number from 0 to 100.", cause=Cause.INPUT
            ) from None
        if not 0.0 <= pct <= 100.0:
            raise SourceError("The backup reserve must be between 0 and 100 %.", cause=Cause.INPUT)
        self._check_control()
        result = await self._await(
            self._submit(self._write_operation, pct, None), self.timeout_s * 4 + 1
        )
        return result

    async def set_mode(self, mode: str) -> str:
        """Set the operation mode (self_consumption, autonomous, backup)."""
        if mode not in MODE_LABELS:
            choices = ", ".join(MODE_LABELS)
            raise SourceError(
                f"Unknown operation mode {mode!r}; choose one of {choices}.", cause=Cause.INPUT
            )
        self._check_control()
        return await self._await(
            self._submit(self._write_operation, None, mode), self.timeout_s * 4 + 1
        )

    async def close(self) -> None:
        """Let the worker finish and close pypowerwall's HTTP session.

        We do not log out: the cached session cookie lets the next start skip a
        login, which is what the gateway (and the owner's lockout budget) prefers.
        """
        if self._closed:
            return
        self._closed = True
        fut = asyncio.get_running_loop().run_in_executor(self._executor, self._close_session)
        with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
            await asyncio.wait_for(fut, self.timeout_s + 1)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- loop side helpers ----------------------------------------------------------
    def _submit(self, fn: Any, *args: Any) -> asyncio.Future:
        if self._closed:
            raise SourceError("The Powerwall source is closed.", cause=Cause.CLOSED)
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, self._guarded, fn, *args)

    async def _await(self, job: asyncio.Future, budget: float) -> Any:
        try:
            return await asyncio.wait_for(asyncio.shield(job), budget)
        except TimeoutError:
            raise SourceError(
                f"Powerwall at {self.where} did not answer within {self.timeout_s:g} s.",
                cause=Cause.TIMEOUT,
            ) from None
        except Failure as f:
            raise _source_error(f) from None

    def _gated(self) -> bool:
        now = self.clock.now()
        return self.login_backoff.remaining(now) > 0 or self.pause.remaining(now) > 0

    def _check_gates(self) -> None:
        """Refuse to touch the gateway while a login back-off or a 429 pause runs."""
        gate = self._gate_message(self.clock.now())
        if gate is not None:
            raise _source_error(gate)

    def _check_control(self) -> None:
        if not self.can_control:
            raise SourceError(
                "Changing reserve or mode needs local, cloud or FleetAPI mode; TEDAPI is read-only here.",
                cause=Cause.UNSUPPORTED,
            )
        self._check_gates()

    def _gate_message(self, now: datetime) -> Failure | None:
        """The failure (reason, wait, cause) while a gate is closed, else None."""
        left = self.login_backoff.remaining(now)
        if left > 0:
            return Failure(self._login_reason, Cause.AUTH, retry_after=left, then=LOGIN_WAIT)
        left = self.pause.remaining(now)
        if left > 0:
            return Failure(self.pause.reason, Cause.RATE_LIMIT, retry_after=left, then=PAUSE_WAIT)
        return None

    def _arm(self, f: Failure) -> Failure:
        """Close the gate a failure calls for (in the worker, before any queued job runs)."""
        now = self.clock.now()
        if f.cause is Cause.AUTH:
            delay = self.login_backoff.failed(now)
            self._login_reason = str(f).rstrip(".")
            return Failure(self._login_reason, Cause.AUTH, retry_after=delay, then=LOGIN_WAIT)
        if f.cause is Cause.RATE_LIMIT:
            seconds = f.retry_after or self.rate_limit_pause_s
            self.pause.start(now, seconds, "Powerwall asked us to slow down (HTTP 429)")
            return Failure(
                self.pause.reason, Cause.RATE_LIMIT, retry_after=seconds, then=PAUSE_WAIT
            )
        return f

    def _guarded(self, fn: Any, *args: Any) -> Any:
        """Worker entry point: re-check the gates, run, and arm gates on failure."""
        gate = self._gate_message(self.clock.now())
        if gate is not None:
            raise gate
        try:
            return fn(*args)
        except Failure as f:
            raise self._arm(f) from None

    def _start_slow(self) -> None:
        if self._closed or (self._slow is not None and not self._slow.done()):
            return
        job = self._submit(self._slow_refresh)
        job.add_done_callback(self._slow_done)
        self._slow = job

    def _slow_done(self, job: asyncio.Future) -> None:
        if job.cancelled():
            return
        exc = job.exception()
        if exc is None:
            self._details = job.result()
        elif isinstance(exc, Failure):
            self._details = replace(self._details, notes=(str(exc),))
        else:  # a bug or a library surprise: keep the app alive, say what happened
            log.warning("Powerwall details refresh failed: %s", type(exc).__name__)
            self._details = replace(self._details, notes=("Reading the Powerwall details failed.",))

    # -- worker side: connection ----------------------------------------------------
    def _connect(self) -> Any:
        """Build the pypowerwall object once, in the worker, with no surprise fallback."""
        if self._pw is not None:
            return self._pw
        spec = ConnectSpec(
            config=self.config,
            mode=self.mode,
            host=self.host,
            where=self.where,
            state_dir=self.state_dir,
            timezone=self.timezone,
            timeout_s=self.timeout_s,
            pool_size=self.pool_size,
        )
        pw = open_powerwall(spec)
        session = getattr(pw.client, "session", None)
        if self.mode == "local" and isinstance(session, requests.Session):
            # only the classic local client: TEDAPI mounts its own retrying adapter
            self._wire = WireRecorder(pool_maxsize=max(1, self.pool_size))
            session.mount("https://", self._wire)
        self._pw = pw
        return pw

    def _close_session(self) -> None:
        session = getattr(getattr(self._pw, "client", None), "session", None)
        if session is not None and hasattr(session, "close"):
            session.close()

    def _cooling_down(self) -> bool:
        """pypowerwall's own 429 cooldown is on (it then answers None without a request)."""
        client = getattr(self._pw, "client", None)
        return getattr(client, "pwcooldown", 0) > time.perf_counter()

    def _release_expired_cooldown(self, pw: Any) -> None:
        """Our own pause is the authority on 429s; lift pypowerwall's internal one with it."""
        client = getattr(pw, "client", None)
        if client is not None and getattr(client, "pwcooldown", 0) != 0:
            client.pwcooldown = 0

    @staticmethod
    def _fresh(pw: Any, path: str) -> Any:
        """Poll ``path`` from the gateway, never from pypowerwall's cache.

        ``force=True`` alone is not enough: after a 401/403 pypowerwall logs in
        and retries *without* force, which can hand back the cached answer of a
        few seconds ago as if it were new. Dropping the entry first closes that.
        """
        cache = getattr(getattr(pw, "client", None), "pwcache", None)
        if isinstance(cache, dict) and cache.get(path) is not None:
            cache[path] = None
        return pw.poll(path, force=True)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[WireEvent]]:
        """Run one pypowerwall call, returning its result and the exchanges it made."""
        mark = self._wire.last_seq if self._wire is not None else 0
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            events = self._wire.since(mark) if self._wire is not None else []
            failure = self._explain.from_exception(exc, events)
            if failure.cause is Cause.CLOUD:
                self._pw = None  # reconnect on the next poll (the hub's back-off paces it)
            raise failure from None
        events = self._wire.since(mark) if self._wire is not None else []
        return result, events

    # -- worker side: the cycles ------------------------------------------------------
    def _fast_cycle(self) -> PowerSample:
        pw = self._connect()
        self._release_expired_cooldown(pw)
        agg, events = self._call(self._fresh, pw, AGGREGATES)
        power = parse_power(agg)
        if power is None:
            raise self._explain.missing(AGGREGATES, agg, events, cooling_down=self._cooling_down())
        self.login_backoff.succeeded()
        soe_pct: float | None = None
        grid = GridStatus.UNKNOWN
        soe, events = self._call(self._fresh, pw, SOE)
        self._explain.raise_if_transport(events)
        if isinstance(soe, dict) and isinstance(soe.get("percentage"), int | float):
            soe_pct = round(app_pct(float(soe["percentage"])), 2)
        gs, events = self._call(self._fresh, pw, GRID_STATUS)
        self._explain.raise_if_transport(events)
        if isinstance(gs, dict):
            grid = GridStatus.from_gateway(gs.get("grid_status"))
        return PowerSample(
            ts=self.clock.now(),
            solar_w=power["solar"],
            battery_w=power["battery"],
            grid_w=power["site"],
            load_w=power["load"],
            soe_pct=soe_pct,
            reserve_pct=None,
            grid_status=grid,
            counters=parse_counters(agg),
            source=self.name,
        )

    def _slow_refresh(self) -> PowerwallDetails:
        pw = self._connect()
        notes: list[str] = []

        answered: dict[str, int | None] = {}

        def get(path: str) -> Any:
            value, events = self._call(self._fresh, pw, path)
            self._explain.raise_if_transport(events)
            answered[path] = events[-1].status if events else None
            return value

        op = get(OPERATION)
        status = get("/api/status")
        if self._site_name is None:
            self._site_name, _ = self._call(pw.site_name)
        system_status = get("/api/system_status")
        sitemaster = get("/api/sitemaster")
        vitals, _ = self._call(pw.vitals)
        temps = parse_temps(self._call(pw.temps)[0])
        strings = parse_strings(self._call(pw.strings)[0])
        alerts_raw, _ = self._call(pw.alerts)
        if not vitals:
            vitals = None
            notes.append("Per-device vitals and temperatures are not available on this firmware.")
        if not strings:
            notes.append(
                "No solar string data (no Powerwall+ inverter, or not offered by this firmware)."
            )
        reserve = None
        mode = None
        if isinstance(op, dict):
            if isinstance(op.get("backup_reserve_percent"), int | float):
                reserve = round(app_pct(float(op["backup_reserve_percent"])), 1)
            mode = op.get("real_mode") if isinstance(op.get("real_mode"), str) else None
        why_op = None
        if not isinstance(op, dict):
            status_op = answered.get(OPERATION)
            why_op = (
                f"the gateway answered HTTP {status_op} for {OPERATION}"
                if status_op is not None and status_op >= 400
                else f"the gateway gave no answer for {OPERATION}"
            ) + " (some firmware and connection modes do not offer it)"
        firmware = status.get("version") if isinstance(status, dict) else None
        blocks = parse_battery_blocks(system_status, temps) or blocks_from_vitals(vitals)
        return PowerwallDetails(
            alerts=tuple(sorted(str(a) for a in alerts_raw or () if isinstance(a, str))),
            battery_blocks=blocks,
            capacity_kwh=parse_capacity_kwh(system_status, blocks),
            mode_unknown=None
            if mode is not None
            else (why_op or f"{OPERATION} has no real_mode on this gateway"),
            reserve_unknown=None
            if reserve is not None
            else (why_op or f"{OPERATION} has no backup_reserve_percent on this gateway"),
            strings=strings,
            temperatures=temps,
            vitals=vitals if isinstance(vitals, dict) else None,
            reserve_pct=reserve,
            operation_mode=mode,
            firmware=firmware,
            site_name=self._site_name,
            fetched_at=self.clock.now(),
            connection_mode=self.mode,
            can_control=self.can_control,
            sitemaster=sitemaster if isinstance(sitemaster, dict) else None,
            notes=tuple(notes),
        )

    def _write_operation(self, pct: float | None, mode: str | None) -> str:
        pw = self._connect()
        self._release_expired_cooldown(pw)
        local = self.mode == "local"
        if pct is not None:
            level = raw_pct(pct) if local else pct  # the local API wants the raw scale
            result, events = self._call(pw.set_reserve, round(level, 2))
        else:
            result, events = self._call(pw.set_mode, mode)
        if result is None or (isinstance(result, dict) and result.get("error")):
            raise self._explain.write(events, result)
        # read back what the gateway now says, and refresh the cache the screen shows
        op, _ = self._call(self._fresh, pw, OPERATION)
        if isinstance(op, dict):
            reserve = op.get("backup_reserve_percent")
            self._details = replace(
                self._details,
                reserve_pct=round(app_pct(float(reserve)), 1)
                if isinstance(reserve, int | float)
                else self._details.reserve_pct,
                operation_mode=op.get("real_mode") or self._details.operation_mode,
            )
        if pct is not None:
            return f"Backup reserve set to {pct:g} %."
        return f"Operation mode set to {MODE_LABELS[mode or '']} ({mode})."

    # -- worker side: explaining failures ---------------------------------------------------
