"""Writes of the client-facing side: API tokens (issued and revoked by operators)."""

import secrets

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.core.audit import AuditAction, record_event
from apps.core.errors import ServiceError
from apps.core.models import Client, ClientUser
from apps.portal.models import ApiToken, hash_token

TOKEN_PREFIX = "obr_"


def token_issue(
    *, client: Client, label: str, actor: User | None
) -> tuple[ApiToken, str]:
    """Returns the token row and the raw token, which is shown once and never stored."""
    label = (label or "").strip()
    if not label:
        raise ServiceError("Give the token a label (who or what will use it).")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            client=client, label=label, prefix=raw[:10], key_hash=hash_token(raw), created_by=actor
        )
        record_event(
            actor=actor, action=AuditAction.API_TOKEN_ISSUED, at=timezone.now(),
            reason=f"{client.name}: {token.prefix}… ({label})",
        )
    return token, raw


def token_revoke(*, token_id: int, actor: User) -> None:
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.get(pk=token_id)
        live = ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True)
        if live.update(revoked_at=now) != 1:
            return  # already revoked: revoking twice changes nothing
        record_event(
            actor=actor, action=AuditAction.API_TOKEN_REVOKED, at=now,
            reason=f"{token.client.name}: {token.prefix}… ({token.label})",
        )


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token for this raw value, or None (unknown and revoked alike)."""
    token = (
        ApiToken.objects.select_related("client")
        .filter(key_hash=hash_token(raw or ""), revoked_at__isnull=True)
        .first()
    )
    if token is not None:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def notifications_set(*, client_user: ClientUser, enabled: bool) -> None:
    """A client user's own opt-in or opt-out of notification e-mails."""
    ClientUser.objects.filter(pk=client_user.pk).update(notify_by_email=enabled)
