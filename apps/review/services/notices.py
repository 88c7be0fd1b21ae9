"""SLA notices: operators hear about a batch at risk of missing its review target, once per
review round, before the breach."""

from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from apps.core.audit import AuditAction, record_event
from apps.core.models import BatchStatus
from apps.review.models import AtRiskNotice, ReviewRound, SlaTarget


def notify_at_risk(*, now: datetime | None = None) -> int:
    """E-mail the operators about each open round past its tier's at-risk point, once per
    round (the AtRiskNotice row is the once). Returns how many were notified. Safe to run
    from several workers: the unique row decides who sends."""
    now = now or timezone.now()
    targets = {t.tier: t for t in SlaTarget.objects.all()}
    rounds = ReviewRound.objects.filter(
        decided_at__isnull=True, at_risk_notice__isnull=True, batch__status=BatchStatus.IN_REVIEW
    ).select_related("batch__client", "batch__campaign")
    recipients = list(
        get_user_model().objects.filter(groups__name="operator", is_active=True)
        .exclude(email="").values_list("email", flat=True).distinct()
    )
    notified = 0
    for round_ in rounds:
        target = targets.get(round_.batch.client.tier)
        if target is None or now - round_.entered_at < target.at_risk_after:
            continue
        with transaction.atomic():
            _, created = AtRiskNotice.objects.get_or_create(round=round_, defaults={"sent_at": now})
            if not created:
                continue
            deadline = round_.entered_at + target.target
            record_event(
                actor=None, action=AuditAction.BATCH_AT_RISK, at=now, batch_id=round_.batch_id,
                reason=f"SLA deadline {deadline:%Y-%m-%d %H:%M} UTC", data={"round": round_.number},
            )
            if recipients:
                transaction.on_commit(_alert_mail(round_, deadline, recipients))
            notified += 1
    return notified


def _alert_mail(
    round_: ReviewRound, deadline: datetime, recipients: list[str]
) -> Callable[[], int]:
    batch = round_.batch
    subject = f"Batch {batch.pk} ({batch.client.name}) is at risk of missing its review SLA"
    body = render_to_string(
        "review/at_risk_email.txt",
        {"batch": batch, "round": round_, "deadline": deadline, "link": _review_link(batch.pk)},
    )
    return lambda: send_mail(subject, body, None, recipients)


def _review_link(batch_id: int) -> str:
    """The batch's review screen at SITE_URL (./run sets it to the address it serves)."""
    return settings.SITE_URL.rstrip("/") + reverse("admin:core_batch_change", args=[batch_id])
