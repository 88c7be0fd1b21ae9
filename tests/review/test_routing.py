"""Routing after validation, and what a decision writes: the holding queue gets every batch of
a review-all client and every flagged batch; a decision stamps who and when, with its audit
event, in one transaction."""

from datetime import UTC

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import AuditEvent, Batch, BatchStatus, Message, SendStatus, Severity
from apps.review.services import batch_approve, batch_reject, batch_route
from tests.conftest import in_review_batch, make_batch

pytestmark = pytest.mark.django_db


def validated_batch(campaign, prospects, *, worst=""):
    return make_batch(
        campaign, prospects, status=BatchStatus.VALIDATING,
        validated_at=timezone.now(), worst_severity=worst,
    )


def test_review_all_client_clean_batch_goes_to_review(acme_campaign, acme_prospects):
    batch = validated_batch(acme_campaign, acme_prospects)
    before = timezone.now()

    assert batch_route(batch_id=batch.pk) == BatchStatus.IN_REVIEW

    batch.refresh_from_db()
    assert batch.status == BatchStatus.IN_REVIEW
    assert batch.entered_review_at is not None
    assert batch.entered_review_at.utcoffset() == UTC.utcoffset(None)
    assert before <= batch.entered_review_at <= timezone.now()
    assert batch.decided_at is None
    assert not Message.objects.filter(batch=batch).exclude(send_status="").exists()
    event = AuditEvent.objects.get(batch=batch, action="batch_routed")
    assert (event.from_state, event.to_state, event.actor) == ("validating", "in_review", None)
    assert event.created_at == batch.entered_review_at


@pytest.mark.parametrize("worst", [Severity.BLOCK, Severity.REVIEW])
def test_auto_approve_client_flagged_batch_goes_to_review(globex_campaign, globex_client, worst):
    prospects = [globex_client.prospects.create(email=f"p{i}@hooli.com") for i in range(2)]
    batch = validated_batch(globex_campaign, prospects)
    Message.objects.filter(pk=batch.messages.first().pk).update(worst_severity=worst)

    assert batch_route(batch_id=batch.pk) == BatchStatus.IN_REVIEW
    assert Batch.objects.get(pk=batch.pk).entered_review_at is not None


def test_auto_approve_client_batch_not_fully_validated_goes_to_review(
    globex_campaign, globex_client
):
    prospects = [globex_client.prospects.create(email=f"p{i}@hooli.com") for i in range(2)]
    batch = validated_batch(globex_campaign, prospects)
    Message.objects.filter(pk=batch.messages.first().pk).update(validated_at=None)

    assert batch_route(batch_id=batch.pk) == BatchStatus.IN_REVIEW


def test_auto_approve_client_clean_batch_is_approved_without_a_person(
    globex_campaign, globex_client
):
    prospects = [globex_client.prospects.create(email=f"p{i}@hooli.com") for i in range(2)]
    batch = validated_batch(globex_campaign, prospects)

    assert batch_route(batch_id=batch.pk) == BatchStatus.APPROVED

    batch.refresh_from_db()
    assert batch.decided_by is None and batch.decided_at is not None
    assert batch.entered_review_at is None
    for message in Message.objects.filter(batch=batch):
        assert message.send_status == SendStatus.QUEUED
        assert message.approved_hash == message.content_hash


def test_routing_twice_routes_once(acme_campaign, acme_prospects):
    batch = validated_batch(acme_campaign, acme_prospects)
    assert batch_route(batch_id=batch.pk) == BatchStatus.IN_REVIEW
    assert batch_route(batch_id=batch.pk) is None
    assert AuditEvent.objects.filter(batch=batch, action="batch_routed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_approval_stamps_decision_and_audit_in_one_transaction(
    postgres_only, redis_queues, acme_campaign, acme_prospects, rita
):
    batch = in_review_batch(acme_campaign, acme_prospects)

    batch_approve(batch_id=batch.pk, actor=rita)

    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
    assert batch.decided_by == rita
    assert batch.decided_at.utcoffset() == UTC.utcoffset(None)
    event = AuditEvent.objects.get(batch=batch, action="batch_approved")
    assert (event.actor, event.from_state, event.to_state) == (rita, "in_review", "approved")
    assert event.created_at == batch.decided_at  # one clock, read once
    # The same PostgreSQL transaction wrote the batch's new state and the audit row.
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM core_batch WHERE id = %s", [batch.pk])
        batch_xid = cursor.fetchone()[0]
        cursor.execute("SELECT xmin::text FROM core_auditevent WHERE id = %s", [event.pk])
        event_xid = cursor.fetchone()[0]
        cursor.execute(
            "SELECT DISTINCT xmin::text FROM core_message WHERE batch_id = %s", [batch.pk]
        )
        message_xids = {row[0] for row in cursor.fetchall()}
    assert batch_xid == event_xid
    assert message_xids == {batch_xid}
    # The send job was enqueued once the transaction committed.
    assert redis_queues.exists(f"rq:job:send_batch-{batch.pk}")


def test_rejection_stamps_decision_reason_and_audit(acme_campaign, acme_prospects, rita):
    batch = in_review_batch(acme_campaign, acme_prospects)

    batch_reject(batch_id=batch.pk, actor=rita, reason="Wrong audience for this campaign")

    batch.refresh_from_db()
    assert (batch.status, batch.decided_by) == (BatchStatus.REJECTED, rita)
    assert batch.decision_reason == "Wrong audience for this campaign"
    event = AuditEvent.objects.get(batch=batch, action="batch_rejected")
    assert event.reason == "Wrong audience for this campaign"
    assert event.created_at == batch.decided_at
    assert not Message.objects.filter(batch=batch, send_status=SendStatus.QUEUED).exists()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_rejection_requires_a_reason(acme_campaign, acme_prospects, rita, reason):
    batch = in_review_batch(acme_campaign, acme_prospects)

    with pytest.raises(ServiceError, match="why"):
        batch_reject(batch_id=batch.pk, actor=rita, reason=reason)

    batch.refresh_from_db()
    assert (batch.status, batch.decided_at) == (BatchStatus.IN_REVIEW, None)
    assert not AuditEvent.objects.filter(batch=batch, action="batch_rejected").exists()
