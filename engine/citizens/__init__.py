"""Citizens with an account: registration confirmed by e-mail, "Laporan saya", claiming a guest complaint.

Others may import: `register`, `verify_email`, `my_complaints`, `claim`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.faces import lazy

# A lazy face (engine.faces): importing one module of this package never runs the others.
if TYPE_CHECKING:
    from engine.citizens.accounts import claim, my_complaints, register, verify_email

_NAMES: dict[str, str] = {
    "claim": "engine.citizens.accounts",
    "my_complaints": "engine.citizens.accounts",
    "register": "engine.citizens.accounts",
    "verify_email": "engine.citizens.accounts",
}
_MODULES: dict[str, str] = {}


__getattr__ = lazy(__name__, _NAMES, _MODULES)


__all__ = ["claim", "my_complaints", "register", "verify_email"]
