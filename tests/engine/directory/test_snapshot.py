"""Configuration is read once per process and re-read only when the token row says it changed."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from api.extensions import db
from engine.calendar.days import DayKind, set_day
from engine.directory import snapshot
from engine.directory.agencies import create_agency
from engine.directory.users import User
from engine.notify.webhooks import add_endpoint
from engine.processes.registry import ProcessVersion
from tests.engine.cases.test_lifecycle import wib
from tests.engine.conftest import Desk


def _snapshot() -> snapshot.Snapshot:
    db.session.remove()
    return snapshot.current(db.session())


def test_an_unchanged_configuration_is_not_read_again(desk: Desk) -> None:
    first = _snapshot()
    assert _snapshot() is first


def test_every_kind_of_change_replaces_the_token_so_every_process_reloads(desk: Desk) -> None:
    seen = [_snapshot()]

    def change(apply: object) -> snapshot.Snapshot:
        session: Session = db.session()
        apply(session)  # type: ignore[operator]
        session.commit()
        found = _snapshot()
        assert found is not seen[-1] and found.token != seen[-1].token
        seen.append(found)
        return found

    day = date(2026, 12, 2)
    assert day in change(lambda s: set_day(s, day, DayKind.HOLIDAY, "Cuti daerah")).holidays
    assert "batam.dlh.uptd" in change(lambda s: create_agency(s, "batam.dlh.uptd", "UPTD", "batam.dlh")).agencies
    endpoint = change(lambda s: add_endpoint(s, "batam.dlh", "https://dlh.example/hook")).endpoints
    assert [agency for _id, agency in endpoint] == ["batam.dlh"]


def test_a_holiday_configured_elsewhere_moves_the_next_deadline(desk: Desk, clock: object) -> None:
    desk.submit()  # the snapshot is now cached: Mon + 3 working days → Thu 3 Dec
    assert desk.task("verify").due_at == wib(2026, 12, 3)
    session = desk._fresh()
    set_day(session, date(2026, 12, 2), DayKind.HOLIDAY, "Cuti daerah")  # as another process would
    session.commit()
    desk.submit()
    assert desk.task("verify").due_at == wib(2026, 12, 4)  # Wednesday is off now


def test_a_core_update_of_a_configuration_table_replaces_the_token(desk: Desk) -> None:
    before = _snapshot()
    session = db.session()
    session.execute(sa.update(ProcessVersion).where(ProcessVersion.key == "nothing").values(active=False))
    session.commit()
    assert _snapshot().token != before.token


def test_reporters_signing_up_leave_the_configuration_alone(desk: Desk) -> None:
    before = _snapshot()
    session = db.session()
    session.add(User(username="warga.baru", role="reporter", password_hash="x"))
    session.commit()
    assert _snapshot() is before


def test_a_staff_member_given_a_role_outside_the_staff_directory_leaves_it(desk: Desk) -> None:
    before = _snapshot()
    assert [s.username for s in before.staff_for("officer", "batam.dlh")] == ["dlh"]
    session = db.session()
    session.get_one(User, "dlh").role = "admin"
    session.commit()
    after = _snapshot()
    assert after.token != before.token
    assert "dlh" not in [s.username for s in after.staff_for("officer", "batam.dlh")]
