"""The VERP return path: each message's envelope sender names the message, signed.

`bounces+<message id>-<signature>@<BOUNCE_DOMAIN>`: a bounce comes back to that address (the
envelope sender), so every bounce maps to its message even when its body is unreadable. The
signature (an HMAC of the id under a key derived from SECRET_KEY) means a forged bounce cannot
name a message it was not sent for, and so cannot suppress a client's prospect or resolve an
unknown send. Lower-case base32, because some relays lower-case the local part.
"""

import base64
import hashlib
import hmac
import re
from functools import lru_cache

from django.conf import settings

SIGNATURE_CHARS = 16  # base32 of 10 bytes: 80 bits


class ForgedReturnPath(ValueError):
    """The address has the return path's shape, but its signature is not ours."""


@lru_cache(maxsize=4)
def _key(secret_key: str) -> bytes:
    return hashlib.sha256(b"outbound.verp:" + secret_key.encode()).digest()


def _signature(message_id: int) -> str:
    digest = hmac.new(_key(settings.SECRET_KEY), str(message_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode().lower()


def enabled() -> bool:
    return bool(settings.BOUNCE_DOMAIN)


def return_path(message_id: int) -> str:
    """The envelope sender of message `message_id` (BOUNCE_DOMAIN must be set)."""
    return (f"{settings.BOUNCE_LOCAL_PART}+{message_id}-{_signature(message_id)}"
            f"@{settings.BOUNCE_DOMAIN}")


@lru_cache(maxsize=4)
def _pattern(local_part: str, domain: str) -> re.Pattern:
    return re.compile(
        rf"<?\s*{re.escape(local_part)}\+(\d{{1,19}})-([a-z2-7]{{{SIGNATURE_CHARS}}})"
        rf"@{re.escape(domain)}\s*>?", re.IGNORECASE,
    )


def message_for(address: str) -> int | None:
    """The message an address names; None if it is not a return path of ours at all.
    Raises ForgedReturnPath if it has the shape but not our signature."""
    if not enabled():
        return None
    match = _pattern(settings.BOUNCE_LOCAL_PART, settings.BOUNCE_DOMAIN).fullmatch(address.strip())
    if match is None:
        return None
    message_id, signature = int(match[1]), match[2].lower()
    if not hmac.compare_digest(signature, _signature(message_id)):
        raise ForgedReturnPath(f"{address!r} is not a return path this installation signed")
    return message_id
