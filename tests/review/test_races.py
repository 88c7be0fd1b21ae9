"""Promise 4 and issue 4's races, on PostgreSQL with two connections and a barrier: claim vs
claim, recall vs the start of sending, fix vs edit of one message. Exactly one wins each time,
the loser is told, and the audit trail holds exactly the events of what happened."""

import pytest

from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import AuditEvent, Batch, BatchStatus, Finding, Message, SendStatus
from apps.review.models import Claim, ClaimSpan
from apps.review.services import (
    ClaimConflict,
    batch_approve,
    batch_claim,
    batch_recall,
    finding_apply_fix,
    message_edit,
)
from apps.sending.services import batch_send
from tests.conftest import _staff, in_review_batch
from tests.review.conftest import flag_legal_form, race

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = 3


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_claim_vs_claim(postgres_only, acme_campaign, acme_prospects, rita, round_):
    ruth = _staff("ruth", "reviewer")
    batch = in_review_batch(acme_campaign, acme_prospects)

    outcomes = race(
        lambda: batch_claim(batch_id=batch.pk, actor=rita),
        lambda: batch_claim(batch_id=batch.pk, actor=ruth),
    )

    assert outcomes.count("won") == 1, outcomes
    loser = next(o for o in outcomes if o != "won")
    assert isinstance(loser, ClaimConflict) and "claimed by" in str(loser), repr(loser)
    winner = rita if outcomes[0] == "won" else ruth
    assert Claim.objects.get(batch=batch).holder == winner
    events = AuditEvent.objects.filter(batch=batch)
    assert list(events.values_list("action", "actor")) == [("batch_claimed", winner.pk)]
    assert ClaimSpan.objects.filter(round__batch=batch).count() == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_recall_vs_sending_start(
    postgres_only, smtp_server, acme_campaign, acme_prospects, rita, round_
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)  # grace 0: sending may start at once

    recall, send = race(
        lambda: batch_recall(batch_id=batch.pk, actor=rita, reason="wrong list"),
        lambda: batch_send(batch_id=batch.pk),
    )

    batch.refresh_from_db()
    actions = list(AuditEvent.objects.filter(batch=batch).values_list("action", flat=True))
    assert actions[0] == "batch_approved"
    if recall == "won":
        assert batch.status == BatchStatus.IN_REVIEW
        assert smtp_server.messages == []
        assert actions == ["batch_approved", "batch_recalled"]
        assert not Message.objects.filter(batch=batch).exclude(send_status="").exists()
        assert not Message.objects.filter(batch=batch).exclude(approved_hash="").exists()
    else:
        assert isinstance(recall, TransitionConflict) and recall.expected == BatchStatus.APPROVED, (
            repr(recall)
        )
        assert batch.status in (BatchStatus.SENDING, BatchStatus.SENT)
        assert "batch_recalled" not in actions and "batch_sending" in actions
        assert len(smtp_server.messages) == len(acme_prospects)
    assert send == "won"  # sending never raises: it finds nothing to do when recalled


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_fix_vs_edit_of_one_message(
    postgres_only, dns_server, acme_campaign, acme_prospects, rita, round_
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    message = batch.messages.order_by("pk").first()
    finding = flag_legal_form(message)
    message.refresh_from_db()
    batch_claim(batch_id=batch.pk, actor=rita)
    edited_body = "Hello Initech folks,\n"

    fix, edit = race(
        lambda: finding_apply_fix(finding_id=finding.pk, actor=rita),
        lambda: message_edit(
            message_id=message.pk, actor=rita, subject=message.subject, body=edited_body,
            expected_hash=message.content_hash,
        ),
    )

    assert [fix, edit].count("won") == 1, (fix, edit)
    loser = edit if fix == "won" else fix
    assert isinstance(loser, ServiceError), repr(loser)
    message.refresh_from_db()
    assert message.body == ("Hi Initech team,\n" if fix == "won" else edited_body)
    edits = AuditEvent.objects.filter(message=message, action="message_edited")
    assert edits.count() == 1
    assert edits.get().data["after"]["body"] == message.body
    assert not Finding.objects.filter(message=message, rule_code="legal_form").exists()
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW
    assert message.send_status == SendStatus.NOT_SCHEDULED


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_approve_vs_recall(postgres_only, acme_campaign, acme_prospects, rita, oscar, round_):
    """A recall can only follow an approval: if it runs first it is refused (the batch is not
    approved yet); if it waits on the approval's row lock, it recalls what was just approved.
    Either way the trail says exactly that, and the messages agree with the final state."""
    batch = in_review_batch(acme_campaign, acme_prospects)

    approve, recall = race(
        lambda: batch_approve(batch_id=batch.pk, actor=rita),
        lambda: batch_recall(batch_id=batch.pk, actor=oscar, reason="hold on"),
    )

    assert approve == "won", repr(approve)
    batch.refresh_from_db()
    actions = list(AuditEvent.objects.filter(batch=batch).values_list("action", flat=True))
    approved_messages = Message.objects.filter(batch=batch).exclude(approved_hash="").count()
    if recall == "won":
        assert actions == ["batch_approved", "batch_recalled"]
        assert batch.status == BatchStatus.IN_REVIEW and approved_messages == 0
    else:
        assert isinstance(recall, TransitionConflict) and recall.actual == BatchStatus.IN_REVIEW, (
            repr(recall)
        )
        assert actions == ["batch_approved"]
        assert batch.status == BatchStatus.APPROVED and approved_messages == len(acme_prospects)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_bulk_fix_vs_edit_of_one_message(
    postgres_only, dns_server, acme_campaign, acme_prospects, rita, round_
):
    from apps.review.services import FindingGroup, findings_fix_group

    batch = in_review_batch(acme_campaign, acme_prospects)
    messages = list(batch.messages.order_by("pk"))
    for message in messages:
        flag_legal_form(message)
    contested = Message.objects.get(pk=messages[0].pk)
    batch_claim(batch_id=batch.pk, actor=rita)
    group = FindingGroup(rule_code="legal_form", field="body", text=" GmbH", suggestion="")

    fix, edit = race(
        lambda: findings_fix_group(batch_id=batch.pk, actor=rita, group=group),
        lambda: message_edit(message_id=contested.pk, actor=rita, subject=contested.subject,
                             body="Hello Initech folks,\n", expected_hash=contested.content_hash),
    )

    assert fix == "won", repr(fix)
    contested.refresh_from_db()
    fixed = AuditEvent.objects.filter(batch=batch, action="finding_fixed")
    edited = AuditEvent.objects.filter(message=contested, action="message_edited")
    if edit == "won":  # the edit went first; the fix found nothing left to fix in that message
        assert contested.body == "Hello Initech folks,\n"
        assert edited.count() == 1 and not fixed.filter(message=contested).exists()
    else:
        assert isinstance(edit, TransitionConflict), repr(edit)
        assert contested.body == "Hi Initech team,\n"
        assert not edited.exists() and fixed.filter(message=contested).count() == 1
    assert fixed.exclude(message=contested).count() == len(messages) - 1
