"""The whole pipeline on real parts: PostgreSQL, Redis, an RQ worker in its own process, a
DNS server and an SMTP server on loopback.

Acme reviews every batch: oscar starts one in which "Hi {{ company }} team," meets a prospect
whose company is "Initech Inc.", the validators flag the legal form, nothing is sent, rita
cannot approve until she fixes or excludes that message, and then each included message is
delivered exactly once. Globex auto-approves clean batches, which go out without a person.
"""

import pytest

from apps.core.errors import ApprovalRefused
from apps.core.models import (
    AuditEvent,
    Batch,
    BatchStatus,
    DeliveryAttempt,
    Finding,
    Message,
    Prospect,
    SendStatus,
)
from apps.generation.services import batch_start
from apps.review.services import batch_approve, batch_reject, message_edit, message_exclude
from tests.conftest import make_campaign
from tests.support.worker import run_worker_burst

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "Hi {{ company }} team,\n\nwould you like fewer bounces, {{ first_name }}?\n\nSam"


@pytest.fixture
def flagged_batch(pipeline, acme_client, oscar):
    """Started by oscar and taken by the worker as far as the holding queue."""
    campaign = make_campaign(acme_client, body_template=BODY)
    prospects = [
        Prospect.objects.create(client=acme_client, email="peter@initech.com",
                                first_name="Peter", company="Initech Inc."),
        Prospect.objects.create(client=acme_client, email="richard@hooli.com",
                                first_name="Richard", company="Hooli"),
        Prospect.objects.create(client=acme_client, email="alice@umbrella.com",
                                first_name="Alice", company="Umbrella"),
    ]
    batch = batch_start(campaign=campaign, prospects=prospects, actor=oscar)
    run_worker_burst()
    batch.refresh_from_db()
    return batch


def initech_message(batch) -> Message:
    return Message.objects.get(batch=batch, recipient="peter@initech.com")


def expected_ids(batch, messages) -> list[str]:
    return sorted(f"<message-{m.pk}.batch-{batch.pk}@outbound.localhost>" for m in messages)


def assert_delivered_once(smtp, batch, messages):
    assert sorted(smtp.message_ids()) == expected_ids(batch, messages)
    for received in smtp.messages:
        message = next(m for m in messages if m.message_id_header == received.message_id)
        assert received.rcpt_tos == (message.recipient,)
        assert message.body.strip() in received.raw.decode().replace("\r\n", "\n")


def test_flagged_batch_waits_for_a_person_and_sends_nothing(flagged_batch, pipeline, rita):
    assert flagged_batch.status == BatchStatus.IN_REVIEW
    assert flagged_batch.entered_review_at is not None
    message = initech_message(flagged_batch)
    assert message.body.startswith("Hi Initech Inc. team,")
    finding = Finding.objects.get(message=message, rule_code__startswith="legal_form")
    assert finding.severity == "block"
    assert finding.field == "body"
    assert "Inc." in message.body[finding.start:finding.end]
    # The other messages are clean (their domains have MX records on the test DNS server).
    assert (
        not Finding.objects.filter(message__batch=flagged_batch).exclude(message=message).exists()
    )
    assert pipeline.messages == []
    assert not Message.objects.filter(batch=flagged_batch).exclude(send_status="").exists()

    with pytest.raises(ApprovalRefused, match="blocking"):
        batch_approve(batch_id=flagged_batch.pk, actor=rita)

    flagged_batch.refresh_from_db()
    assert (flagged_batch.status, flagged_batch.decided_at) == (BatchStatus.IN_REVIEW, None)
    assert not AuditEvent.objects.filter(batch=flagged_batch, action="batch_approved").exists()
    run_worker_burst()
    assert pipeline.messages == []


