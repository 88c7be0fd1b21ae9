"""Claims: a reviewer takes a batch before working it; others are refused while the claim is
live; an idle claim lapses and can be taken; an operator can reassign; a reviewer cannot."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import AuditEvent, BatchStatus
from apps.review.models import Claim, ClaimSpan
from apps.review.services import (
    ClaimConflict,
    batch_approve,
    batch_claim,
    claim_reassign,
    claim_release,
    message_exclude,
)
from tests.conftest import _staff, in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def ruth(seeded):
    return _staff("ruth", "reviewer")


@pytest.fixture
def batch(acme_campaign, acme_prospects):
    return in_review_batch(acme_campaign, acme_prospects)


def test_claim_then_others_are_refused(batch, rita, ruth):
    assert batch_claim(batch_id=batch.pk, actor=rita) is True
    with pytest.raises(ClaimConflict, match="claimed by rita"):
        batch_claim(batch_id=batch.pk, actor=ruth)
    with pytest.raises(ClaimConflict, match="claimed by rita"):
        batch_approve(batch_id=batch.pk, actor=ruth)
    message = batch.messages.first()
    with pytest.raises(ClaimConflict):
        message_exclude(message_id=message.pk, actor=ruth, reason="wrong person")
    assert Claim.objects.get(batch=batch).holder == rita
    assert batch.messages.filter(excluded=True).count() == 0
    assert list(AuditEvent.objects.filter(batch=batch).values_list("action", "to_state")) == [
        ("batch_claimed", "rita")
    ]


def test_claiming_again_keeps_it_without_a_new_event(batch, rita):
    batch_claim(batch_id=batch.pk, actor=rita)
    assert batch_claim(batch_id=batch.pk, actor=rita) is False
    assert AuditEvent.objects.filter(batch=batch, action="batch_claimed").count() == 1


def test_idle_claim_lapses_and_can_be_taken(batch, rita, ruth, settings):
    settings.REVIEW_CLAIM_IDLE_MINUTES = 15
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        batch_claim(batch_id=batch.pk, actor=rita)
    with (
        time_machine.travel(start + timedelta(minutes=14), tick=False),
        pytest.raises(ClaimConflict),
    ):
        batch_claim(batch_id=batch.pk, actor=ruth)
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert batch_claim(batch_id=batch.pk, actor=ruth) is True
    assert Claim.objects.get(batch=batch).holder == ruth
    event = AuditEvent.objects.filter(batch=batch, action="batch_claimed").last()
    assert event.data == {"previous_holder": "rita", "previous_lapsed": True}
    # rita's handling ended at her last activity, not when ruth took over.
    span = ClaimSpan.objects.get(reviewer=rita)
    assert (span.ended_at, span.end_reason) == (start, "lapsed")


def test_activity_keeps_the_claim_alive(batch, rita, ruth, settings):
    settings.REVIEW_CLAIM_IDLE_MINUTES = 15
    start = timezone.now()
    message = batch.messages.first()
    with time_machine.travel(start, tick=False):
        batch_claim(batch_id=batch.pk, actor=rita)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        message_exclude(message_id=message.pk, actor=rita, reason="bounced before")
    with (
        time_machine.travel(start + timedelta(minutes=20), tick=False),
        pytest.raises(ClaimConflict),
    ):
        batch_claim(batch_id=batch.pk, actor=ruth)


def test_operator_reassigns_a_held_batch(batch, rita, ruth, oscar):
    batch_claim(batch_id=batch.pk, actor=rita)
    claim_reassign(batch_id=batch.pk, actor=oscar, to_user=ruth)
    assert Claim.objects.get(batch=batch).holder == ruth
    event = AuditEvent.objects.get(batch=batch, action="claim_reassigned")
    assert (event.actor, event.from_state, event.to_state) == (ruth, "rita", "ruth")
    assert event.reason == "by oscar"
    assert ClaimSpan.objects.get(reviewer=rita).end_reason == "reassigned"


def test_reviewer_cannot_reassign(batch, rita, ruth):
    batch_claim(batch_id=batch.pk, actor=rita)
    with pytest.raises(ServiceError, match="Only an operator"):
        claim_reassign(batch_id=batch.pk, actor=ruth, to_user=ruth)
    assert Claim.objects.get(batch=batch).holder == rita


def test_release_frees_the_batch(batch, rita, ruth):
    batch_claim(batch_id=batch.pk, actor=rita)
    with pytest.raises(ClaimConflict):
        claim_release(batch_id=batch.pk, actor=ruth)
    claim_release(batch_id=batch.pk, actor=rita)
    assert batch_claim(batch_id=batch.pk, actor=ruth) is True


def test_a_decided_batch_cannot_be_claimed(batch, rita):
    batch_approve(batch_id=batch.pk, actor=rita)
    with pytest.raises(ServiceError, match="approved, not in_review"):
        batch_claim(batch_id=batch.pk, actor=rita)
    assert not Claim.objects.filter(batch=batch, holder__isnull=False).exists()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
