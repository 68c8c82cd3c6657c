"""meter_agent.memory: freed heap pages really go back to the system (glibc only)."""

from __future__ import annotations

import ctypes
import platform

import psutil
import pytest

from meter_agent.memory import limit_arenas, release_free_memory

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")


@glibc_only
def test_freed_holes_in_the_heap_are_returned_when_released() -> None:
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    size = 64 * 1024  # below the mmap threshold: on the heap
    blocks = [libc.malloc(size) for _ in range(1024)]
    assert all(blocks)
    for b in blocks:
        ctypes.memset(b, 1, size)
    # free every other block: 32 MB of holes between live blocks, which malloc keeps (by
    # itself it trims only a free top of the heap), like a reading's buffers among the rest
    freed, live = blocks[0::2], blocks[1::2]
    try:
        proc = psutil.Process()
        for b in freed:
            libc.free(b)
        kept = proc.memory_info().rss
        assert release_free_memory() is True
        returned = kept - proc.memory_info().rss
        assert returned > 24e6, f"only {returned / 1e6:.1f} MB of 33.6 MB went back"
    finally:
        for b in live:
            libc.free(b)


@glibc_only
def test_arena_limit_is_taken() -> None:
    assert limit_arenas(1) is True
