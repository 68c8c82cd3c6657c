"""The agent's loops: a reading every ``ocr.interval_s``, uploads, and image pruning,
forever, without dying.

Why a module of its own: what runs on a schedule, and how it backs off, is apart from
what one round does (:meth:`meter_agent.service.MeterService.capture_once`). Blocking
work (the camera, OpenCV, Tesseract, pruning) runs in a worker thread, never on the
event loop. Any error in a round is recorded (``last_error``), logged, and followed by
an exponential back-off; a loop never ends on an error, because nobody is watching a
Pi in a cupboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from meter_agent.capture import CaptureError
from meter_agent.feed import LEARN_FRAME_AGE_S
from meter_agent.memory import release_free_memory
from meter_agent.recording import StorageError

if TYPE_CHECKING:
    from meter_agent.service import MeterService

log = logging.getLogger(__name__)

#: the longest pause between rounds after repeated errors (unless the interval is longer)
MAX_BACKOFF_S = 300.0
#: how often old images are pruned
PRUNE_EVERY_S = 3600.0


def backoff_delay(interval_s: float, consecutive_errors: int) -> float:
    """Wait after the n-th error in a row: the interval doubled per error, capped."""
    if consecutive_errors <= 0:
        return interval_s
    cap = max(interval_s, MAX_BACKOFF_S)
    return min(cap, interval_s * (2 ** min(consecutive_errors, 16)))


async def run(service: MeterService, stop: asyncio.Event) -> None:
    """Capture, upload and prune until ``stop`` is set; then release the camera."""
    upload_wake = asyncio.Event()
    service.upload_wake.bind(asyncio.get_running_loop(), upload_wake)
    tasks = [
        asyncio.create_task(_capture_loop(service, stop), name="meter-capture"),
        asyncio.create_task(_upload_loop(service, stop, upload_wake), name="meter-upload"),
        asyncio.create_task(_housekeeping_loop(service, stop), name="meter-housekeeping"),
    ]
    try:
        await stop.wait()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(service.close)


async def _capture_loop(service: MeterService, stop: asyncio.Event) -> None:
    health = service.health_log
    while not stop.is_set():
        try:
            await asyncio.to_thread(service.capture_once)
            health.consecutive_errors = 0
        except (CaptureError, StorageError) as exc:
            health.consecutive_errors += 1
            log.warning("reading failed: %s", exc)
        except Exception as exc:  # the loop must survive anything the reader throws
            health.consecutive_errors += 1
            health.note_error(
                f"reading failed: {exc or 'an unexpected error'} (see the agent's log)"
            )
            log.exception("reading failed")
        # the round's frames are garbage now: give their pages back for the rest
        release_free_memory()
        delay = backoff_delay(service.config.ocr.interval_s, health.consecutive_errors)
        # the latest frame serves previews and learning for a few seconds; then it goes too
        keep = min(delay, LEARN_FRAME_AGE_S)
        await _sleep_or_stop(stop, keep)
        if service.forget_stale_frame():
            release_free_memory()
        await _sleep_or_stop(stop, delay - keep)


async def _upload_loop(service: MeterService, stop: asyncio.Event, wake: asyncio.Event) -> None:
    if not service.config.upload.enabled:
        return
    import httpx  # here, not at the top: an agent that does not upload never loads it

    uploader = service.uploader
    failures = 0
    async with httpx.AsyncClient(timeout=service.config.upload.timeout_s) as client:
        while not stop.is_set():
            wake.clear()
            try:
                await uploader.flush(client)
            except Exception:  # never let the uploader stop the agent
                log.exception("upload round failed")
            failures = failures + 1 if uploader.status.pending else 0
            delay = backoff_delay(service.config.upload.interval_s, max(0, failures - 1))
            woken = asyncio.create_task(wake.wait())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({woken, stopper}, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()
            stopper.cancel()


async def _housekeeping_loop(service: MeterService, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(service.images.prune)
        except Exception:
            log.exception("image retention failed")
        await _sleep_or_stop(stop, PRUNE_EVERY_S)


async def _sleep_or_stop(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
