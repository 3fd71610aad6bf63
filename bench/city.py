"""The synthetic city the benchmarks load cases into: a government, its desk, 12 dinas with two units each."""

from __future__ import annotations

from sqlalchemy.orm import Session

from engine.directory.agencies import Agency
from engine.processes import registry as processes


def agencies(root: str) -> tuple[str, list[str], list[str]]:
    """The desk, the dinas and their units under `root`."""
    dinas = [f"{root}.dinas-{n:02d}" for n in range(1, 13)]
    return f"{root}.desk", dinas, [f"{d}.unit-{n}" for d in dinas for n in (1, 2)]


def ensure_city(session: Session, root: str) -> None:
    """Create whatever of `root`'s city is missing, deploy the default process, commit."""
    desk, dinas, units = agencies(root)
    rows = [(root, None, False), (desk, root, True)] + [(d, root, False) for d in dinas]
    rows += [(u, u.rsplit(".", 1)[0], False) for u in units]
    for code, parent, is_desk in rows:
        if session.get(Agency, code) is None:
            session.add(Agency(code=code, name=code, parent_code=parent, desk=is_desk))
            session.flush()
    processes.deploy_defaults(session)
    session.commit()
