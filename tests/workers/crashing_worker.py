"""A worker that stops dead in the middle of a timer job: after the firing is saved, before it commits.

Run as `python -m tests.workers.crashing_worker worker --burst …` with ADUAN_TEST_HANG_FILE set: the first
timer job writes that file and then sleeps, holding its open transaction, until the test SIGKILLs it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from engine.cases import lifecycle

_original_save = lifecycle._save


def _save_then_hang(*args: Any, **kwargs: Any) -> Any:
    outcome = _original_save(*args, **kwargs)
    if args[3] == "timer_fired":  # _save(session, run, actor, event_type, …)
        args[0].flush()  # the firing's rows are written, inside the still-open transaction
        Path(os.environ["ADUAN_TEST_HANG_FILE"]).write_text(str(os.getpid()))
        time.sleep(600)
    return outcome


if __name__ == "__main__":
    lifecycle._save = _save_then_hang  # type: ignore[assignment]
    from api.cli import main

    sys.exit(main())
