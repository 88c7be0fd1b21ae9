"""Every portal page and API endpoint, asked by someone who is not the batch's client: a 404
(the same as a missing id), a login redirect or a 401 — and never the other client's data."""

import pytest
from django.urls import reverse

from apps.portal.models import ApiToken
from apps.portal.services import token_revoke
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db

PORTAL_PAGES = ["portal:batch-detail", "portal:batch-progress"]
API_GETS = ["/api/v1/batches/{id}", "/api/v1/batches/{id}/findings"]
SECRET = "Globex secret launch"


def _no_leak(response):
    body = response.content.decode()
    assert SECRET not in body and "hank@globex.com" not in body


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_portal_page_of_another_client_is_404(client, carl, globex_batch, name):
    client.force_login(carl)
    response = client.get(reverse(name, args=[globex_batch.pk]))
    assert response.status_code == 404
    _no_leak(response)
    missing = client.get(reverse(name, args=[globex_batch.pk + 999]))
    assert missing.status_code == 404


def test_portal_approve_of_another_clients_batch_is_404(client, carl, globex_batch):
    client.force_login(carl)
    assert client.post(reverse("portal:batch-approve", args=[globex_batch.pk])).status_code == 404


@pytest.mark.parametrize("name", PORTAL_PAGES + ["portal:batch-approve"])
def test_portal_anonymous_goes_to_login(client, globex_batch, name):
    response = client.get(reverse(name, args=[globex_batch.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_portal_list_shows_only_own(client, carl, acme_batch, globex_batch):
    client.force_login(carl)
    response = client.get(reverse("portal:batch-list"))
    assert response.status_code == 200
    _no_leak(response)


@pytest.mark.parametrize("path", API_GETS)
def test_api_other_clients_batch_is_404_json(client, acme_token, globex_batch, path):
    response = client.get(path.format(id=globex_batch.pk), **bearer(acme_token))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    _no_leak(response)
    missing = client.get(path.format(id=globex_batch.pk + 999), **bearer(acme_token))
    assert missing.status_code == 404 and missing.json() == response.json()


def test_api_list_shows_only_own(client, acme_token, acme_batch, globex_batch):
    response = client.get("/api/v1/batches", **bearer(acme_token))
    assert [item["id"] for item in response.json()["items"]] == [acme_batch.pk]
    _no_leak(response)


def test_api_create_with_another_clients_campaign_is_404(client, acme_token, globex_batch):
    response = client.post(
        "/api/v1/batches",
        {"campaign_id": globex_batch.campaign_id, "prospect_emails": ["hank@globex.com"]},
        content_type="application/json", **bearer(acme_token),
    )
    assert response.status_code == 404
    _no_leak(response)


@pytest.mark.parametrize("path", API_GETS + ["/api/v1/batches"])
@pytest.mark.parametrize("credentials", ["none", "garbage", "revoked"])
def test_api_without_a_live_token_is_401(client, acme_token, acme_batch, oscar, path, credentials):
    headers = {}
    if credentials == "garbage":
        headers = bearer("obr_not-a-token")
    if credentials == "revoked":
        token_revoke(token_id=ApiToken.objects.get().pk, actor=oscar)
        headers = bearer(acme_token)
    response = client.get(path.format(id=acme_batch.pk), **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert "Spring outreach" not in response.content.decode()
