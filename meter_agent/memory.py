"""Giving the memory of a reading back to the system while the agent rests.

Why a module of its own: a reading allocates many megabytes of short-lived image buffers
(1280×720 frames, their float copies, the synthetic meter's layers) in worker threads,
and glibc's malloc keeps what is freed: each thread gets its own arena, and after a large
block is freed it raises its mmap threshold, so later frames come from arenas that never
shrink. Measured with ``python -m bench.agent``: the agent rested at about 200 MB RSS,
growing with each reading, of which only about 3 MB (the latest frame) was still in use.

Two knobs fix it: one arena for the whole process (the agent does one heavy thing at a
time under the service's lock, so threads do not fight over it), and ``malloc_trim(0)``
after heavy work hands the free pages back (about a millisecond). Both are glibc's; with
another C library (musl, macOS) this module does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import logging
from typing import Any

log = logging.getLogger(__name__)

#: mallopt parameter: the most arenas glibc's malloc may create (glibc's malloc.h)
M_ARENA_MAX = -8


@functools.cache
def _libc() -> Any:
    """The process's own C library, or None when it cannot be had."""
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def _function(name: str) -> Any:
    lib = _libc()
    return getattr(lib, name, None) if lib is not None else None


def limit_arenas(count: int = 1) -> bool:
    """Let malloc use at most ``count`` arenas; call it before threads start allocating.

    Returns whether the C library took the setting (False where there is no glibc).
    """
    mallopt = _function("mallopt")
    if mallopt is None:
        return False
    ok = bool(mallopt(M_ARENA_MAX, count))
    if not ok:
        log.debug("mallopt(M_ARENA_MAX, %d) was refused", count)
    return ok


def release_free_memory() -> bool:
    """Hand freed heap pages back to the system (``malloc_trim(0)``); about a millisecond.

    Returns whether any memory was released; False too where there is no glibc.
    """
    trim = _function("malloc_trim")
    if trim is None:
        return False
    return bool(trim(0))
