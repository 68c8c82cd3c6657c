"""What the user chose on screen and expects to find again: today, the theme.

Kept in ``<data dir>/tui.json`` rather than in the config file, which stays as the user
wrote it. A missing, unreadable or foreign file means "no choice yet" (a warning in the
log, never a crash); writes go through a temporary file and a rename, so a crash
mid-write leaves the old choice.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "tui.json"


@dataclass(frozen=True)
class Prefs:
    theme: str | None = None


def load(data_dir: Path) -> Prefs:
    path = data_dir / FILE_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Prefs()
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: it could not be read (%s)", path, exc)
        return Prefs()
    theme = raw.get("theme") if isinstance(raw, dict) else None
    return Prefs(theme=theme if isinstance(theme, str) and theme else None)


def save(data_dir: Path, prefs: Prefs) -> bool:
    """Write ``prefs``; False (and a log line) when the data dir is not writable."""
    path = data_dir / FILE_NAME
    tmp = path.with_suffix(".json.tmp")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(asdict(prefs), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not keep the screen preferences in %s (%s)", path, exc)
        return False
    return True
