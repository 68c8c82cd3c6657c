"""Why an HTTP request to a peer (a meter agent, another energytui) got no answer, in
words: users read sentences, never exception class names such as ``ConnectError``."""

from __future__ import annotations

import httpx

from energytui.sources.base import Cause


def http_failure(exc: httpx.HTTPError) -> tuple[str, Cause]:
    """A few words for a failed request (no trailing full stop) and its cause."""
    if isinstance(exc, httpx.UnsupportedProtocol):
        return "the address must start with http:// or https://", Cause.UNREACHABLE
    if isinstance(exc, httpx.ConnectError):
        text = str(exc)
        if "refused" in text.lower():
            return "the connection was refused", Cause.UNREACHABLE
        if "name or service not known" in text.lower() or "nodename" in text.lower():
            return "the host name is not known", Cause.UNREACHABLE
        return "no connection could be made", Cause.UNREACHABLE
    if isinstance(exc, httpx.TimeoutException):
        return "it did not answer in time", Cause.TIMEOUT
    if isinstance(exc, httpx.RemoteProtocolError):
        return "it closed the connection without a proper answer", Cause.UNREACHABLE
    return "the request failed on the network", Cause.UNREACHABLE
