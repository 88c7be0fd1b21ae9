"""Every finding records how it ended — fixed by its suggestion, edited away, message excluded,
approved unchanged, or the batch rejected — when and by whom, written by the action that ended
it; a finding that survives an edit carries on; a recall takes an approval's endings back."""

import pytest

from apps.core.models import Finding, Message, Severity
from apps.review.models import Disposition, FindingDisposition
from apps.review.services import (
    FindingGroup,
    batch_approve,
    batch_claim,
    batch_recall,
    batch_reject,
    finding_apply_fix,
    findings_fix_group,
    message_edit,
    message_exclude,
)
from apps.validation.services import message_revalidate
from tests.conftest import in_review_batch
from tests.review.conftest import flag_legal_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(acme_campaign, acme_prospects, dns_server):
    batch = in_review_batch(acme_campaign, acme_prospects)
    for message in batch.messages.order_by("pk")[:2]:
        flag_legal_form(message, company=message.prospect.company, form="GmbH")
    return batch


def review_finding(message: Message, text: str = "Hi") -> Finding:
    """A finding at severity review on the first word of the body (no suggestion)."""
    return Finding.objects.create(
        message=message, batch_id=message.batch_id, rule_code="generic_greeting",
        rule_version=3, severity=Severity.REVIEW, field="body", start=0, end=len(text),
        explanation="A generic greeting",
    )


def ending(finding: Finding) -> FindingDisposition:
    return FindingDisposition.objects.get(finding_id=finding.pk)


def test_applying_a_findings_suggestion_ends_it_as_fixed_by_the_reviewer(batch, rita):
    message = batch.messages.order_by("pk").first()
    finding = message.findings.get(rule_code="legal_form")

    finding_apply_fix(finding_id=finding.pk, actor=rita)

    end = ending(finding)
    assert end.disposition == Disposition.FIXED
    assert (end.actor, end.actor_label) == (rita, "rita")
    assert (end.rule_code, end.severity, end.field, end.text) == (
        "legal_form", "block", "body", " GmbH"
    )
    assert end.client_id == batch.client_id and end.batch_id == batch.pk
    assert FindingDisposition.objects.count() == 1  # the other message's finding goes on


def test_a_group_fix_ends_each_messages_finding_as_fixed(batch, rita):
    findings = list(Finding.objects.filter(batch=batch, rule_code="legal_form"))

    result = findings_fix_group(
        batch_id=batch.pk, actor=rita,
        group=FindingGroup(rule_code="legal_form", field="body", text=" GmbH", suggestion=""),
    )

    assert result.fixed == 2
    assert [ending(f).disposition for f in findings] == [Disposition.FIXED] * 2


def test_an_edit_ends_what_it_removes_as_edited_away_and_what_survives_carries_on(batch, rita):
    message = batch.messages.order_by("pk").first()
    body = "Hi there,\nInitech GmbH makes printers.\n"
    Message.objects.filter(pk=message.pk).update(body=body)
    message = Message.objects.select_related("batch", "prospect").get(pk=message.pk)
    message_revalidate(message=message)  # the findings the real checks make of it
    legal = message.findings.get(rule_code="legal_form")
    greeting = message.findings.get(rule_code="generic_greeting")
    message.refresh_from_db()

    # The reviewer takes the form out by hand; the greeting stays.
    message_edit(message_id=message.pk, actor=rita, subject=message.subject,
                 body=body.replace(" GmbH", ""), expected_hash=message.content_hash)

    assert ending(legal).disposition == Disposition.EDITED
    assert ending(legal).text.strip() == "GmbH"
    assert not FindingDisposition.objects.filter(finding_id=greeting.pk).exists()
    assert Finding.objects.filter(message=message, rule_code="generic_greeting").exists()


def test_excluding_a_message_ends_its_findings_as_excluded(batch, rita):
    message = batch.messages.order_by("pk").first()
    finding = message.findings.get()

    message_exclude(message_id=message.pk, actor=rita, reason="Wrong person")

    assert ending(finding).disposition == Disposition.EXCLUDED
    assert ending(finding).actor == rita


def test_approval_ends_the_included_messages_findings_as_approved_unchanged(
    batch, rita, redis_queues
):
    first, second, third = batch.messages.order_by("pk")
    message_exclude(message_id=first.pk, actor=rita, reason="Wrong person")
    finding_apply_fix(finding_id=second.findings.get().pk, actor=rita)
    kept = review_finding(third)

    batch_approve(batch_id=batch.pk, actor=rita)

    assert ending(kept).disposition == Disposition.APPROVED
    assert ending(kept).actor == rita
    assert sorted(FindingDisposition.objects.values_list("disposition", flat=True)) == [
        "approved", "excluded", "fixed"
    ]


def test_rejection_ends_every_open_finding_as_rejected(batch, rita):
    first, second, _ = batch.messages.order_by("pk")
    message_exclude(message_id=first.pk, actor=rita, reason="Wrong person")

    batch_reject(batch_id=batch.pk, actor=rita, reason="Off-brand tone")

    assert ending(second.findings.get()).disposition == Disposition.REJECTED
    assert ending(first.findings.get()).disposition == Disposition.EXCLUDED  # ended before


def test_a_recall_takes_the_approvals_endings_back(batch, rita, redis_queues):
    third = batch.messages.order_by("pk")[2]
    kept = review_finding(third)
    first = batch.messages.order_by("pk").first()
    message_exclude(message_id=first.pk, actor=rita, reason="Wrong person")
    second = batch.messages.order_by("pk")[1]
    finding_apply_fix(finding_id=second.findings.get().pk, actor=rita)
    batch_approve(batch_id=batch.pk, actor=rita)

    batch_recall(batch_id=batch.pk, actor=rita)

    assert not FindingDisposition.objects.filter(finding_id=kept.pk).exists()
    assert set(FindingDisposition.objects.values_list("disposition", flat=True)) == {
        "excluded", "fixed"
    }
    batch_claim(batch_id=batch.pk, actor=rita)
    batch_reject(batch_id=batch.pk, actor=rita, reason="Second thoughts")
    assert ending(kept).disposition == Disposition.REJECTED


def test_a_finding_ends_once_a_fix_after_its_exclusion_leaves_the_exclusion(batch, rita):
    message = batch.messages.order_by("pk").first()
    finding = message.findings.get()
    message_exclude(message_id=message.pk, actor=rita, reason="Wrong person")

    finding_apply_fix(finding_id=finding.pk, actor=rita)

    assert FindingDisposition.objects.filter(message=message).count() == 1
    assert ending(finding).disposition == Disposition.EXCLUDED
