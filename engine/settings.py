"""Engine settings: the few knobs commands need, passed in explicitly (no global app state)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """`timezone` for working-day deadlines; `default_jurisdiction` when a complaint names no agency."""

    timezone: str = "Asia/Jakarta"
    default_jurisdiction: str | None = None
    include_collective_leave: bool = True


DEFAULT_SETTINGS = Settings()
