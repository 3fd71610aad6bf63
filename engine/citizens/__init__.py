"""Citizens with an account: registration confirmed by e-mail, "Laporan saya", claiming a guest complaint.

Others may import: `register`, `verify_email`, `my_complaints`, `claim`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# The face is lazy (PEP 562): a name is imported on first use, so importing one module of this package
# never runs the others (their imports reach back into the engine and would otherwise form cycles).
if TYPE_CHECKING:
    from engine.citizens.accounts import claim, my_complaints, register, verify_email

_NAMES: dict[str, str] = {
    "claim": "engine.citizens.accounts",
    "my_complaints": "engine.citizens.accounts",
    "register": "engine.citizens.accounts",
    "verify_email": "engine.citizens.accounts",
}
_MODULES: dict[str, str] = {}


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        return getattr(import_module(_NAMES[name]), name)
    if name in _MODULES:
        return import_module(_MODULES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["claim", "my_complaints", "register", "verify_email"]
