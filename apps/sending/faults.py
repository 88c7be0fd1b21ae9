"""Fault points for the fault tests: the sending process kills itself (SIGKILL, no clean-up)
at a named point, the way a crash or an OOM kill would stop it.

SENDING_FAULT_POINT="after_claim" kills at the first pass; "after_delivery:3" at the third.
The setting is empty unless DEBUG is on (config/settings.py), so production never has one.
"""

import os
import signal

from django.conf import settings

_passes: dict[str, int] = {}


def fault_point(name: str) -> None:
    configured = settings.SENDING_FAULT_POINT
    if not configured:
        return
    point, _, nth = configured.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
