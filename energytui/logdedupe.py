"""Keep a repeating error from flooding the log, and a log that cannot be written quiet.

A full disk makes every store append fail, and each failure logs the same error:
tens of thousands of lines a minute, written (or not) to the same full disk, with
a traceback on stderr for every line the file handler could not write. Two parts:

* :class:`RepeatFilter` lets the first record of a kind (logger, level and message
  with its numbers masked: a count or a time may differ, a source's name may not) through, drops the same kind for
  ``window_s``, and then adds to the next one how many it dropped.
* :class:`QuietFileHandler` is a rotating file handler that, when its own file
  cannot be written, says so once on stderr in one sentence instead of printing a
  traceback per record (``logging.Handler.handleError``), and tries again later.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import re
import sys
import threading
import time
from collections.abc import Callable

WINDOW_S = 60.0


class RepeatFilter(logging.Filter):
    """Pass one record per kind (logger, level, message less its numbers) per window;
    count the rest."""

    def __init__(self, window_s: float = WINDOW_S, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}  # key -> [since, dropped]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        # one decision per record, however many handlers share this filter
        decided = getattr(record, "_energytui_repeat", None)
        if decided is not None:
            return bool(decided)
        keep = self._decide(record)
        record._energytui_repeat = keep
        return keep

    def _decide(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, _kind(record))
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.window_s:
                seen[1] += 1
                return False
            dropped = int(seen[1]) if seen is not None else 0
            self._seen[key] = [now, 0]
            if len(self._seen) > 1000:  # forget the oldest kinds: the filter stays small
                for old in sorted(self._seen, key=lambda k: self._seen[k][0])[:500]:
                    del self._seen[old]
        if dropped:
            record.msg = f"{record.msg} (… repeated {dropped} more times in the last %.0f s)"
            record.args = (*_as_tuple(record.args), now - float(seen[0]))  # type: ignore[index]
        return True

    def pending(self) -> dict[tuple[str, int, str], int]:
        """Kinds with records dropped since they last passed (for tests and shutdown)."""
        with self._lock:
            return {k: int(v[1]) for k, v in self._seen.items() if v[1]}


_NUMBER = re.compile(r"\d+")


def _kind(record: logging.LogRecord) -> str:
    """The message with every number masked: "append 17 failed" and "append 18 failed"
    are one kind, while the same template about two different sources are two."""
    try:
        text = record.getMessage()
    except (TypeError, ValueError):
        text = str(record.msg)
    return _NUMBER.sub("#", text)


def _as_tuple(args: object) -> tuple:
    if args is None:
        return ()
    if isinstance(args, tuple):
        return args
    return (args,)


class QuietFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file that fails in one sentence, not a traceback per record."""

    RETRY_S = 30.0

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._failed_at: float | None = None
        self._errored = False
        self.failures = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self._failed_at is not None and time.monotonic() - self._failed_at < self.RETRY_S:
            self.failures += 1
            return
        self._errored = False
        super().emit(record)
        if not self._errored:
            self._failed_at = None  # written: a later failure is worth a sentence again

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self.failures += 1
        self._errored = True
        first = self._failed_at is None
        self._failed_at = time.monotonic()
        if first:
            exc = sys.exc_info()[1]
            why = getattr(exc, "strerror", None) or exc or "unknown error"
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.write(
                    f"energytui: cannot write the log file {self.baseFilename} ({why});"
                    f" log lines are dropped and it is tried again every {self.RETRY_S:.0f} s.\n"
                )
        # a closed stream after a failed write: reopen on the next try
        if self.stream is not None:
            with contextlib.suppress(OSError, ValueError):
                self.stream.close()
            self.stream = None
