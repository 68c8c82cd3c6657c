"""Logging for the long-running agent: a size-rotated file plus stderr (which journald keeps).

The rotating file matters on a Pi without persistent journald: the log can never
grow past ``log_max_bytes × (log_backups + 1)``. The level comes from the caller
(``--log-level``, the ``LOG_LEVEL`` environment variable, or the config's ``logging.level``).
OpenCV's own messages follow it (:func:`quiet_opencv`).
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

from meter_agent.config import StorageConfig

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_meter_agent_handler"


def level_from(name: str | None, default: int = logging.INFO) -> int:
    """A logging level from a name like ``debug``; unknown names give ``default``."""
    if not name:
        return default
    value = logging.getLevelName(name.strip().upper())
    return value if isinstance(value, int) else default


def setup_logging(
    storage: StorageConfig,
    log_file: str | Path | None,
    level: str | None = None,
    *,
    stderr: bool = True,
) -> logging.handlers.RotatingFileHandler | None:
    """Install the agent's handlers on the root logger (replacing ones it installed before).

    ``log_file`` is the resolved path of ``storage.log_file`` (None or "" = no file).
    Returns the file handler, or None when the file cannot be opened (then a warning
    goes to stderr and the agent carries on: a read-only card must not stop it).
    """
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _MARK, False):
            root.removeHandler(h)
            h.close()
    root.setLevel(level_from(level))
    fmt = logging.Formatter(FORMAT)
    if stderr:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(fmt)
        setattr(sh, _MARK, True)
        root.addHandler(sh)
    if not log_file:
        return None
    path = Path(log_file)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(
            path, maxBytes=storage.log_max_bytes, backupCount=storage.log_backups, encoding="utf-8"
        )
    except OSError as exc:
        reason = (exc.strerror or type(exc).__name__).lower()
        if exc.filename and Path(exc.filename) != path:  # its folder is the problem
            reason = f"{exc.filename}: {reason}"
        logging.getLogger(__name__).warning(
            "log file %s cannot be written (%s); logging to stderr only.", path, reason
        )
        return None
    fh.setFormatter(fmt)
    setattr(fh, _MARK, True)
    root.addHandler(fh)
    # uvicorn's loggers propagate to root once their own handlers are removed by the caller
    return fh


def quiet_opencv(level: int) -> None:
    """OpenCV's own warnings only at ``debug``.

    OpenCV writes them straight to stderr, past the logging setup: a camera that cannot
    be opened gives two lines (``[ WARN:0@0.2] global cap_v4l.cpp:915 open
    VIDEOIO(V4L2:/dev/video0): can't open camera by index`` and one about libavdevice) at
    every capture, where the agent already logs one sentence saying what to check.
    """
    import cv2

    cv2.utils.logging.setLogLevel(
        cv2.utils.logging.LOG_LEVEL_WARNING
        if level <= logging.DEBUG
        else cv2.utils.logging.LOG_LEVEL_ERROR
    )
