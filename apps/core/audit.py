"""The append-only audit trail. Every service writes its event inside its own transaction."""

from datetime import datetime
from typing import Any

from apps.core.models import AuditEvent

SYSTEM = None  # the actor for the pipeline's own moves


def actor_label(actor) -> str:
    return "system" if actor is None else actor.get_username()


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
        actor=actor,
        actor_label=actor_label(actor),
        action=action,
        batch_id=batch_id,
        message_id=message_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data or {},
    )
