"""The bounds every diagram evaluation runs within, and the process-wide values of the knobs.

Run time (inside the API or a worker): each evaluation may take `max_steps` traced lines and
`max_seconds` of wall-clock time; strings, lists and integers it builds stay below `max_size` items
(`max_int_bits` bits), and the process may not grow by more than `max_memory_growth` bytes while it
runs. Upload checks (validation, dry run) run in a child process that is killed after
`isolation_timeout` seconds and limited to `isolation_memory` bytes of address space.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class Limits:
    max_steps: int = 1_000_000
    max_seconds: float = 2.0
    max_size: int = 1_000_000
    max_int_bits: int = 65_536
    max_range: int = 100_000
    max_memory_growth: int = 256 * 1024 * 1024
    isolation_timeout: float = 10.0
    isolation_memory: int = 1024 * 1024 * 1024


_current = Limits()


def current() -> Limits:
    """The limits in force in this process."""
    return _current


def configure(**changes: Any) -> Limits:
    """Set some limits for this process (the app does so from its config at start); returns the new limits."""
    global _current
    _current = replace(_current, **{k: v for k, v in changes.items() if v is not None})
    return _current
