"""The append-only audit trail. Every service writes its event inside its own transaction."""

from datetime import datetime
from typing import Any, Protocol

from django.contrib.auth.models import User
from django.db import models

from apps.core.models import AuditEvent


class NamedActor(Protocol):
    """An actor that is not a person (an API token): it names itself in the audit trail."""

    @property
    def audit_label(self) -> str: ...


# Who acted: a person, something that names itself, or None for the pipeline's own moves.
Actor = User | NamedActor | None
class AuditAction(models.TextChoices):
    """Every action the audit trail records, with the words a client reads in a batch's
    history beside it (the portal shows only batch-level events; the rest read the same way
    for staff)."""

    # Generation
    PROSPECTS_IMPORTED = "prospects_imported", "Prospects imported"
    PROSPECT_IMPORT_REFUSED = "prospect_import_refused", "Prospect import refused"
    BATCH_STARTED = "batch_started", "Batch started"
    BATCH_GENERATED = "batch_generated", "Messages written"
    BATCH_FAILED = "batch_failed", "Failed (our side): we are looking into it"
    # Review
    BATCH_ROUTED = "batch_routed", "Checked and routed"
    BATCH_CLAIMED = "batch_claimed", "Batch claimed"
    CLAIM_REASSIGNED = "claim_reassigned", "Claim reassigned"
    CLAIM_RELEASED = "claim_released", "Claim released"
    BATCH_APPROVED = "batch_approved", "Approved"
    BATCH_REJECTED = "batch_rejected", "Rejected"
    BATCH_RECALLED = "batch_recalled", "Batch recalled"
    BATCH_WITHDRAWN = "batch_withdrawn", "Withdrawn by you"
    BATCH_AT_RISK = "batch_at_risk", "Batch at risk"
    MESSAGE_EDITED = "message_edited", "Message edited"
    MESSAGE_EXCLUDED = "message_excluded", "Message excluded"
    FINDING_FIXED = "finding_fixed", "Finding fixed"
    # One reviewer action over every message a rule flagged (each message has its own event)
    FINDINGS_GROUP_ACTION = "findings_group_action", "Reviewer handled a group of findings"
    # Validation rules
    RULE_CHANGED = "rule_changed", "Rule changed"
    RULE_OVERRIDE_CHANGED = "rule_override_changed", "Rule override changed"
    RULE_OVERRIDE_REMOVED = "rule_override_removed", "Rule override removed"
    RULE_PROPOSED = "rule_proposed", "Rule change proposed"
    RULE_PROPOSAL_ACCEPTED = "rule_proposal_accepted", "Rule proposal accepted"
    RULE_PROPOSAL_DECLINED = "rule_proposal_declined", "Rule proposal declined"
    # Sending
    BATCH_SENDING = "batch_sending", "Sending started"
    BATCH_PAUSED = "batch_paused", "Batch paused"
    BATCH_SENT = "batch_sent", "Sending finished"
    BATCH_NEEDS_ATTENTION = "batch_needs_attention", "Sending finished; needs attention"
    MESSAGE_SEND_SKIPPED = "message_send_skipped", "Message send skipped"
    MESSAGE_DEFERRED = "message_deferred", "Message deferred"
    MESSAGE_FAILED = "message_failed", "Message failed"
    MESSAGE_UNKNOWN = "message_unknown", "Message unknown"
    MESSAGE_CLAIM_EXPIRED = "message_claim_expired", "Message claim expired"
    UNKNOWN_RESOLVED_SENT = "unknown_resolved_sent", "Unknown resolved sent"
    UNKNOWN_RESOLVED_RESEND = "unknown_resolved_resend", "Unknown resolved resend"
    RECIPIENT_UNSUBSCRIBED = "recipient_unsubscribed", "Recipient unsubscribed"
    # Deliverability: one per report kind (deliverability.models.EventKind), then its effect
    REPORT_HARD = "report_hard", "Report hard"
    REPORT_SOFT = "report_soft", "Report soft"
    REPORT_AUTO_REPLY = "report_auto_reply", "Report auto reply"
    REPORT_COMPLAINT = "report_complaint", "Report complaint"
    REPORT_DELIVERED = "report_delivered", "Report delivered"
    REPORT_UNKNOWN = "report_unknown", "Report unknown"
    ADDRESS_SUPPRESSED = "address_suppressed", "Address suppressed"
    # Access
    LOGIN_LOCKED_OUT = "login_locked_out", "Login locked out"
    API_TOKEN_ISSUED = "api_token_issued", "Api token issued"
    API_TOKEN_REVOKED = "api_token_revoked", "Api token revoked"
    # Client webhooks
    WEBHOOK_REGISTERED = "webhook_registered", "Webhook registered"
    WEBHOOK_SECRET_ROTATED = "webhook_secret_rotated", "Webhook secret rotated"
    WEBHOOK_REMOVED = "webhook_removed", "Webhook removed"


def action_words(action: str) -> str:
    """How an action reads in a batch's history; one no longer recorded still reads plainly."""
    if action in AuditAction.values:
        return AuditAction(action).label
    return action.replace("_", " ").capitalize()


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
    action: AuditAction,
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
