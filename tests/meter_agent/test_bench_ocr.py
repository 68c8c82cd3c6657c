"""bench.ocr's real-digits table on a few held-out crops (the bench itself is run by hand):
its last line adds up every row, the one figure models trained on one split compare by."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bench import ocr as B
from meter_agent.training.data import load_collection
from tests.meter_agent.read_support import shared_digits

ROW = re.compile(r"^(\S.*?)\s+(\d+) \|.*\|\s+([\d.]+) %\s+(\d+)\s+(\d+) \|")


def _few_held_out(tmp_path: Path, per_kind: int) -> Path:
    """The held-out model with its held-out list cut to a few crops of each kind and
    category (the same weights: only the bench's choice of crops changes)."""
    src = np.load(B.HELD_OUT_MODEL)
    info = json.loads(str(src["info"]))
    held = set(info["held_out_files"])
    picked: dict[tuple[str, str], list[str]] = {}
    for s in load_collection([shared_digits()]):
        if s.file in held and not s.blank:
            group = picked.setdefault((s.kind, s.category), [])
            if len(group) < per_kind:
                group.append(s.file)
    info["held_out_files"] = sorted(f for files in picked.values() for f in files)
    out = tmp_path / "few.npz"
    arrays = {k: src[k] for k in src.files if k != "info"}
    np.savez(out, info=np.array(json.dumps(info)), **arrays)
    return out


def test_the_last_row_adds_up_the_reader_over_every_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    B.real_digits(_few_held_out(tmp_path, 4), "a few unseen crops")
    rows = [m.groups() for line in capsys.readouterr().out.splitlines() if (m := ROW.match(line))]
    parts, total = rows[:-1], rows[-1]
    assert total[0] == "all held-out crops" and len(parts) >= 5
    n = sum(int(r[1]) for r in parts)
    right = sum(round(float(r[2]) * int(r[1]) / 100) for r in parts)
    assert (int(total[1]), int(total[3])) == (n, sum(int(r[3]) for r in parts))
    assert int(total[4]) == sum(int(r[4]) for r in parts)
    assert round(float(total[2]) * n / 100) == right
