"""Run as `python -m tests.support.sweep_probe READY STOP OUT` (in its own process, with the
settings from the environment): a sweeper pass and a small write (as a worker or the web makes)
every 0.2 s until the file STOP exists; touches READY after the first round; writes what
happened to OUT as JSON: for each round its start and end (monotonic clock of the machine,
comparable across processes), and every failure."""

import json
import os
import sys
import time
from pathlib import Path


def main(ready: Path, stop: Path, out: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.core.audit import record_event
    from apps.pipeline.sweeper import sweep

    rounds, failures = [], []
    while not stop.exists():
        for name, action in (("sweep", sweep), ("write", None)):
            started = time.monotonic()
            try:
                if action is not None:
                    action()
                else:
                    with transaction.atomic():
                        # Not an action of the product: a write the probe times.
                        record_event(
                            actor=None, action="probe", at=timezone.now()  # type: ignore[arg-type]
                        )
            except Exception as exc:  # noqa: BLE001 (reported: the test asserts there are none)
                failures.append(f"{name}: {type(exc).__name__}: {exc}")
                connection.close()
            rounds.append((name, started, time.monotonic()))
        ready.touch()
        time.sleep(0.2)
    out.write_text(json.dumps({"rounds": rounds, "failures": failures}))


if __name__ == "__main__":
    main(*(Path(arg) for arg in sys.argv[1:4]))
