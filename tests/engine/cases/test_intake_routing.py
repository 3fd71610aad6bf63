"""Intake routing: which desk receives a complaint, and who may read it before a verifier disposes it."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.cases import lifecycle, visibility
from engine.directory import agencies as directory
from engine.directory import categories
from engine.errors import InvalidData, NotFound
from engine.settings import Settings
from tests.engine.conftest import DLH, VERIFIER, Desk


@pytest.fixture
def two_jurisdictions(session: Session, demo_directory: None) -> None:
    """A second government whose desk sorts after Batam's, with a category routed to one of its agencies."""
    directory.create_agency(session, "tanjungpinang", "Pemerintah Kota Tanjungpinang")
    directory.create_agency(session, "tanjungpinang.kominfo", "Diskominfo Tanjungpinang", "tanjungpinang", True)
    directory.create_agency(session, "tanjungpinang.pupr", "Dinas PUPR", "tanjungpinang")
    categories.create_category(session, "jalan", "Jalan rusak", "tanjungpinang.pupr")
    session.commit()


def test_a_complaint_naming_no_agency_goes_to_the_desk_of_its_categorys_agency(
    desk: Desk, two_jurisdictions: None
) -> None:
    outcome = desk.submit(category="jalan")
    assert outcome.case.desk == "tanjungpinang.kominfo"


def test_the_default_jurisdiction_decides_when_neither_agency_nor_category_does(
    session: Session, two_jurisdictions: None
) -> None:
    sub = lifecycle.Submission(title="Lampu jalan mati", body="Sudah seminggu.", category="lainnya")
    outcome = lifecycle.start_case(session, sub, settings=Settings(default_jurisdiction="tanjungpinang"))
    assert outcome.case.desk == "tanjungpinang.kominfo"


def test_with_several_desks_and_nothing_to_choose_by_the_complaint_is_refused(
    session: Session, two_jurisdictions: None
) -> None:
    sub = lifecycle.Submission(title="Lampu jalan mati", body="Sudah seminggu.")
    with pytest.raises(InvalidData) as refused:
        lifecycle.start_case(session, sub)
    assert "agency" in refused.value.errors


def test_with_one_desk_a_complaint_naming_nothing_goes_to_it(desk: Desk) -> None:
    assert desk.submit().case.desk == "batam.diskominfo"


def test_the_agency_a_reporter_names_is_only_a_proposal_until_a_verifier_disposes(desk: Desk, session: Session) -> None:
    desk.submit(agency="batam.dlh")
    assert desk.case.agency is None
    with pytest.raises(NotFound):
        visibility.get_for(desk._fresh(), DLH, desk.tracking_id)
    assert visibility.get_for(desk._fresh(), VERIFIER, desk.tracking_id)[1] == visibility.Audience.DESK

    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    assert desk.case.agency == "batam.dlh"
    assert visibility.get_for(desk._fresh(), DLH, desk.tracking_id)[1] == visibility.Audience.AGENCY
