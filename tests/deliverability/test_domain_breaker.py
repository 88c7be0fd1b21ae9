"""The bounce breaker per sending domain over a sliding window (issue 14, item 4): of the
messages a domain sent in the last BOUNCE_BREAKER_WINDOW_SECONDS, the share that came back as
hard bounces or complaints (twice); past the threshold every batch sending from the domain is
paused back into the holding queue, and a batch about to start from it does not start."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import AuditEvent, Batch, BatchStatus, DeliveryAttempt, Message
from apps.deliverability.reading import read_report
from apps.deliverability.services import report_apply
from apps.sending.reputation import domain_failure_rate
from apps.sending.services import batch_send
from tests.conftest import make_campaign
from tests.deliverability.conftest import arf_complaint, delivered_to, sample, sent_batch
from tests.sending.conftest import approved_batch

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def thresholds(settings):
    # Each batch alone stays under the batch breaker's minimum; the domain's sends reach it.
    settings.BOUNCE_BREAKER_MIN_ATTEMPTS, settings.BOUNCE_BREAKER_PERCENT = 10, 10
    settings.BOUNCE_BREAKER_WINDOW_SECONDS = 3600


def sending(campaign, count: int, *, start: int) -> Batch:
    batch = sent_batch(campaign, count, start=start)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.SENDING, sent_at=None)
    return batch


def first(batch: Batch) -> Message:
    return Message.objects.filter(batch=batch).earliest("pk")


def status(batch: Batch) -> str:
    return Batch.objects.get(pk=batch.pk).status


def test_a_domain_past_the_threshold_pauses_each_of_its_sending_batches(acme_client):
    campaign = make_campaign(acme_client, sender_email="sam@mail.acme.test")
    other = make_campaign(acme_client, name="Other", sender_email="sam@news.acme.test")
    one, two = sending(campaign, 6, start=0), sending(campaign, 6, start=10)
    elsewhere = sending(other, 6, start=20)

    report_apply(report=read_report(arf_complaint(first(one))))  # 2 of 12: 16.7 % > 10 %

    assert domain_failure_rate("mail.acme.test") == (2, 12)
    assert (status(one), status(two), status(elsewhere)) == (
        BatchStatus.IN_REVIEW, BatchStatus.IN_REVIEW, BatchStatus.SENDING)
    paused = AuditEvent.objects.get(action="batch_paused", batch=two)
    assert "mail.acme.test" in paused.reason and paused.data["sent_in_window"] == 12


def test_hard_bounces_count_once_soft_ones_not_at_all(acme_client):
    campaign = make_campaign(acme_client, sender_email="sam@mail.acme.test")
    batch = sending(campaign, 20, start=0)
    messages = list(Message.objects.filter(batch=batch).order_by("pk"))

    report_apply(report=read_report(delivered_to(messages[0], sample("postfix_01"))))  # hard
    report_apply(report=read_report(delivered_to(messages[1], sample("dsn_05"))))  # soft

    assert domain_failure_rate("mail.acme.test") == (1, 20)
    assert status(batch) == BatchStatus.SENDING  # 5 %: under the threshold


def test_sends_older_than_the_window_do_not_count(acme_client):
    campaign = make_campaign(acme_client, sender_email="sam@mail.acme.test")
    old = sent_batch(campaign, 12, start=0)
    long_ago = timezone.now() - timedelta(hours=2)
    Message.objects.filter(batch=old).update(sent_at=long_ago)
    Batch.objects.filter(pk=old.pk).update(sent_at=long_ago)
    report_apply(report=read_report(arf_complaint(first(old))))
    batch = sending(campaign, 12, start=20)

    report_apply(report=read_report(delivered_to(first(batch), sample("postfix_01"))))

    assert domain_failure_rate("mail.acme.test") == (1, 12)  # the old batch's sends are out
    assert status(batch) == BatchStatus.SENDING


def test_a_batch_of_a_tripped_domain_does_not_start(acme_client):
    campaign = make_campaign(acme_client, sender_email="sam@mail.acme.test")
    burned = sent_batch(campaign, 12, start=0)
    report_apply(report=read_report(arf_complaint(first(burned))))
    waiting = approved_batch(campaign, 3, start=50)

    batch_send(batch_id=waiting.pk)

    assert status(waiting) == BatchStatus.IN_REVIEW
    assert not DeliveryAttempt.objects.filter(message__batch=waiting).exists()
    assert AuditEvent.objects.filter(action="batch_paused", batch=waiting).exists()
