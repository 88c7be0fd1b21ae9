"""The re-contact cap at the moment of sending (issue 14): a message whose recipient this client
mailed from another batch after the message was approved, within Client.recontact_days, is
skipped with the reason. Run through the one PostgreSQL statement and through the ORM's way."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

import apps.sending.services as services
from apps.core.models import (
    AuditEvent, Batch, BatchStatus, Campaign, Client, DeliveryAttempt, Message, Prospect, SendStatus,
)
from apps.sending.services import batch_send
from tests.conftest import make_batch
from tests.sending.conftest import approved_batch, statuses

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["one statement", "orm"])
def send_path(request, monkeypatch, postgres_only):
    if request.param == "orm":
        monkeypatch.setattr(services, "_in_one_statement", lambda: False)
    return request.param


def approve(batch, *, at=None) -> Batch:
    at = at or timezone.now()
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.APPROVED, decided_at=at)
    Message.objects.filter(batch=batch).update(
        approved_hash=F("content_hash"), approved_at=at, send_status=SendStatus.QUEUED
    )
    return batch


def mailed_again(batch, *, sent_at=None) -> Message:
    """Another batch of the same client, holding the first prospect of `batch`, sent."""
    first = Message.objects.filter(batch=batch).order_by("pk").first()
    other = make_batch(batch.campaign, [first.prospect], status=BatchStatus.SENT)
    Message.objects.filter(batch=other).update(
        approved_hash=F("content_hash"), approved_at=timezone.now(),
        send_status=SendStatus.SENT, sent_at=sent_at or timezone.now(),
    )
    return first


def rcpt_tos(smtp_server) -> set[str]:
    return {r for m in smtp_server.messages for r in m.rcpt_tos}


def test_mailed_from_another_batch_after_approval_is_skipped(smtp_server, acme_campaign,
                                                             send_path):
    batch = approved_batch(acme_campaign, 3)
    target = mailed_again(batch)

    batch_send(batch_id=batch.pk)

    target.refresh_from_db()
    assert target.send_status == SendStatus.NOT_SCHEDULED
    assert target.recipient not in rcpt_tos(smtp_server)
    assert len(smtp_server.messages) == 2
    assert not DeliveryAttempt.objects.filter(message=target).exists()
    event = AuditEvent.objects.get(message=target, action="message_send_skipped")
    assert event.data == {"check": "recontact"}
    assert "recently contacted" in event.reason
    other = Message.objects.filter(prospect=target.prospect).exclude(batch=batch).get()
    assert f"batch {other.batch_id}" in event.reason
    assert statuses(batch) == {SendStatus.NOT_SCHEDULED: 1, SendStatus.SENT: 2}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT


def test_mailed_before_the_approval_is_sent(smtp_server, acme_campaign, send_path):
    # The reviewer saw the recently_contacted finding and approved anyway.
    batch = approved_batch(acme_campaign, 2)
    target = mailed_again(batch, sent_at=timezone.now() - timedelta(hours=1))

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_mailed_longer_ago_than_the_cap_is_sent(smtp_server, acme_campaign, send_path):
    batch = approve(approved_batch(acme_campaign, 2), at=timezone.now() - timedelta(days=40))
    target = mailed_again(batch, sent_at=timezone.now() - timedelta(days=31))

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_a_cap_of_zero_is_off(smtp_server, acme_campaign, send_path):
    batch = approved_batch(acme_campaign, 2)
    Client.objects.filter(pk=batch.client_id).update(recontact_days=0)
    target = mailed_again(batch)

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_another_clients_send_does_not_count(smtp_server, acme_campaign, globex_client,
                                             send_path):
    batch = approved_batch(acme_campaign, 2)
    target = Message.objects.filter(batch=batch).order_by("pk").first()
    campaign = Campaign.objects.create(client=globex_client, name="Globex outreach")
    theirs = Prospect.objects.create(client=globex_client, email=target.recipient.upper())
    other = make_batch(campaign, [theirs], status=BatchStatus.SENT)
    Message.objects.filter(batch=other).update(
        approved_hash=F("content_hash"), approved_at=timezone.now(),
        send_status=SendStatus.SENT, sent_at=timezone.now(),
    )

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_the_address_is_compared_without_case(smtp_server, acme_campaign, send_path):
    batch = approved_batch(acme_campaign, 2)
    target = Message.objects.filter(batch=batch).order_by("pk").first()
    shouted = Prospect.objects.create(client=batch.client, email=f"  {target.recipient.upper()}")
    other = make_batch(acme_campaign, [shouted], status=BatchStatus.SENT)
    Message.objects.filter(batch=other).update(
        approved_hash=F("content_hash"), approved_at=timezone.now(),
        send_status=SendStatus.SENT, sent_at=timezone.now(),
    )

    batch_send(batch_id=batch.pk)

    assert target.message_id_header not in smtp_server.message_ids()
    assert AuditEvent.objects.get(message=target, action="message_send_skipped").data == {
        "check": "recontact"
    }


def test_the_cap_is_checked_in_the_send_time_statement(acme_campaign, postgres_only):
    """The check stays one statement on PostgreSQL: the attempts of a passing group come from
    statements.open_attempts alone, whatever the cap."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext


    batch = approved_batch(acme_campaign, 3)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.SENDING)
    token, drafts = services._claim_next(batch.pk)
    with CaptureQueriesContext(connection) as queries:
        opened = services._open_attempts(drafts, token, batch.client_id)
    assert len(opened) == 3
    statements = [q["sql"] for q in queries.captured_queries
                  if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(statements) == 1 and "recontact_days" in statements[0]
