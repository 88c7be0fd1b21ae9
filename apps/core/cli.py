"""Reading what an operator typed on the command line: the checks every management command of
ours shares, so bad input ends with a CommandError naming the argument, never a traceback.

Arguments arrive as str: bytes that are not UTF-8 become lone surrogates (PEP 383), which
PostgreSQL cannot take (a DataError deep in a query); a NUL (possible only from call_command)
cuts a C string short. Both are refused here, by argument name.
"""

import re
from pathlib import Path
from typing import TYPE_CHECKING

from django.core.management.base import CommandError

if TYPE_CHECKING:
    from apps.core.models import Client

BIGINT_MAX = 2**63 - 1
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def text_argument(value: str, name: str, *, max_length: int | None = None) -> str:
    """`value` if it can be stored and shown; else CommandError naming `name`."""
    bad = _UNSTORABLE.search(value)
    if bad and bad.group() == "\x00":
        raise CommandError(f"{name}: the value contains a NUL character.")
    if bad:
        shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise CommandError(f"{name} {shown!r} is not valid UTF-8: check the terminal's encoding.")
    if max_length is not None and len(value) > max_length:
        raise CommandError(f"{name}: at most {max_length} characters (got {len(value)}).")
    return value


def client_argument(value: str, name: str = "client") -> "Client":
    """The client named by its exact name or its id; CommandError when there is none."""
    from apps.core.models import Client

    text_argument(value, name)
    found = Client.objects.filter(name=value).first()
    if found is None and re.fullmatch(r"[0-9]{1,19}", value) and int(value) <= BIGINT_MAX:
        found = Client.objects.filter(pk=int(value)).first()
    if found is None:
        raise CommandError(f"{name} {value!r}: no client with that name or id.")
    return found


def file_argument(path: str | Path, name: str = "file") -> bytes:
    """The bytes of the file at `path`; CommandError for a path that is missing, a directory,
    unreadable, or holds a NUL."""
    if "\x00" in str(path):
        raise CommandError(f"{name}: the path contains a NUL character.")
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from exc


def port_argument(port: int, name: str = "--port") -> int:
    if not 1 <= port <= 65535:
        raise CommandError(f"{name} {port}: a port is from 1 to 65535.")
    return port
