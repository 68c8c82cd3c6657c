"""Building the pypowerwall object from our settings, with no surprises.

* ``failover=False``: a failing local gateway must not silently become a cloud
  client (pypowerwall's default would), so only the configured mode is used.
* The session cache lives in our state directory (pypowerwall defaults to the
  current directory), and a malformed one is removed first: pypowerwall would
  answer it with a login inside its constructor, outside our login gate.
* Settings mistakes (host with a scheme, bad port, IPv6, missing cloud sign-in)
  are caught before any network request, each as one sentence.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypowerwall
from pypowerwall.exceptions import PyPowerwallInvalidConfigurationParameter

from energytui.config import PowerwallConfig
from energytui.sources.base import Cause
from energytui.sources.powerwall_errors import Failure

SESSION_FILE = "powerwall-session.json"


@dataclass(frozen=True)
class ConnectSpec:
    """Everything needed to construct pypowerwall for one source."""

    config: PowerwallConfig
    mode: str
    host: str
    where: str
    state_dir: Path
    timezone: str
    timeout_s: float
    pool_size: int


def open_powerwall(spec: ConnectSpec) -> Any:
    """Check the settings, then construct ``pypowerwall.Powerwall`` (call in the worker).

    Raises :class:`Failure` with one sentence naming what to fix; makes no
    network request for a settings mistake.
    """
    spec.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    cachefile = spec.state_dir / SESSION_FILE
    drop_bad_session_cache(cachefile)
    cfg = spec.config
    kwargs: dict[str, Any] = dict(
        email=cfg.email,
        timezone=spec.timezone,
        pwcacheexpire=5,
        timeout=spec.timeout_s,
        poolmaxsize=spec.pool_size,
        cachefile=str(cachefile),
        failover=False,
        authmode="cookie",
    )
    if spec.mode == "local":
        kwargs.update(host=spec.host, password=cfg.password, gw_pwd=cfg.gw_pwd or None)
    elif spec.mode == "tedapi":
        kwargs.update(host=spec.host, password="", gw_pwd=cfg.gw_pwd or None)
    elif spec.mode == "cloud":
        kwargs.update(
            host="",
            cloudmode=True,
            siteid=cfg.cloud_site_id,
            authpath=str(cfg.auth_path or spec.state_dir),
        )
    else:  # fleetapi
        kwargs.update(
            host="",
            cloudmode=True,
            fleetapi=True,
            siteid=cfg.cloud_site_id,
            authpath=str(cfg.auth_path or spec.state_dir),
        )
    if spec.mode == "local" and not spec.host:
        raise Failure(
            "Set the Powerwall host (an IP address, optionally with :port).",
            Cause.CONFIG,
            retry_after=3600.0,
        )
    if spec.mode == "local" and not cfg.password and not cfg.gw_pwd:
        # pypowerwall would log in with an empty password: a sure refusal that counts
        # against the owner's login budget, told as "rejected" though none was given
        raise Failure(
            f"No password is set for the Powerwall at {spec.where}; set powerwall.password "
            "(or POWERWALL_PASSWORD) to its customer password.",
            Cause.CONFIG,
            retry_after=3600.0,
        )
    if spec.mode == "tedapi" and not cfg.gw_pwd:
        raise Failure(
            "TEDAPI mode needs gw_pwd, the full gateway password from the QR sticker.",
            Cause.CONFIG,
            retry_after=3600.0,
        )
    if spec.mode in ("cloud", "fleetapi"):
        authpath = Path(kwargs["authpath"])
        needed = ".pypowerwall.fleetapi" if spec.mode == "fleetapi" else ".pypowerwall.auth"
        if not (authpath / needed).exists():
            setup = "fleetapi" if spec.mode == "fleetapi" else "setup"
            raise Failure(
                f"Not signed in to {spec.where}: {authpath / needed} is missing; run "
                f"'python -m pypowerwall {setup}' in that folder once.",
                Cause.CONFIG,
                retry_after=600.0,
            )
    if spec.host.count(":") > 1:
        raise Failure(
            "IPv6 addresses do not work with pypowerwall; use the gateway's IPv4 address or host name.",
            Cause.CONFIG,
            retry_after=3600.0,
        )
    try:
        pw = pypowerwall.Powerwall(**kwargs)
    except (PyPowerwallInvalidConfigurationParameter, ValueError, OSError) as exc:
        raise Failure(config_sentence(spec, str(exc)), Cause.CONFIG, retry_after=3600.0) from None
    if pw.client is None:  # TEDAPI connects in the constructor; try again next poll
        raise Failure(
            f"Cannot reach the Powerwall at {spec.where} over TEDAPI; check gw_pwd and that "
            "this computer can reach the gateway's Wi-Fi.",
            Cause.UNREACHABLE,
        )
    return pw


def config_sentence(spec: ConnectSpec, text: str) -> str:
    """pypowerwall's validation messages, as one sentence naming what to fix."""
    low = text.lower()
    if "port" in low:
        return f"The port in Powerwall host {spec.host!r} must be a number from 1 to 65535."
    if "host" in low:
        return (
            f"Powerwall host {spec.host!r} is not valid; give an IP address or host name, "
            "optionally with :port, without https://."
        )
    if "cache" in low or "writable" in low or "directory" in low:
        return f"The state directory {spec.state_dir} is not writable."
    if "email" in low:
        return f"The Powerwall email {spec.config.email!r} is not a valid address."
    return f"The Powerwall settings are not valid ({_sentence(text).rstrip('.')})."


def drop_bad_session_cache(path: Path) -> None:
    """Remove a session cache pypowerwall would answer with a login inside its constructor.

    A cache file of the wrong shape (corrupt, or a token file in cookie mode)
    makes the constructor log in at once, outside our login gate.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ok = isinstance(data, dict) and "AuthCookie" in data and "UserRecord" in data
    except FileNotFoundError:
        return
    except (OSError, ValueError):
        ok = False
    if not ok:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith(".") else text + "."
