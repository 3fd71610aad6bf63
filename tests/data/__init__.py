"""Process fixtures: the shipped lifecycle files with a fixture folder's files laid over them (see README.md)."""

from __future__ import annotations

from pathlib import Path

from engine.processes import registry as processes

DATA = Path(__file__).resolve().parent


def shipped_bundle() -> dict[str, str]:
    """The shipped lifecycle version's files (without the decisions deployed on their own)."""
    shared = processes.shared_files(processes.DEFAULT_BPMN_DIR)
    return {n: t for n, t in processes.read_files(processes.DEFAULT_BPMN_DIR).items() if n not in shared}


def fixture(folder: str) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted((DATA / folder).iterdir())}


def bundle_with(folder: str) -> dict[str, str]:
    """The shipped lifecycle with the files of `folder` instead of the shipped ones of the same name."""
    return {**shipped_bundle(), **fixture(folder)}
