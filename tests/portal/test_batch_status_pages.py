"""A client user sees their own client's batches and each one's status, and a 404 for anyone
else's — the same 404 as for a batch that does not exist."""

import pytest
from django.urls import reverse

from tests.conftest import in_review_batch, make_campaign

pytestmark = pytest.mark.django_db


def test_list_shows_own_batches_with_status(
    client, carl, acme_batch, globex_batch, django_assert_max_num_queries
):
    client.force_login(carl)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("portal:batch-list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"#{acme_batch.pk}" in body
    assert "In review" in body
    assert "Globex secret launch" not in body
    assert f"#{globex_batch.pk}<" not in body


def test_detail_of_own_batch(client, carl, acme_batch):
    client.force_login(carl)
    response = client.get(reverse("portal:batch-detail", args=[acme_batch.pk]))
    assert response.status_code == 200
    assert "In review" in response.content.decode()


def test_another_clients_batch_is_404(client, carl, globex_batch):
    client.force_login(carl)
    response = client.get(reverse("portal:batch-detail", args=[globex_batch.pk]))
    assert response.status_code == 404
    assert "Globex secret launch" not in response.content.decode()


def test_missing_batch_is_the_same_404(client, carl, acme_batch):
    client.force_login(carl)
    assert (
        client.get(reverse("portal:batch-detail", args=[acme_batch.pk + 1000])).status_code == 404
    )


def test_anonymous_is_sent_to_login(client, acme_batch):
    for url in (reverse("portal:batch-list"), reverse("portal:batch-detail", args=[acme_batch.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_staff_without_a_client_sees_no_portal(client, rita, acme_batch):
    client.force_login(rita)
    assert client.get(reverse("portal:batch-detail", args=[acme_batch.pk])).status_code == 404


def test_user_supplied_text_is_escaped(client, carl, acme_client, acme_prospects):
    campaign = make_campaign(acme_client, name="<script>alert(1)</script>")
    batch = in_review_batch(campaign, acme_prospects)
    client.force_login(carl)
    for url in (reverse("portal:batch-list"), reverse("portal:batch-detail", args=[batch.pk])):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_client_users_never_reach_the_admin(client, carl):
    client.force_login(carl)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_a_batch_paused_by_the_bounce_breaker_says_so(client, carl, acme_batch):
    from apps.core.models import Message, SendStatus

    first = acme_batch.messages.order_by("pk").first()
    Message.objects.filter(pk=first.pk).update(
        approved_hash=first.content_hash, send_status=SendStatus.FAILED
    )
    client.force_login(carl)
    for url in (reverse("portal:batch-list"), reverse("portal:batch-detail", args=[acme_batch.pk])):
        assert "Paused (sending stopped: too many bounces" in client.get(url).content.decode()
    progress = client.get(reverse("portal:batch-progress", args=[acme_batch.pk])).json()
    assert progress["status_display"].startswith("Paused")
