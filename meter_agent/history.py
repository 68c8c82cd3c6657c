"""The agent's own record of every reading it made: accepted ones and rejected ones with reasons.

Why a JSON-lines file and not a database: one append per reading, fsync'd, is the
cheapest durable write an SD card can do, a torn last line after a power cut is
simply skipped on load, and the file stays readable with ``tail``. It is bounded:
once it holds more than ``max_records`` × 1.25 lines it is rewritten atomically
(temp file + fsync + rename) with the newest ``max_records``. The whole bounded
history is also kept in memory, so queries never touch the card: each record as its
JSON line plus the few fields the queries filter on, and turned back into a
:class:`HistoryRecord` only when asked for. As objects, a full history of 10000
records held about 35 MB of a resting agent's memory (``python -m bench.agent``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_serializer, field_validator

from meter_agent.files import append_line, write_atomically
from meter_agent.schema import MeterReading, MeterStatus, iso_z

if TYPE_CHECKING:
    from meter_agent.reader import ReadResult

log = logging.getLogger(__name__)


class HistoryRecord(BaseModel):
    """One reading as the agent keeps it and as ``GET /readings`` serves it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    timestamp: datetime
    accepted: bool
    reading_kwh: float | None = None
    digits: str | None = None
    confidence: float = 0.0
    method: str = "unknown"
    reason: str | None = None
    per_digit: list[tuple[str | None, float]] = []

    @field_validator("timestamp")
    @classmethod
    def _ms(cls, v: datetime) -> datetime:
        # kept to the millisecond, as on the wire, so ``since=<a served timestamp>`` is exact
        v = v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
        return v.replace(microsecond=v.microsecond // 1000 * 1000)

    @field_serializer("timestamp")
    def _ser_ts(self, v: datetime) -> str:
        return iso_z(v)

    def to_meter_reading(self) -> MeterReading:
        """The wire form posted to the hub (accepted records only)."""
        return MeterReading(
            reading_kwh=float(self.reading_kwh or 0.0),
            timestamp=self.timestamp,
            confidence=max(0.0, min(1.0, self.confidence)),
            method=self.method[:64],
            digits=self.digits if self.digits and self.digits.isdigit() else None,
            id=self.id,
        )

    def to_status(self, last_update: datetime | None) -> MeterStatus:
        return MeterStatus(**self.to_meter_reading().model_dump(), last_update=last_update)


def new_reading_id(ts: datetime) -> str:
    """A stable, unique, URL-safe id: the UTC time to the millisecond plus 4 random hex digits.

    The hub dedupes uploads by this id, so it is made once and stored with the reading.
    """
    stamp = ts.astimezone(UTC).strftime("%Y%m%dT%H%M%S.") + f"{ts.microsecond // 1000:03d}Z"
    return f"{stamp}-{secrets.token_hex(2)}"


def record_from_result(result: ReadResult, reading_id: str | None = None) -> HistoryRecord:
    """Turn a reader ``ReadResult`` into a record (only its documented attributes are used);
    its :class:`~meter_agent.checks.Rejection` becomes the history file's ``"code: text"``."""
    ts = result.ts if result.ts.tzinfo else result.ts.replace(tzinfo=UTC)
    accepted = bool(result.accepted) and result.reading_kwh is not None
    reason = None if result.reason is None else result.reason.to_wire()
    if bool(result.accepted) and result.reading_kwh is None:
        reason = reason or "no value"
    return HistoryRecord(
        id=reading_id or new_reading_id(ts),
        timestamp=ts,
        accepted=accepted,
        reading_kwh=result.reading_kwh if accepted else None,
        digits=result.digits,
        confidence=float(result.confidence or 0.0),
        method=str(result.method or "unknown"),
        reason=None if accepted else (reason or "rejected"),
        per_digit=[(d, float(c)) for d, c in (result.per_digit or [])],
    )


def reason_code(reason: str | None) -> str:
    """The code part of a kept record's ``"code: detail"`` reason: the history file holds
    reasons as text (older records, or ones written by hand, may have no code)."""
    return (reason or "rejected").split(":", 1)[0].strip() or "rejected"


def rewrite_lines(path: Path, lines: list[str]) -> None:
    """Replace ``path`` atomically with ``lines`` (temp file + fsync + rename)."""
    write_atomically(path, "".join(line + "\n" for line in lines).encode("utf-8"))


def repair_torn_tail(path: Path) -> bool:
    """Cut a last line that a power cut left without its newline, so the next append is clean.

    Returns True when something was cut. The torn bytes are never a committed record:
    a record counts as written only once its newline is on disk.
    """
    try:
        with open(path, "rb+") as fh:
            data = fh.read()
            if not data or data.endswith(b"\n"):
                return False
            keep = data.rfind(b"\n") + 1
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
    except FileNotFoundError:
        return False
    log.warning("%s ended in a torn line (%d bytes); cut off", path, len(data) - keep)
    return True


def read_json_lines(path: Path) -> list[dict]:
    """Every JSON object line in ``path``; a torn or corrupt line is skipped with a warning.

    A line that is a half line with a whole one glued onto it (what an append that failed
    half way left before :func:`meter_agent.files.append_line` cut such halves off) gives
    back the whole one: it was acknowledged once, so it is not thrown away with the half.
    """
    out: list[dict] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return out
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = _glued_object(line)
            if obj is None:
                log.warning("%s line %d is not valid JSON (torn write?); skipped", path, n)
                continue
            log.warning("%s line %d: a torn write's half was dropped, its line kept", path, n)
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _glued_object(line: str) -> dict | None:
    """The whole JSON object that ends ``line`` after a torn half, if there is one."""
    decoder = json.JSONDecoder()
    text = line.rstrip()
    start = text.find("{", 1)
    while start > 0:
        try:
            obj, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            obj, end = None, -1
        if end == len(text) and isinstance(obj, dict):
            return obj
        start = text.find("{", start + 1)
    return None


@dataclass(slots=True)
class _Row:
    """One kept record: what the queries filter on, and the record as its JSON line."""

    timestamp: datetime
    accepted: bool
    code: str | None  # a refused record's reason code, for the counts
    line: str

    @classmethod
    def of(cls, record: HistoryRecord, line: str | None = None) -> _Row:
        # interned: thousands of refused records share a handful of codes
        code = None if record.accepted else sys.intern(reason_code(record.reason))
        return cls(record.timestamp, record.accepted, code, line or record.model_dump_json())

    def record(self) -> HistoryRecord:
        return HistoryRecord.model_validate_json(self.line)


class History:
    """Accepted and rejected readings, persisted to ``<data_dir>/history.jsonl``."""

    FILE_NAME = "history.jsonl"

    def __init__(self, data_dir: str | Path, max_records: int = 10000) -> None:
        self.dir = Path(data_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / self.FILE_NAME
        self.max_records = max_records
        self._lock = threading.Lock()
        self._rows: list[_Row] = []
        # the two records asked for on every reading and every /meter, kept as objects
        self._last: HistoryRecord | None = None
        self._last_accepted: HistoryRecord | None = None
        self._lines_on_disk = 0
        self._load()

    def _load(self) -> None:
        repair_torn_tail(self.path)
        raw = read_json_lines(self.path)
        self._lines_on_disk = len(raw)
        for obj in raw:
            try:
                self._rows.append(_Row.of(HistoryRecord.model_validate(obj)))
            except ValidationError:
                log.warning("a history record in %s is malformed; skipped", self.path)
        del raw
        self._rows.sort(key=lambda r: r.timestamp)
        if len(self._rows) > self.max_records:
            self._rows = self._rows[-self.max_records :]
            try:
                self._compact()
            except OSError as exc:  # the file only stays longer than it needs to be
                log.warning("the history cannot be compacted now: %s", exc)
        self._refresh_last()

    def _refresh_last(self) -> None:
        self._last = self._rows[-1].record() if self._rows else None
        self._last_accepted = None
        for r in reversed(self._rows):
            if r.accepted:
                self._last_accepted = r.record()
                break

    def add(self, record: HistoryRecord) -> None:
        """Persist and remember one record. Once this returns the record's line is on the
        card (written and fsync'd, see :func:`meter_agent.files.append_line`); when it
        raises OSError the record is neither in the file nor in memory."""
        with self._lock:
            line = record.model_dump_json()
            append_line(self.path, line)
            self._lines_on_disk += 1
            row = _Row.of(record, line)
            self._rows.append(row)
            if len(self._rows) > 1 and self._rows[-2].timestamp > record.timestamp:
                self._rows.sort(key=lambda r: r.timestamp)
            if len(self._rows) > self.max_records:
                del self._rows[: len(self._rows) - self.max_records]
            if self._rows[-1] is row:
                self._last = record
                if record.accepted:
                    self._last_accepted = record
            else:  # an older record arrived late, or was pushed out at once
                self._refresh_last()
            if self._lines_on_disk > self.max_records * 1.25:
                try:
                    self._compact()
                except OSError as exc:  # the record is kept all the same; compact later
                    log.warning("the history cannot be compacted now: %s", exc)

    def _compact(self) -> None:
        rewrite_lines(self.path, [r.line for r in self._rows])
        self._lines_on_disk = len(self._rows)

    def last_accepted(self) -> HistoryRecord | None:
        with self._lock:
            return self._last_accepted

    def last(self) -> HistoryRecord | None:
        with self._lock:
            return self._last

    def query(
        self,
        since: datetime | None = None,
        limit: int = 100,
        include_rejected: bool = False,
    ) -> list[HistoryRecord]:
        """Records in time order.

        With ``since``: the first ``limit`` records later than it (page forward by
        passing the last timestamp you got). Without: the latest ``limit`` records.
        """
        with self._lock:
            rows = [r for r in self._rows if include_rejected or r.accepted]
        if since is not None:
            rows = [r for r in rows if r.timestamp > since][:limit]
        else:
            rows = rows[-limit:] if limit else []
        return [r.record() for r in rows]

    def counts(self) -> dict[str, Any]:
        """Accepted count and rejected counts by reason code, over the kept history.

        Reasons read ``"code: detail"`` (see :mod:`meter_agent.checks`); the code is counted
        so that "increase_too_large: 41 kWh in 2 min" and "… 43 kWh …" are one bucket.
        """
        with self._lock:
            acc = sum(1 for r in self._rows if r.accepted)
            rej = Counter(r.code for r in self._rows if not r.accepted)
        return {"accepted": acc, "rejected": dict(rej), "rejected_total": sum(rej.values())}

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)