def test_edited_then_approved_batch_delivers_each_message_once(flagged_batch, pipeline, rita):
    message = initech_message(flagged_batch)
    fixed = message.body.replace("Initech Inc.", "Initech")

    worst = message_edit(
        message_id=message.pk, actor=rita, subject=message.subject, body=fixed,
        expected_hash=message.content_hash,
    )
    assert worst == ""
    assert not Finding.objects.filter(message=message).exists()
    batch_approve(batch_id=flagged_batch.pk, actor=rita)
    run_worker_burst()

    flagged_batch.refresh_from_db()
    assert flagged_batch.status == BatchStatus.SENT
    assert flagged_batch.sent_at is not None
    messages = list(Message.objects.filter(batch=flagged_batch))
    assert {m.send_status for m in messages} == {SendStatus.SENT}
    assert_delivered_once(pipeline, flagged_batch, messages)
    received = next(r for r in pipeline.messages if r.rcpt_tos == ("peter@initech.com",))
    assert b"Hi Initech team," in received.raw and b"Inc." not in received.raw
    attempts = DeliveryAttempt.objects.filter(message__batch=flagged_batch)
    assert attempts.count() == 3
    assert {(a.outcome, a.smtp_code) for a in attempts} == {(SendStatus.SENT, 250)}
    assert sorted(a.message_id_header for a in attempts) == expected_ids(flagged_batch, messages)
    actions = list(AuditEvent.objects.filter(batch=flagged_batch).values_list("action", flat=True))
    assert actions == [
        "batch_started", "batch_generated", "batch_routed", "message_edited", "batch_approved",
        "batch_sending", "batch_sent",
    ]


def test_excluded_message_is_not_sent(flagged_batch, pipeline, rita):
    message = initech_message(flagged_batch)

    message_exclude(message_id=message.pk, actor=rita, reason="Company name needs a rewrite")
    batch_approve(batch_id=flagged_batch.pk, actor=rita)
    run_worker_burst()

    flagged_batch.refresh_from_db()
    assert flagged_batch.status == BatchStatus.SENT
    included = list(Message.objects.filter(batch=flagged_batch, excluded=False))
    assert len(included) == 2
    assert_delivered_once(pipeline, flagged_batch, included)
    message.refresh_from_db()
    assert (message.send_status, message.approved_hash) == (SendStatus.NOT_SCHEDULED, "")
    assert not DeliveryAttempt.objects.filter(message=message).exists()


def test_rejected_batch_sends_nothing(flagged_batch, pipeline, rita):
    batch_reject(batch_id=flagged_batch.pk, actor=rita, reason="Wrong audience")
    run_worker_burst()

    flagged_batch.refresh_from_db()
    assert flagged_batch.status == BatchStatus.REJECTED
    assert pipeline.messages == []
    assert not DeliveryAttempt.objects.filter(message__batch=flagged_batch).exists()
    assert not Message.objects.filter(batch=flagged_batch).exclude(send_status="").exists()


def test_clean_batch_of_auto_approving_client_is_sent_without_a_person(
    pipeline, globex_client, oscar
):
    campaign = make_campaign(globex_client, body_template=BODY)
    prospects = [
        Prospect.objects.create(client=globex_client, email=f"{name}@hooli.com",
                                first_name=name.title(), company="Hooli")
        for name in ("gavin", "jared", "monica")
    ]
    batch = batch_start(campaign=campaign, prospects=prospects, actor=oscar)

    run_worker_burst()

    batch = Batch.objects.get(pk=batch.pk)
    assert batch.status == BatchStatus.SENT
    assert batch.decided_by is None and batch.entered_review_at is None
    messages = list(Message.objects.filter(batch=batch))
    assert_delivered_once(pipeline, batch, messages)
    routed = AuditEvent.objects.get(batch=batch, action="batch_routed")
    assert (routed.to_state, routed.actor) == (BatchStatus.APPROVED, None)
    assert not AuditEvent.objects.filter(batch=batch, actor__isnull=False).exclude(
        action="batch_started"
    ).exists()
