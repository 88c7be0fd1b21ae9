"""A client's approver may approve its own batch with no findings where the client allows it;
viewers, flagged batches and clients that do not allow it are refused."""

import pytest
from django.urls import reverse

from apps.core.models import Batch, BatchStatus, ClientRole, ClientUser, Finding

pytestmark = pytest.mark.django_db


@pytest.fixture
def approver(carl, acme_client):
    ClientUser.objects.filter(user=carl).update(role=ClientRole.APPROVER)
    acme_client.client_may_approve_clean = True
    acme_client.save()
    return carl


def _approve(client, user, batch):
    client.force_login(user)
    return client.post(reverse("portal:batch-approve", args=[batch.pk]), follow=True)


def test_approver_approves_a_clean_batch(client, approver, acme_batch):
    client.force_login(approver)
    page = client.get(reverse("portal:batch-detail", args=[acme_batch.pk]))
    assert "Approve this batch" in page.content.decode()
    _approve(client, approver, acme_batch)
    batch = Batch.objects.get(pk=acme_batch.pk)
    assert batch.status == BatchStatus.APPROVED and batch.decided_by == approver


def test_viewer_is_refused(client, carl, acme_client, acme_batch):
    acme_client.client_may_approve_clean = True
    acme_client.save()
    response = _approve(client, carl, acme_batch)
    assert "Only an approver" in response.content.decode()
    assert Batch.objects.get(pk=acme_batch.pk).status == BatchStatus.IN_REVIEW


def test_client_that_does_not_allow_it_is_refused(client, approver, acme_client, acme_batch):
    acme_client.client_may_approve_clean = False
    acme_client.save()
    _approve(client, approver, acme_batch)
    assert Batch.objects.get(pk=acme_batch.pk).status == BatchStatus.IN_REVIEW


def test_flagged_batch_stays_for_a_reviewer(client, approver, acme_batch):
    Finding.objects.create(
        message=acme_batch.messages.first(),
        batch=acme_batch,
        rule_code="recipient_domain.unknown",
        severity="review",
        field="email",
        explanation="x",
    )
    response = _approve(client, approver, acme_batch)
    assert "reviewer must decide" in response.content.decode()
    assert Batch.objects.get(pk=acme_batch.pk).status == BatchStatus.IN_REVIEW
