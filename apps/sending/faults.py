"""Fault points for the fault tests: the sending process kills itself (SIGKILL, no clean-up)
at a named point, the way a crash or an OOM kill would stop it.

SENDING_FAULT_POINT="after_claim" kills at the first pass; "after_delivery:3" at the third;
"after_outcome:3:raise" raises an exception there instead (a bug, not a crash).
The setting is empty unless DEBUG is on (config/settings.py), so production never has one.
"""

import os
import signal
import threading

from django.conf import settings

_passes: dict[str, int] = {}
_counting = threading.Lock()  # some points are passed by the SMTP pool's threads


def fault_point(name: str) -> None:
    configured = settings.SENDING_FAULT_POINT
    if not configured:
        return
    point, nth, how = (configured.split(":") + ["1", "kill"])[:3]
    if point != name:
        return
    with _counting:
        _passes[name] = passes = _passes.get(name, 0) + 1
    if passes != int(nth):
        return
    if how == "raise":
        raise FaultInjected(f"fault injected at {name} (pass {nth})")
    os.kill(os.getpid(), signal.SIGKILL)


class FaultInjected(RuntimeError):
    pass
