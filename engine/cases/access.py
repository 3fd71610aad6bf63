"""Who is acting: roles, the actor of a command, and which tasks an actor may do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.directory.agencies import in_subtree


class Role(StrEnum):
    """The roles of design.md; lanes of a diagram are named after the staff roles."""

    REPORTER = "reporter"
    VERIFIER = "verifier"
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    PROCESS_OWNER = "process_owner"
    AUDITOR = "auditor"
    ADMIN = "admin"


LANE_ROLES = frozenset({Role.REPORTER, Role.VERIFIER, Role.OFFICER, Role.SUPERVISOR})


@dataclass(frozen=True)
class Actor:
    """The author of a command, as recorded in the audit trail."""

    username: str
    role: str
    agency: str | None = None

    def may_do(self, task_role: str, task_agency: str | None) -> bool:
        """Staff do the tasks of their own role whose agency lies in their agency's subtree."""
        return self.role == task_role and self.agency is not None and in_subtree(task_agency, self.agency)


SYSTEM = Actor(username="system", role="system")
