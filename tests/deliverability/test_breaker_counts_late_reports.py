"""The bounce breaker counts what comes back after a 250: each hard bounce once, each complaint
twice, per batch; a batch still sending is paused back into the holding queue once late
reports push it past the threshold."""

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent, Batch, BatchStatus, DeliveryAttempt, Message, SendStatus
from apps.deliverability.reading import read_report
from apps.deliverability.services import report_apply
from apps.sending.reputation import hard_failure_rate
from tests.deliverability.conftest import arf_complaint, delivered_to, sample, sent_batch

pytestmark = pytest.mark.django_db


def sending_batch(campaign, count: int) -> Batch:
    """A batch still sending whose first `count` messages the relay accepted (250)."""
    batch = sent_batch(campaign, count)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.SENDING, sent_at=None)
    now = timezone.now()
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(message=m, message_id_header=m.message_id_header, started_at=now,
                        finished_at=now, outcome=SendStatus.SENT, smtp_code=250)
        for m in Message.objects.filter(batch=batch)
    )
    return batch


def test_late_bounces_count_once_and_complaints_twice(acme_campaign):
    batch = sending_batch(acme_campaign, 10)
    first, second = Message.objects.filter(batch=batch).order_by("pk")[:2]
    assert hard_failure_rate(batch.pk) == (0, 10)

    report_apply(report=read_report(delivered_to(first, sample("postfix_01"))))
    assert hard_failure_rate(batch.pk) == (1, 10)
    report_apply(report=read_report(arf_complaint(second)))
    assert hard_failure_rate(batch.pk) == (3, 10)
    report_apply(report=read_report(delivered_to(second, sample("dsn_05"))))  # soft: not counted
    assert hard_failure_rate(batch.pk) == (3, 10)


def test_late_complaints_pause_a_batch_still_sending(acme_campaign, settings):
    settings.BOUNCE_BREAKER_MIN_ATTEMPTS, settings.BOUNCE_BREAKER_PERCENT = 10, 10
    batch = sending_batch(acme_campaign, 10)
    first = Message.objects.filter(batch=batch).order_by("pk").first()

    report_apply(report=read_report(arf_complaint(first)))  # 2 of 10: 20 % > 10 %

    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW
    paused = AuditEvent.objects.get(action="batch_paused", batch=batch)
    assert "complaints" in paused.reason and paused.data["hard_failures"] == 2


def test_below_the_threshold_the_batch_goes_on(acme_campaign, settings):
    settings.BOUNCE_BREAKER_MIN_ATTEMPTS, settings.BOUNCE_BREAKER_PERCENT = 10, 10
    batch = sending_batch(acme_campaign, 10)
    first = Message.objects.filter(batch=batch).order_by("pk").first()
    report_apply(report=read_report(delivered_to(first, sample("exim_01"))))  # 1 of 10: 10 %
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENDING
