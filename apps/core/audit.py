"""The append-only audit trail. Every service writes its event inside its own transaction."""

from datetime import datetime
from typing import Any, Protocol

from django.contrib.auth.models import User

from apps.core.models import AuditEvent


class NamedActor(Protocol):
    """An actor that is not a person (an API token): it names itself in the audit trail."""

    @property
    def audit_label(self) -> str: ...


# Who acted: a person, something that names itself, or None for the pipeline's own moves.
Actor = User | NamedActor | None

SYSTEM = None  # the actor for the pipeline's own moves


def actor_label(actor: Actor) -> str:
    """A user's username; "system" for the pipeline; an API token names itself (audit_label)."""
    if actor is None:
        return "system"
    if isinstance(actor, User):
        return actor.get_username()
    return actor.audit_label


def _actor_user(actor: Actor) -> User | None:
    # Only a person is stored as the actor row; a token or the system is told by the label.
    return actor if isinstance(actor, User) else None


def record_event(
    *,
    actor: Actor,
    action: str,
    at: datetime,
    batch_id: int | None = None,
    message_id: int | None = None,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        created_at=at,
        actor=_actor_user(actor),
        actor_label=actor_label(actor),
        action=action,
        batch_id=batch_id,
        message_id=message_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )
