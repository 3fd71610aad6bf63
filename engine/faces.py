"""Lazy package faces (PEP 562): a sub-package names what others may import without importing it all.

Importing one module of a package runs the package's `__init__` first; a face that imported every module
eagerly would let any of them reach back into the engine and close an import cycle. `lazy` makes the face's
module-level `__getattr__`: a name is imported on first use, from the module that defines it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy(package: str, names: Mapping[str, str], modules: Mapping[str, str]) -> Callable[[str], Any]:
    """`__getattr__` for `package`: `names` maps an exported name to its module, `modules` a submodule's name
    to its full path."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(import_module(names[name]), name)
        if name in modules:
            return import_module(modules[name])
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
