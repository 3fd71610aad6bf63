"""Incidents: what the engine could not carry on, visible until the case moves on (see `records`).

Others may import: `Incident` (the row), `EvaluationFailed` (a Conflict naming element and reason),
`Where`, `recorded` (wrap a command), `resolve_case`, `resolve_intake` (`resolving_case`,
`resolving_intake`: the same as statements to batch with a command's writes), `listing`, `open_count`.
"""

from engine.processes.incidents.records import (
    EvaluationFailed,
    Incident,
    Where,
    listing,
    open_count,
    recorded,
    resolve_case,
    resolve_intake,
    resolving_case,
    resolving_intake,
)

__all__ = [
    "EvaluationFailed",
    "Incident",
    "Where",
    "listing",
    "open_count",
    "recorded",
    "resolve_case",
    "resolve_intake",
    "resolving_case",
    "resolving_intake",
]
