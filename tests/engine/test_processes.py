"""Deploying process versions: validated, stored once by content hash, parsed specs cached."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from engine import processes
from engine.errors import InvalidProcess


@pytest.fixture
def default_files() -> dict[str, str]:
    return processes.read_files(processes.DEFAULT_BPMN_DIR)


def test_the_default_diagrams_deploy_as_version_one(session: Session, default_files: dict[str, str]) -> None:
    version = processes.deploy(session, default_files, "owner")
    assert (version.key, version.version, version.active) == ("complaint", 1, True)
    assert set(version.source) == set(default_files)
    assert {"spec", "subprocess_specs"} <= set(version.spec)
    assert len(version.hash) == 64


def test_deploying_the_same_files_again_is_idempotent(session: Session, default_files: dict[str, str]) -> None:
    first = processes.deploy(session, default_files, "owner")
    again = processes.deploy(session, dict(reversed(list(default_files.items()))), "owner")
    assert again.id == first.id


def test_a_changed_file_is_the_next_version_and_the_only_active_one(
    session: Session, default_files: dict[str, str]
) -> None:
    first = processes.deploy(session, default_files, "owner")
    changed = {**default_files, "routing.dmn": default_files["routing.dmn"].replace("batam.dishub", "batam.dlh")}
    second = processes.deploy(session, changed, "owner")
    assert (second.version, second.active, first.active) == (2, True, False)
    assert processes.active_version(session, "complaint") is second


def test_a_stored_version_restores_without_parsing(session: Session, default_files: dict[str, str]) -> None:
    version = processes.deploy(session, default_files, "owner")
    parsed = processes.restore(version)
    assert parsed.spec.name == "complaint"
    assert {t.name for t in processes.user_tasks(parsed)} >= {"verify", "respond"}


def test_broken_xml_names_the_file_and_line(default_files: dict[str, str]) -> None:
    broken = {**default_files, "complaint.bpmn": default_files["complaint.bpmn"][:-40]}
    with pytest.raises(InvalidProcess) as error:
        processes.parse(broken)
    assert "complaint.bpmn" in error.value.errors
    assert "line" in error.value.errors["complaint.bpmn"][0]


def test_a_missing_form_schema_is_a_finding(default_files: dict[str, str]) -> None:
    missing = {k: v for k, v in default_files.items() if k != "respond.schema.json"}
    with pytest.raises(InvalidProcess) as error:
        processes.parse(missing)
    assert any("respond.schema.json" in m for m in error.value.errors["respond"])


def test_an_unknown_lane_is_a_finding(default_files: dict[str, str]) -> None:
    renamed = {
        **default_files,
        "complaint.bpmn": default_files["complaint.bpmn"].replace('name="officer"', 'name="clerk"'),
    }
    with pytest.raises(InvalidProcess) as error:
        processes.parse(renamed)
    assert any("clerk" in m for m in error.value.errors["respond"])


def test_an_invalid_form_schema_is_a_finding(default_files: dict[str, str]) -> None:
    bad = {**default_files, "verify.schema.json": '{"type": "object", "properties": {"x": {"type": 5}}}'}
    with pytest.raises(InvalidProcess) as error:
        processes.parse(bad)
    assert "verify.schema.json" in error.value.errors


def test_an_unsupported_file_is_refused(default_files: dict[str, str]) -> None:
    with pytest.raises(InvalidProcess) as error:
        processes.parse({**default_files, "notes.txt": "hello"})
    assert "notes.txt" in error.value.errors
