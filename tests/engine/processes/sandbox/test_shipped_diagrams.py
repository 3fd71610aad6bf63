"""Every diagram that ships, and every fixture under tests/data, still deploys and runs in the sandbox."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine.processes import registry as processes
from tests.data import bundle_with, fixture
from tests.engine.conftest import VERIFIER, Desk


@pytest.mark.parametrize("folder", [None, "respond_3_days", "thank_reporter", "routing_puskesmas"])
def test_a_diagram_deploys_and_a_case_runs_through_verification(
    desk: Desk, session: Session, folder: str | None
) -> None:
    if folder == "routing_puskesmas":  # a decision deployed on its own
        processes.deploy_files(session, fixture(folder), "owner")
    elif folder is not None:
        assert processes.deploy_files(session, bundle_with(folder), "owner").created
    session.commit()
    desk.submit(category="kesehatan" if folder == "routing_puskesmas" else "kebersihan")
    assert desk.case.status == "submitted"
    desk.do(VERIFIER, "verify", decision="accept", agency="batam.dlh")
    assert desk.case.status == "dispositioned" and "respond" in desk.open_tasks()
