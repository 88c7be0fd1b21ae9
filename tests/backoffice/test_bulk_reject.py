"""Bulk reject beside bulk approve: one reason asked once on a page of its own, then one
rejection (and one audit event) per batch; a batch that cannot be rejected is named."""

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, Batch, BatchStatus
from apps.review.services import batch_claim
from tests.conftest import in_review_batch, make_batch

pytestmark = pytest.mark.django_db


def post_action(client, batches, **extra):
    return client.post(reverse("admin:core_batch_changelist"), {
        "action": "reject_selected", "_selected_action": [b.pk for b in batches], **extra,
    }, follow=True)


def test_the_action_asks_for_the_reason_first_and_rejects_nothing_yet(
    client, rita, acme_campaign, acme_prospects
):
    batches = [in_review_batch(acme_campaign, acme_prospects) for _ in range(2)]
    client.force_login(rita)

    page = post_action(client, batches).content.decode()

    assert "Reject 2 batches" in page
    assert all(f"Batch {b.pk} — Acme Outreach" in page for b in batches)
    assert set(Batch.objects.values_list("status", flat=True)) == {BatchStatus.IN_REVIEW}
    assert not AuditEvent.objects.filter(action="batch_rejected").exists()


def test_with_a_reason_each_batch_is_rejected_with_its_own_event(
    client, rita, acme_campaign, acme_prospects
):
    batches = [in_review_batch(acme_campaign, acme_prospects) for _ in range(3)]
    client.force_login(rita)

    response = post_action(client, batches, apply="1", code="off_brand",
                           reason="Tone is <b>off</b> for this client")

    assert response.status_code == 200
    assert set(Batch.objects.values_list("status", flat=True)) == {BatchStatus.REJECTED}
    events = AuditEvent.objects.filter(action="batch_rejected")
    assert sorted(events.values_list("batch_id", flat=True)) == sorted(b.pk for b in batches)
    assert {(e.actor_id, e.reason, e.data["reason_code"]) for e in events} == {
        (rita.pk, "Tone is <b>off</b> for this client", "off_brand")
    }
    assert "Tone is <b>off</b>" not in response.content.decode()  # never shown unescaped


def test_an_empty_reason_is_asked_again_and_nothing_changes(
    client, rita, acme_campaign, acme_prospects
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    client.force_login(rita)

    page = post_action(client, [batch], apply="1", code="other", reason="").content.decode()

    assert "This field is required" in page
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW


def test_a_batch_not_in_review_or_held_by_another_is_named_and_the_rest_rejected(
    client, rita, oscar, acme_campaign, acme_prospects
):
    mine = in_review_batch(acme_campaign, acme_prospects)
    theirs = in_review_batch(acme_campaign, acme_prospects)
    sent = make_batch(acme_campaign, acme_prospects, status=BatchStatus.SENT)
    batch_claim(batch_id=theirs.pk, actor=oscar)
    client.force_login(rita)

    page = post_action(client, [mine, theirs, sent], apply="1", code="other",
                       reason="Duplicate campaign").content.decode()

    assert Batch.objects.get(pk=mine.pk).status == BatchStatus.REJECTED
    assert Batch.objects.get(pk=theirs.pk).status == BatchStatus.IN_REVIEW
    assert Batch.objects.get(pk=sent.pk).status == BatchStatus.SENT
    assert f"Batch {theirs.pk} is claimed by oscar" in page
    assert f"Batch {sent.pk} is sent, not in_review" in page


def test_a_client_user_cannot_use_it(client, carl, acme_campaign, acme_prospects):
    batch = in_review_batch(acme_campaign, acme_prospects)
    client.force_login(carl)

    post_action(client, [batch], apply="1", code="other", reason="x")

    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW
