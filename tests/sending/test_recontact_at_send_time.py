"""The re-contact cap at the moment of sending (issue 14): a message whose recipient this client
mailed from another batch after the message was approved, within Client.recontact_days, is not
sent: it is excluded from its batch with the reason. The other batch's send is recorded by the
real send path (LastContact). Run through the PostgreSQL statements and the ORM's way."""

from datetime import timedelta

import pytest
import time_machine
from django.db.models import F
from django.utils import timezone

import apps.sending.services as services
from apps.core.models import (
    AuditEvent,
    Batch,
    BatchStatus,
    Campaign,
    Client,
    DeliveryAttempt,
    Message,
    Prospect,
    SendStatus,
)
from apps.sending.models import LastContact
from apps.sending.services import batch_send
from tests.conftest import make_batch
from tests.sending.conftest import approved_batch, statuses

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["statements", "orm"])
def send_path(request, monkeypatch, postgres_only):
    if request.param == "orm":
        monkeypatch.setattr(services, "_in_one_statement", lambda: False)
    return request.param


def approve(batch, *, at=None) -> Batch:
    at = at or timezone.now()
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.APPROVED, decided_at=at,
                                             send_not_before=None)
    Message.objects.filter(batch=batch).update(
        approved_hash=F("content_hash"), approved_at=at, send_status=SendStatus.QUEUED
    )
    return batch


def send_another_batch(campaign, prospects) -> Batch:
    """Another batch of the client holding these prospects, approved and sent for real."""
    other = approve(make_batch(campaign, prospects, status=BatchStatus.APPROVED))
    batch_send(batch_id=other.pk)
    assert Batch.objects.get(pk=other.pk).status == BatchStatus.SENT
    return other


def first(batch) -> Message:
    return Message.objects.filter(batch=batch).earliest("pk")


def test_mailed_from_another_batch_after_approval_is_excluded(smtp_server, acme_campaign,
                                                              send_path):
    batch = approved_batch(acme_campaign, 3)
    target = first(batch)
    other = send_another_batch(acme_campaign, [target.prospect])
    before = len(smtp_server.messages)

    batch_send(batch_id=batch.pk)

    target.refresh_from_db()
    assert (target.send_status, target.excluded) == (SendStatus.NOT_SCHEDULED, True)
    assert f"batch {other.pk}" in target.exclusion_reason
    assert len(smtp_server.messages) - before == 2
    assert target.message_id_header not in smtp_server.message_ids()
    assert not DeliveryAttempt.objects.filter(message=target).exists()
    event = AuditEvent.objects.get(message=target, action="message_send_skipped")
    assert event.data == {"check": "recontact"} and "already mailed" in event.reason
    assert statuses(batch) == {SendStatus.NOT_SCHEDULED: 1, SendStatus.SENT: 2}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT


def test_a_send_records_the_last_contact(smtp_server, acme_campaign, send_path):
    batch = approve(approved_batch(acme_campaign, 2))

    batch_send(batch_id=batch.pk)

    rows = set(LastContact.objects.values_list("client_id", "address", "batch_id"))
    assert rows == {(batch.client_id, m.recipient.lower(), batch.pk)
                    for m in Message.objects.filter(batch=batch)}


def test_mailed_before_the_approval_is_sent(smtp_server, acme_campaign, send_path):
    # The reviewer saw the recently_contacted finding and approved anyway.
    batch = approved_batch(acme_campaign, 2)
    target = first(batch)
    send_another_batch(acme_campaign, [target.prospect])
    approve(batch, at=timezone.now() + timedelta(seconds=1))

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_mailed_longer_ago_than_the_cap_is_sent(smtp_server, acme_campaign, send_path):
    batch = approved_batch(acme_campaign, 2)
    target = first(batch)
    with time_machine.travel(timezone.now() - timedelta(days=31), tick=True):
        approve(batch)
        send_another_batch(acme_campaign, [target.prospect])

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_a_cap_of_zero_is_off(smtp_server, acme_campaign, send_path):
    batch = approved_batch(acme_campaign, 2)
    Client.objects.filter(pk=batch.client_id).update(recontact_days=0)
    target = first(batch)
    send_another_batch(acme_campaign, [target.prospect])

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_another_clients_send_does_not_count(smtp_server, acme_campaign, globex_client,
                                             send_path):
    batch = approved_batch(acme_campaign, 2)
    target = first(batch)
    campaign = Campaign.objects.create(client=globex_client, name="Globex outreach",
                                       sender_email="gina@globex.test")
    theirs = Prospect.objects.create(client=globex_client, email=target.recipient.upper())
    send_another_batch(campaign, [theirs])

    batch_send(batch_id=batch.pk)

    assert target.message_id_header in smtp_server.message_ids()


def test_the_address_is_compared_without_case_or_spaces(smtp_server, acme_campaign, send_path):
    batch = approved_batch(acme_campaign, 2)
    target = first(batch)
    shouted = Prospect.objects.create(client=batch.client, email=f"  {target.recipient.upper()}")
    send_another_batch(acme_campaign, [shouted])

    batch_send(batch_id=batch.pk)

    assert target.message_id_header not in smtp_server.message_ids()
    assert Message.objects.get(pk=target.pk).excluded


def test_the_cap_is_checked_in_the_send_time_statement(acme_campaign, postgres_only):
    """The check stays one statement on PostgreSQL: the attempts of a passing group come from
    statements.open_attempts alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    batch = approved_batch(acme_campaign, 3)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.SENDING)
    token, drafts = services._claim_next(batch.pk)
    with CaptureQueriesContext(connection) as queries:
        opened = services._open_attempts(drafts, token, batch.client_id)
    assert len(opened) == 3
    sql = [q["sql"] for q in queries.captured_queries
           if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    assert len(sql) == 1 and "recontact_days" in sql[0]


def test_an_unknown_send_resolved_as_sent_counts_as_a_contact(acme_campaign, admin_user):
    from apps.sending.unknown_sends import RESOLVE_SENT, unknown_resolve
    from tests.sending.conftest import unknown_batch

    message = Message.objects.filter(batch=unknown_batch(acme_campaign, 1)).get()

    unknown_resolve(message_id=message.pk, actor=admin_user, decision=RESOLVE_SENT)

    assert LastContact.objects.get(address=message.recipient.lower()).batch_id == message.batch_id
