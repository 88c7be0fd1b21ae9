"""A finding always belongs to its message's batch. The per-batch aggregates (findings by kind
on the queue, the finding groups, the approval check, the client's summary) read
Finding.batch, so validation, re-validation and the bulk fix must each set it right."""

import pytest
from django.db import transaction
from django.db.models import F

from apps.core.models import BatchStatus, Finding, Message, Prospect, content_hash
from apps.review.services import FindingGroup, findings_fix_group
from apps.validation.services import batch_validate, message_revalidate
from tests.conftest import in_review_batch, make_batch
from tests.review.conftest import flag_legal_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def prospects(acme_prospects):
    """Peter twice: the later message to the same mailbox gets a duplicate_recipient finding."""
    again = Prospect.objects.create(
        client=acme_prospects[0].client,
        email="Peter Gibbons <PETER@initech.com>",
        first_name="Pete",
    )
    return acme_prospects + [again]


def findings_off_their_batch():
    return Finding.objects.exclude(batch_id=F("message__batch_id"))


def test_validation_and_revalidation_file_findings_under_the_message_batch(
    acme_campaign, prospects, dns_server
):
    first = make_batch(acme_campaign, prospects, status=BatchStatus.VALIDATING)
    second = make_batch(acme_campaign, prospects, status=BatchStatus.VALIDATING)

    batch_validate(batch_id=first.pk)
    batch_validate(batch_id=second.pk)

    for batch in (first, second):
        assert Finding.objects.filter(batch=batch, rule_code="duplicate_recipient").count() == 1
    assert not findings_off_their_batch().exists()

    message = second.messages.order_by("pk").first()
    Message.objects.filter(pk=message.pk).update(body="Hi Initech GmbH team,\n")
    message.refresh_from_db()
    with transaction.atomic():
        message_revalidate(message=message)

    assert Finding.objects.filter(
        message=message, batch=second, rule_code__startswith="legal_form"
    ).exists()
    assert not findings_off_their_batch().exists()


def test_bulk_fix_refiles_findings_under_the_message_batch(
    acme_campaign, prospects, dns_server, rita
):
    other = in_review_batch(acme_campaign, prospects)  # the same prospects in another batch
    batch = in_review_batch(acme_campaign, prospects)
    message = batch.messages.order_by("pk").first()
    flag_legal_form(message, form="GmbH")
    flag_legal_form(other.messages.order_by("pk").first(), form="GmbH")
    # A merge field left in the text too: the re-validation after the fix finds it again.
    message.refresh_from_db()
    body = message.body + "See {{calendar_link}}\n"
    Message.objects.filter(pk=message.pk).update(
        body=body,
        content_hash=content_hash(recipient=message.recipient, subject=message.subject, body=body),
    )

    group = FindingGroup(rule_code="legal_form", field="body", text=" GmbH", suggestion="")
    result = findings_fix_group(batch_id=batch.pk, actor=rita, group=group)

    assert result.fixed == 1
    refound = Finding.objects.filter(message=message)
    # recently_contacted too: the same prospects are in the other batch, in review.
    assert {(f.batch_id, f.rule_code.split(".")[0]) for f in refound} == {
        (batch.pk, "placeholder"), (batch.pk, "recently_contacted")
    }
    assert Finding.objects.filter(batch=other, rule_code="legal_form").count() == 1
    assert not findings_off_their_batch().exists()
