"""Withdrawing from the portal (confirmation page, then POST) and the API; looks at a batch
in review are recorded (page views and API GETs), the page's own polling is not."""

import pytest

from apps.core.models import AuditEvent, Batch, BatchStatus
from apps.review.models import StatusCheck
from apps.review.services import batch_approve
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db


def test_portal_asks_then_withdraws(client, carl, acme_batch):
    client.force_login(carl)
    detail = client.get(f"/portal/batches/{acme_batch.pk}/")
    assert f'href="/portal/batches/{acme_batch.pk}/withdraw/"' in detail.content.decode()

    confirm = client.get(f"/portal/batches/{acme_batch.pk}/withdraw/")
    assert f"Yes, withdraw batch #{acme_batch.pk}" in confirm.content.decode()
    assert Batch.objects.get(pk=acme_batch.pk).status == BatchStatus.IN_REVIEW  # GET only asks

    done = client.post(f"/portal/batches/{acme_batch.pk}/withdraw/", follow=True)
    assert "withdrawn: it has left the review queue" in done.content.decode()
    assert Batch.objects.get(pk=acme_batch.pk).status == BatchStatus.WITHDRAWN
    assert 'id="withdraw"' not in done.content.decode()


def test_portal_tells_the_client_who_decided_first(client, carl, rita, acme_batch):
    client.force_login(carl)
    batch_approve(batch_id=acme_batch.pk, actor=rita)
    done = client.post(f"/portal/batches/{acme_batch.pk}/withdraw/", follow=True)
    assert "is approved, not in_review: rita (at" in done.content.decode()
    assert Batch.objects.get(pk=acme_batch.pk).status == BatchStatus.APPROVED


def test_outsider_gets_404(client, dana, acme_batch):
    client.force_login(dana)
    assert client.get(f"/portal/batches/{acme_batch.pk}/withdraw/").status_code == 404
    assert client.post(f"/portal/batches/{acme_batch.pk}/withdraw/").status_code == 404
    assert Batch.objects.get(pk=acme_batch.pk).status == BatchStatus.IN_REVIEW


def test_api_withdraw(client, acme_batch, acme_token, globex_token):
    url = f"/api/v1/batches/{acme_batch.pk}/withdraw"
    assert client.post(url, **bearer(globex_token)).status_code == 404

    response = client.post(url, **bearer(acme_token))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "withdrawn"
    event = AuditEvent.objects.get(batch=acme_batch, action="batch_withdrawn")
    assert event.actor is None and event.actor_label.startswith("api token obr_")
    again = client.post(url, **bearer(acme_token))
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert "is withdrawn, not in_review: api token obr_" in again.json()["message"]


def test_looks_are_recorded_while_in_review(client, carl, acme_batch, acme_token):
    client.force_login(carl)
    client.get(f"/portal/batches/{acme_batch.pk}/")
    client.get(f"/portal/batches/{acme_batch.pk}/")
    client.get(f"/portal/batches/{acme_batch.pk}/progress.json")  # the page's own polling
    client.get(f"/api/v1/batches/{acme_batch.pk}", **bearer(acme_token))

    sources = sorted(StatusCheck.objects.filter(batch=acme_batch).values_list("source", flat=True))
    assert sources == ["api", "portal", "portal"]


def test_looks_after_the_decision_are_not_recorded(client, carl, rita, acme_batch, acme_token):
    batch_approve(batch_id=acme_batch.pk, actor=rita)
    client.force_login(carl)
    client.get(f"/portal/batches/{acme_batch.pk}/")
    client.get(f"/api/v1/batches/{acme_batch.pk}", **bearer(acme_token))
    assert not StatusCheck.objects.filter(batch=acme_batch).exists()


@pytest.mark.django_db(transaction=True)
def test_a_look_outside_a_transaction_is_recorded(postgres_only, client, carl, acme_batch):
    """As in production (no test transaction around the request): the look commits on its own
    with synchronous_commit off for that transaction only."""
    from django.db import connection

    client.force_login(carl)
    client.get(f"/portal/batches/{acme_batch.pk}/")

    assert StatusCheck.objects.filter(batch=acme_batch, source="portal").count() == 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"  # the session's setting is untouched
