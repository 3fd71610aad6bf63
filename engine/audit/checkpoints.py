"""Chain heads kept outside the database: signed checkpoints of every case's audit chain.

`write_checkpoint` appends one line to `checkpoints.jsonl` in a directory the database cannot reach: the
head (last seq and hash) of every case's chain at that moment, the previous line's MAC, and an
HMAC-SHA256 over all of it with a key that is not in the database. `check_against` then compares the
database with every checkpoint: a superuser who rewrote events and recomputed the hashes leaves a chain
that verifies on its own but no longer reaches the signed head. A line whose MAC fails, or that does not
chain to the line before, is reported as a broken checkpoint file. The file is only ever appended to.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.audit.chain import Event
from engine.cases.case import Case
from engine.db import utcnow

FILENAME = "checkpoints.jsonl"
MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class Finding:
    """Something a checkpoint proves wrong: a case (or the file itself, `tracking_id` None) and why."""

    tracking_id: str | None
    reason: str


def _mac(key: bytes, record: dict[str, Any]) -> str:
    body = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the checkpoint key must have at least {MIN_KEY_BYTES} bytes")


def heads(session: Session, batch: int = 5000) -> Iterator[tuple[str, int, str]]:
    """(tracking id, last seq, last hash) of every case with events, in id order, `batch` rows per query."""
    after = 0
    while True:
        query = sa.select(Case.id, Case.tracking_id, Case.event_seq, Case.event_hash).where(Case.id > after)
        rows = session.execute(query.where(Case.event_seq > 0).order_by(Case.id).limit(batch)).all()
        if not rows:
            return
        yield from ((r.tracking_id, r.event_seq, r.event_hash) for r in rows)
        after = rows[-1].id


def read_checkpoints(directory: Path, key: bytes) -> tuple[list[dict[str, Any]], list[Finding]]:
    """The authentic lines of the checkpoint file, and a finding for each line that is not."""
    _check_key(key)
    path = directory / FILENAME
    if not path.exists():
        return [], [Finding(None, f"no {FILENAME} in {directory}")]
    records: list[dict[str, Any]] = []
    findings: list[Finding] = []
    prev = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            record = json.loads(line)
            mac = record.pop("mac")
        except (ValueError, KeyError, AttributeError):
            findings.append(Finding(None, f"{FILENAME} line {number}: not a checkpoint"))
            continue
        if not hmac.compare_digest(str(mac), _mac(key, record)):
            findings.append(Finding(None, f"{FILENAME} line {number}: signature does not match (wrong key or edited)"))
            continue
        if record.get("prev") != prev:
            findings.append(Finding(None, f"{FILENAME} line {number}: does not follow the line before (lines removed)"))
        records.append(record)
        prev = mac
    return records, findings


def write_checkpoint(session: Session, directory: Path, key: bytes, now: datetime | None = None) -> dict[str, Any]:
    """Append a signed checkpoint of every chain head to `directory`/checkpoints.jsonl; returns the record."""
    _check_key(key)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILENAME
    prev = ""
    if path.exists():
        lines = path.read_text(encoding="utf-8").splitlines()
        prev = json.loads(lines[-1]).get("mac", "") if lines else ""
    record: dict[str, Any] = {
        "at": (now or utcnow()).isoformat(),
        "prev": prev,
        "heads": [list(head) for head in heads(session)],
    }
    line = json.dumps({**record, "mac": _mac(key, record)}, ensure_ascii=False, separators=(",", ":"))
    with path.open("a", encoding="utf-8") as out:  # append only: earlier checkpoints are never rewritten
        out.write(line + "\n")
    return record


def check_against(session: Session, directory: Path, key: bytes) -> list[Finding]:
    """Every way the database disagrees with the checkpoints (and every bad checkpoint line); [] when none."""
    records, findings = read_checkpoints(directory, key)
    signed: dict[str, dict[int, tuple[str, str]]] = {}
    for record in records:
        for tracking_id, seq, head in record["heads"]:
            signed.setdefault(tracking_id, {})[int(seq)] = (head, record["at"])
    for tracking_id, by_seq in signed.items():
        findings.extend(_check_case(session, tracking_id, by_seq))
    return findings


def _check_case(session: Session, tracking_id: str, by_seq: dict[int, tuple[str, str]]) -> list[Finding]:
    case_id = session.scalar(sa.select(Case.id).where(Case.tracking_id == tracking_id))
    if case_id is None:
        return [Finding(tracking_id, "the case is gone, but a checkpoint holds its chain")]
    query = sa.select(Event.seq, Event.hash).where(Event.case_id == case_id, Event.seq.in_(list(by_seq)))
    stored: dict[int, str] = {seq: head for seq, head in session.execute(query)}
    findings = []
    for seq, (head, at) in sorted(by_seq.items()):
        if stored.get(seq) != head:
            what = "is missing" if seq not in stored else "differs from the head signed"
            findings.append(Finding(tracking_id, f"event seq {seq} {what} at {at}"))
    return findings
