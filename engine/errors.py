"""Errors the engine raises; the API maps each to one HTTP status."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class EngineError(Exception):
    """Base of every error a caller of the engine may handle."""

    def __init__(self, message: str, errors: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: dict[str, Any] = dict(errors or {})

    def __str__(self) -> str:
        return f"{self.message}: {self.errors}" if self.errors else self.message


class NotFound(EngineError):
    """The thing does not exist or is not visible to the caller (HTTP 404)."""


class Unauthenticated(EngineError):
    """The caller could not be authenticated: a bad or missing signature (HTTP 401)."""


class Forbidden(EngineError):
    """The caller is known but may not do this (HTTP 403)."""


class Conflict(EngineError):
    """The command lost a race or the case is not in a state that accepts it (HTTP 409)."""


class InvalidData(EngineError):
    """The command's data is invalid; `errors` maps each field to its messages (HTTP 422)."""


class Throttled(EngineError):
    """Too many attempts, or too many at once: try again after `retry_after` seconds (HTTP 429)."""

    def __init__(self, message: str, retry_after: int, locked_until: Any = None) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
        self.locked_until = locked_until


class InvalidProcess(EngineError):
    """A process definition failed validation; `errors` lists every finding (HTTP 422)."""
