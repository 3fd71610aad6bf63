"""Every engine and workers module imports on its own, in a fresh interpreter: no import cycles.

Package faces are lazy (PEP 562) for that reason; this test fails when an eager import closes a cycle that
only some import orders reach (the order an app, a worker or a script happens to use).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def modules() -> list[str]:
    found = []
    for package in ("engine", "workers"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def import_alone(module: str) -> str | None:
    run = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True)
    return None if run.returncode == 0 else f"{module}: {run.stderr.strip().splitlines()[-1]}"


def test_every_module_imports_on_its_own() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(import_alone, modules()) if f]
    assert not failures, "\n".join(failures)
