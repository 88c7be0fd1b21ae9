"""The append-only audit trail. Every service writes its event inside its own transaction."""

from datetime import datetime
from typing import Any

from apps.core.models import AuditEvent

SYSTEM = None  # the actor for the pipeline's own moves


def actor_label(actor) -> str:
    """A user's username; "system" for the pipeline; an API token names itself (audit_label)."""
    if actor is None:
        return "system"
    return getattr(actor, "audit_label", None) or actor.get_username()


def _actor_user(actor):
    # Only a person is stored as the actor row; a token or the system is told by the label.
    return None if actor is None or hasattr(actor, "audit_label") else actor


def record_event(
    *,
    actor,
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
