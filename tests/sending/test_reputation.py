"""The sender's reputation: a per-domain rate limit held across two workers (counted per
"minute" at the SMTP server, the minute shortened for the test), a daily cap, per-client send
windows, and the bounce breaker that pauses a batch and sends it back to the holding queue."""

from datetime import time as clock
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.models import AuditEvent, Batch, BatchStatus, Finding, SendStatus
from apps.sending.models import DomainRateLimit, SendWindow
from apps.sending.reputation import window_open
from apps.sending.services import batch_send
from tests.sending.conftest import approved_batch, statuses
from tests.sending.workers import enqueue_send, finish, start_worker

MINUTE = 2  # seconds: the rate limit's "minute" in these tests


@pytest.mark.django_db(transaction=True)
def test_rate_limit_holds_across_two_workers(pipeline, acme_campaign):
    DomainRateLimit.objects.create(domain="outbound.test", per_minute=4)
    batch = approved_batch(acme_campaign, 14)
    enqueue_send(batch.pk)
    enqueue_send(batch.pk, job_id=f"send_batch-{batch.pk}-copy")

    workers = [start_worker(SEND_RATE_MINUTE_SECONDS=str(MINUTE), SEND_CLAIM_CHUNK="2")
               for _ in range(2)]
    for worker in workers:
        finish(worker, timeout=90)

    assert statuses(batch) == {SendStatus.SENT: 14}
    # In any "minute" at the server, at most 4 (less a quarter second for the time between
    # taking a slot and the server storing the message).
    arrivals = sorted(m.received_at for m in pipeline.messages)
    busiest = max(sum(1 for t in arrivals if start <= t < start + MINUTE - 0.25)
                  for start in arrivals)
    assert busiest <= 4, arrivals
    assert arrivals[-1] - arrivals[0] >= 2 * MINUTE  # 14 at 4 a minute: at least 3 minutes
    assert len({m.peer for m in pipeline.messages}) == 2  # both workers sent
    assert pipeline.duplicates() == {}


@pytest.mark.django_db(transaction=True)
def test_daily_cap_stops_the_batch_until_tomorrow(postgres_only, redis_queues, smtp_server,
                                                  acme_campaign):
    DomainRateLimit.objects.create(domain="outbound.test", per_day=3)
    batch = approved_batch(acme_campaign, 5)

    batch_send(batch_id=batch.pk)

    assert statuses(batch) == {SendStatus.SENT: 3, SendStatus.QUEUED: 2}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENDING  # the sweeper returns
    batch_send(batch_id=batch.pk)
    assert len(smtp_server.messages) == 3


@pytest.mark.django_db
def test_outside_the_send_window_nothing_goes_out(smtp_server, three_approved):
    now = timezone.now()
    closed_hour = (now - timedelta(hours=3)).time().replace(minute=0, second=0, microsecond=0)
    SendWindow.objects.create(client=three_approved.client, days="mon,tue,wed,thu,fri,sat,sun",
                              start=closed_hour, end=clock(closed_hour.hour, 30),
                              time_zone="UTC")
    if window_open(three_approved.client_id, now):
        pytest.skip("the window wrapped around midnight")

    batch_send(batch_id=three_approved.pk)

    assert smtp_server.messages == []
    assert statuses(three_approved) == {SendStatus.QUEUED: 3}

    SendWindow.objects.filter(client=three_approved.client).update(
        start=clock(0), end=clock(23, 59, 59)
    )
    batch_send(batch_id=three_approved.pk)
    assert statuses(three_approved) == {SendStatus.SENT: 3}


@pytest.mark.django_db
def test_send_window_uses_the_clients_time_zone_and_days(acme_client):
    SendWindow.objects.create(client=acme_client, days="mon,tue,wed,thu,fri",
                              start=clock(9), end=clock(17), time_zone="America/New_York")
    from datetime import UTC, datetime

    monday_10_new_york = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    monday_8_new_york = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
    saturday_10_new_york = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    assert window_open(acme_client.pk, monday_10_new_york)
    assert not window_open(acme_client.pk, monday_8_new_york)
    assert not window_open(acme_client.pk, saturday_10_new_york)


@pytest.mark.django_db
def test_a_bad_window_is_refused_clearly(acme_client):
    window = SendWindow(client=acme_client, days="mon,funday", start=clock(17), end=clock(9),
                        time_zone="Mars/Olympus")
    with pytest.raises(ValidationError) as error:
        window.full_clean()
    assert set(error.value.message_dict) == {"days", "end", "time_zone"}


@pytest.mark.django_db
def test_bounce_breaker_pauses_at_its_threshold(smtp_server, acme_campaign, settings):
    settings.BOUNCE_BREAKER_MIN_ATTEMPTS, settings.BOUNCE_BREAKER_PERCENT = 10, 20
    # One connection: the tenth verdict stops it exactly (with several, each connection may
    # finish the message it had begun).
    settings.SEND_SMTP_CONNECTIONS = 1
    batch = approved_batch(acme_campaign, 30)
    smtp_server.fail("550", times=3)  # the first three hard-bounce: 3 of 10 is past 20 %

    batch_send(batch_id=batch.pk)

    paused = Batch.objects.get(pk=batch.pk)
    assert paused.status == BatchStatus.IN_REVIEW and paused.entered_review_at is not None
    assert len(smtp_server.messages) == 7  # stopped at the tenth attempt
    assert statuses(batch) == {SendStatus.FAILED: 3, SendStatus.SENT: 7, SendStatus.QUEUED: 20}
    event = AuditEvent.objects.get(batch=batch, action="batch_paused")
    assert "3 of 10" in event.reason and "20 %" in event.reason
    findings = Finding.objects.filter(message__batch=batch, rule_code="bounce_breaker")
    assert findings.count() == 3 and all("550" in f.explanation for f in findings)
    assert all(f.batch_id == batch.pk for f in findings)  # the per-batch aggregates read it
    batch_send(batch_id=batch.pk)  # a retried job sends nothing more
    assert len(smtp_server.messages) == 7


@pytest.mark.django_db
def test_bounce_breaker_waits_for_enough_attempts(smtp_server, acme_campaign, settings):
    settings.BOUNCE_BREAKER_MIN_ATTEMPTS, settings.BOUNCE_BREAKER_PERCENT = 50, 2
    batch = approved_batch(acme_campaign, 20)
    smtp_server.fail("550", times=5)

    batch_send(batch_id=batch.pk)

    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT
    assert statuses(batch) == {SendStatus.FAILED: 5, SendStatus.SENT: 15}
