"""A validation problem as the one sentence a user reads, for every route that validates.

FastAPI's own 422 (our routes) and the seed's 400 ``reason`` (POST /meter_reading, which
validates by hand so that it can answer in the seed's shape) say a bad field the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meter_agent.schema import problem_words

#: where FastAPI says a value came from, not part of the field's name
_ORIGINS = ("body", "query", "path", "header")


def problem_sentence(errors: Sequence[Mapping[str, Any]], *, count_others: bool = True) -> str:
    """The first problem as one sentence naming the field; with ``count_others``, how many
    more there were."""
    if not errors:
        return "The request is not valid."
    err = errors[0]
    if err.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    where = ".".join(str(p) for p in err.get("loc", ()) if p not in _ORIGINS)
    msg = problem_words(err)
    text = f"{where}: {msg[0].lower() + msg[1:]}" if where else msg
    others = len(errors) - 1
    more = (
        f" (and {others} more problem{'s' if others > 1 else ''})"
        if count_others and others
        else ""
    )
    return text.rstrip(".") + more + "."
