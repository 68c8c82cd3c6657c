"""A full disk must not flood the log or stderr (issue 14, finding 7: 62,883 lines in 60 s)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from energytui.logdedupe import RepeatFilter

REPO = Path(__file__).resolve().parents[2]

FLOOD = """
import logging, sys
from energytui.config import load_config
from energytui.runtime import setup_logging
cfg = load_config(environ={}, overrides={"general": {"data_dir": sys.argv[1],
                                                      "log_file": "/dev/full"}})
setup_logging(cfg, to_stderr=True)
log = logging.getLogger("energytui.hub")
for i in range(5000):
    log.error("could not write the store: %s", f"no space left on device (append {i})")
print("done", flush=True)
"""


@pytest.mark.skipif(
    not os.path.exists("/dev/full"), reason="needs /dev/full (a disk that is always full)"
)
def test_a_full_log_disk_and_a_repeating_error_print_a_few_lines(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", FLOOD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "done"
    lines = proc.stderr.splitlines()
    assert "Traceback" not in proc.stderr
    # the error once (the other 4999 are counted, not printed) and one sentence about the log file
    assert len(lines) == 2, lines[:10]
    assert (
        "ERROR energytui.hub: could not write the store: no space left on device (append 0)"
        in lines
    )
    assert any(
        line.startswith("energytui: cannot write the log file /dev/full (No space left on device);")
        for line in lines
    )


def test_repeats_are_counted_and_told_with_the_next_one():
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatFilter(window_s=0.3))
    log = logging.getLogger("test.logdedupe")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        for i in range(1000):
            log.error("append failed: %s", i)
        log.warning("another kind")  # a different message passes
        log.error("%s: %s", "powerwall", "timed out")
        log.error("%s: %s", "meter", "timed out")  # same template, another source: passes
        time.sleep(0.35)
        log.error("append failed: %s", 1000)
    finally:
        log.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines[0] == "append failed: 0"
    assert lines[1:4] == ["another kind", "powerwall: timed out", "meter: timed out"]
    assert lines[4].startswith("append failed: 1000 (… repeated 999 more times in the last ")
    assert len(lines) == 5
