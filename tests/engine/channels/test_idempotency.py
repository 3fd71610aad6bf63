"""Idempotency keys: one reservation per (caller, key), the first result replayed, crashes taken over."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy.orm import Session

from engine.channels import idempotency
from engine.channels.idempotency import Replay, Reservation
from engine.db import utcnow
from engine.errors import Conflict, InvalidData


def test_the_first_use_reserves_and_a_retry_replays_the_stored_result(session: Session) -> None:
    reservation = idempotency.begin(session, "client:a", "k1", "print-1")
    assert reservation == Reservation("client:a", "k1")
    idempotency.finish(session, reservation, 200, {"done": True})
    assert idempotency.begin(session, "client:a", "k1", "print-1") == Replay(200, {"done": True})


def test_a_key_is_scoped_to_its_owner(session: Session) -> None:
    idempotency.finish(session, idempotency.begin(session, "client:a", "k1", "print-1"), 200, {})  # type: ignore[arg-type]
    assert isinstance(idempotency.begin(session, "client:b", "k1", "print-2"), Reservation)


def test_the_same_key_for_another_request_is_invalid(session: Session) -> None:
    idempotency.begin(session, "client:a", "k1", "print-1")
    with pytest.raises(InvalidData) as refused:
        idempotency.begin(session, "client:a", "k1", "print-2")
    assert "Idempotency-Key" in refused.value.errors


def test_a_retry_while_the_first_runs_is_a_conflict_until_the_reservation_is_stale(session: Session) -> None:
    idempotency.begin(session, "client:a", "k1", "print-1")
    with pytest.raises(Conflict):
        idempotency.begin(session, "client:a", "k1", "print-1")
    with time_machine.travel(utcnow() + idempotency.STALE_AFTER + timedelta(seconds=1)):
        assert isinstance(idempotency.begin(session, "client:a", "k1", "print-1"), Reservation)


def test_a_released_key_may_be_used_again(session: Session) -> None:
    idempotency.release(session, idempotency.begin(session, "client:a", "k1", "print-1"))  # type: ignore[arg-type]
    assert isinstance(idempotency.begin(session, "client:a", "k1", "print-2"), Reservation)


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_invalid(session: Session, key: str) -> None:
    with pytest.raises(InvalidData):
        idempotency.begin(session, "client:a", key, "print-1")
