"""`aduan bench …`: measurements of this installation on this machine, printed as tables.

Each subcommand lives in its own module and registers itself on the `bench` group.
"""

from __future__ import annotations

import click


@click.group("bench")
def bench() -> None:
    """Measure Aduan on this machine (figures, never pass/fail)."""


def load_subcommands() -> None:
    from bench import (
        all,  # noqa: F401  (registers `bench all`)
        driver_ab,  # noqa: F401  (registers `bench driver-ab`)
        engine_parts,  # noqa: F401  (registers `bench engine-parts`)
        engine_steps,  # noqa: F401  (registers `bench engine`)
        history,  # noqa: F401  (registers `bench history`)
        http,  # noqa: F401  (registers `bench http`)
        inbox,  # noqa: F401  (registers `bench inbox`)
        login_flood,  # noqa: F401  (registers `bench login-flood`)
        scale,  # noqa: F401  (registers `bench scale`)
        stats_queries,  # noqa: F401  (registers `bench stats`)
        storage,  # noqa: F401  (registers `bench storage`)
        timers,  # noqa: F401  (registers `bench timers`)
    )
