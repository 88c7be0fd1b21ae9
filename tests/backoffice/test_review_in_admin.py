"""A reviewer works a batch in the admin: sees findings highlighted, applies a fix, excludes,
approves (refused while a blocking finding is open) or rejects with a reason."""

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, Batch, BatchStatus, Finding, Message, SendStatus
from apps.validation.checks.base import BLOCK
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def flagged_batch(acme_campaign, acme_prospects):
    """A batch in review whose first message says "Initech Inc." with a legal-form finding."""
    batch = in_review_batch(acme_campaign, acme_prospects)
    message = batch.messages.order_by("pk").first()
    body = "Hi Initech Inc. team,\n"
    from apps.core.models import content_hash

    Message.objects.filter(pk=message.pk).update(
        body=body, worst_severity=BLOCK,
        content_hash=content_hash(recipient=message.recipient, subject=message.subject, body=body),
    )
    Finding.objects.create(
        message=message,
        batch=batch,
        rule_code="legal_form",
        severity=BLOCK,
        field="body",
        start=10,
        end=15,
        explanation="Legal form <Inc.> left in the text",
        suggestion="",
    )
    return batch


def test_review_screen_highlights_findings_escaped(client, rita, flagged_batch):
    client.force_login(rita)
    response = client.get(reverse("admin:core_batch_change", args=[flagged_batch.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        '<mark class="finding finding-block" title="Legal form &lt;Inc.&gt; left in the text">'
        " Inc.</mark>" in body
    )
    assert "Approve batch" in body


def test_approve_refused_while_blocking_finding_open(client, rita, flagged_batch):
    client.force_login(rita)
    response = client.post(
        reverse("admin:core_batch_approve", args=[flagged_batch.pk]), follow=True
    )
    assert "blocking finding" in response.content.decode()
    assert Batch.objects.get(pk=flagged_batch.pk).status == BatchStatus.IN_REVIEW


def test_apply_fix_then_approve(
    client, rita, flagged_batch, dns_server, django_capture_on_commit_callbacks
):
    client.force_login(rita)
    finding = Finding.objects.get(message__batch=flagged_batch)
    client.post(reverse("admin:core_batch_fix", args=[flagged_batch.pk, finding.pk]))
    message = finding.message
    message.refresh_from_db()
    assert message.body == "Hi Initech team,\n"
    assert not Finding.objects.filter(message=message, severity=BLOCK).exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("admin:core_batch_approve", args=[flagged_batch.pk]))
    assert Batch.objects.get(pk=flagged_batch.pk).status == BatchStatus.APPROVED
    assert len(callbacks) == 1  # the send job, after commit
    assert set(flagged_batch.messages.values_list("send_status", flat=True)) == {SendStatus.QUEUED}
    actions = list(AuditEvent.objects.filter(batch=flagged_batch).values_list("action", flat=True))
    # The admin claims the batch for rita before her first action, once.
    assert actions == ["batch_claimed", "message_edited", "batch_approved"]


def test_exclude_then_approve(client, rita, flagged_batch):
    client.force_login(rita)
    message = Finding.objects.get(message__batch=flagged_batch).message
    client.post(
        reverse("admin:core_message_exclude", args=[message.pk]), {"reason": "wrong person"}
    )
    client.post(reverse("admin:core_batch_approve", args=[flagged_batch.pk]))
    message.refresh_from_db()
    assert message.excluded and message.send_status == ""
    assert Batch.objects.get(pk=flagged_batch.pk).status == BatchStatus.APPROVED


def test_reject_needs_a_reason(client, rita, flagged_batch):
    client.force_login(rita)
    url = reverse("admin:core_batch_reject", args=[flagged_batch.pk])
    client.post(url, {"code": "off_brand", "reason": ""})
    client.post(url, {"code": "no_such_reason", "reason": "too pushy"})
    assert Batch.objects.get(pk=flagged_batch.pk).status == BatchStatus.IN_REVIEW
    client.post(url, {"code": "off_brand", "reason": "too pushy"})
    batch = Batch.objects.get(pk=flagged_batch.pk)
    assert batch.status == BatchStatus.REJECTED and batch.decision_reason == "too pushy"
    event = AuditEvent.objects.get(batch=flagged_batch, action="batch_rejected")
    assert (event.reason, event.data["reason_code"]) == ("too pushy", "off_brand")


def test_status_cannot_be_posted_through_the_change_form(client, oscar, flagged_batch):
    client.force_login(oscar)
    client.post(
        reverse("admin:core_batch_change", args=[flagged_batch.pk]),
        {"status": BatchStatus.APPROVED},
    )
    assert Batch.objects.get(pk=flagged_batch.pk).status == BatchStatus.IN_REVIEW


def test_client_user_cannot_approve(client, carl, flagged_batch):
    client.force_login(carl)
    response = client.post(reverse("admin:core_batch_approve", args=[flagged_batch.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Batch.objects.get(pk=flagged_batch.pk).status == BatchStatus.IN_REVIEW


def test_blocking_messages_come_first_then_review_then_warn(
    client, rita, acme_campaign, acme_prospects
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    warn, review, block = batch.messages.order_by("pk")
    for message, severity in ((warn, "warn"), (review, "review"), (block, BLOCK)):
        Message.objects.filter(pk=message.pk).update(worst_severity=severity)
    client.force_login(rita)
    page = client.get(reverse("admin:core_batch_change", args=[batch.pk])).context["page"]
    assert [m.pk for m in page.object_list] == [block.pk, review.pk, warn.pk]
