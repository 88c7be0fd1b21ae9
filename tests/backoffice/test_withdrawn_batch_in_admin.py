"""A batch the client withdrew, as a reviewer meets it: not in the queue, the review screen
says who withdrew it and offers no decision, and a decision sent anyway is told who acted."""

import pytest
from django.urls import reverse

from apps.core.models import Batch, BatchStatus
from apps.review.services import batch_withdraw
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def withdrawn_batch(acme_campaign, acme_prospects, carl):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_withdraw(batch=batch, actor=carl)
    return batch


def test_review_screen_says_the_client_withdrew_it(client, rita, withdrawn_batch):
    client.force_login(rita)
    page = client.get(reverse("admin:core_batch_change", args=[withdrawn_batch.pk]))
    body = page.content.decode()
    assert 'id="withdrawn"' in body and "carl withdrew this batch" in body
    assert "Approve batch" not in body


def test_not_in_the_queue(client, rita, withdrawn_batch, acme_campaign, acme_prospects):
    waiting = in_review_batch(acme_campaign, acme_prospects)
    client.force_login(rita)
    queue = client.get(reverse("admin:core_batch_queue")).content.decode()
    assert reverse("admin:core_batch_change", args=[waiting.pk]) in queue
    assert reverse("admin:core_batch_change", args=[withdrawn_batch.pk]) not in queue


def test_a_late_approval_is_told_who_acted(client, rita, withdrawn_batch):
    client.force_login(rita)
    response = client.post(reverse("admin:core_batch_approve", args=[withdrawn_batch.pk]),
                           follow=True)
    assert "is withdrawn, not in_review: carl (at" in response.content.decode()
    assert Batch.objects.get(pk=withdrawn_batch.pk).status == BatchStatus.WITHDRAWN
