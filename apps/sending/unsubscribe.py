"""One-click unsubscribe (RFC 8058): a signed link per recipient and client, carried in the
List-Unsubscribe header; the endpoint adds the address to the client's suppression list.

The token is signed with SECRET_KEY (django.core.signing) and never expires: an unsubscribe
link must keep working as long as the mail that carries it can be read.
"""

from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from apps.core.addresses import address_key
from apps.core.audit import AuditAction, record_event
from apps.core.models import Client, Suppression

SALT = "outbound.unsubscribe"


def unsubscribe_token(*, client_id: int, email: str) -> str:
    return signing.dumps([client_id, address_key(email)], salt=SALT, compress=True)


def read_token(token: str) -> tuple[int, str] | None:
    """(client id, address) from a token, or None if it was not made by us."""
    try:
        client_id, email = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(client_id, int) or not isinstance(email, str):
        return None
    return client_id, email


def unsubscribe_url(*, client_id: int, email: str) -> str:
    return url_prefix() + unsubscribe_token(client_id=client_id, email=email)


def url_prefix() -> str:
    """The link up to its token (SITE_URL and the endpoint's path)."""
    return _url_prefix(settings.SITE_URL, settings.ROOT_URLCONF)


@lru_cache
def _url_prefix(base_url: str, urlconf: str) -> str:
    """The link up to the token, resolved once: reverse() on every message costs more than the
    rest of building its headers."""
    path = reverse("unsubscribe", args=["TOKEN"], urlconf=urlconf)
    return base_url.rstrip("/") + path.removesuffix("TOKEN")


def unsubscribe_headers(*, client_id: int, email: str) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(client_id=client_id, email=email)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def recipient_unsubscribe(*, client: Client, email: str) -> bool:
    """The recipient asked: suppress the address for this client at once. True if newly
    suppressed (asking twice is fine)."""
    email = address_key(email)
    now = timezone.now()
    try:
        with transaction.atomic():
            _, created = Suppression.objects.get_or_create(
                client=client, email=email, defaults={"reason": "unsubscribed (one-click link)"}
            )
            if created:
                record_event(
                    actor=None, action=AuditAction.RECIPIENT_UNSUBSCRIBED, at=now,
                    reason=f"{email} unsubscribed from {client.name}",
                    data={"client_id": client.pk, "email": email},
                )
    except IntegrityError:
        return False  # a simultaneous click created it first
    return created
