"""Registering a webhook: only http(s), and in production nothing on loopback or private
networks; the portal page shows the secret once and each client only its own deliveries."""

import pytest

from apps.clienthooks.addresses import UrlRefused
from apps.clienthooks.models import WebhookDelivery, WebhookEndpoint
from apps.clienthooks.services import deliveries_fan_out, webhook_register
from apps.review.services import batch_approve
from tests.conftest import in_review_batch
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url, why", [
    ("ftp://hooks.example.com/x", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("https://user:pw@hooks.example.com/", "credentials"),
    ("https:///nohost", "no host"),
])
def test_bad_urls_are_refused(acme_client, carl, url, why):
    with pytest.raises(UrlRefused, match=why):
        webhook_register(client=acme_client, url=url, actor=carl)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9000/hook", "http://localhost/hook", "http://10.1.2.3/hook",
    "http://192.168.0.10/hook", "http://169.254.169.254/latest/meta-data", "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
])
def test_internal_addresses_refused_in_production(settings, acme_client, carl, url):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(UrlRefused, match="loopback, private or reserved"):
        webhook_register(client=acme_client, url=url, actor=carl)


def test_loopback_allowed_when_the_setting_says_so(hooks_allowed, acme_client, carl):
    secret = webhook_register(client=acme_client, url="http://127.0.0.1:9000/hook", actor=carl)
    assert secret.startswith("whsec_")
    # Changing the URL keeps the secret: nothing new to show.
    changed = webhook_register(client=acme_client, url="http://127.0.0.1:9001/hook", actor=carl)
    assert changed is None
    assert WebhookEndpoint.objects.get().secret == secret


def test_the_page_shows_the_secret_once(client, hooks_allowed, carl):
    client.force_login(carl)
    saved = client.post("/portal/settings/webhook/",
                        {"action": "save", "url": "http://127.0.0.1:9/h"})
    secret = WebhookEndpoint.objects.get().secret
    assert secret in saved.content.decode()
    assert saved["Cache-Control"] == "no-store"
    again = client.get("/portal/settings/webhook/").content.decode()
    assert secret not in again and secret[:12] in again


def test_the_page_says_why_a_url_is_refused(client, settings, carl):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    client.force_login(carl)
    page = client.post("/portal/settings/webhook/",
                       {"action": "save", "url": "http://127.0.0.1/h"}, follow=True)
    assert "loopback, private or reserved" in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_each_client_sees_only_its_own_deliveries(
    client, receiver, acme_client, acme_campaign, acme_prospects, carl, dana, rita
):
    webhook_register(client=acme_client, url=receiver.url, actor=carl)
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=batch.pk, actor=rita)
    deliveries_fan_out()
    delivery = WebhookDelivery.objects.get()

    client.force_login(carl)
    assert client.get(f"/portal/settings/webhook/deliveries/{delivery.pk}/").status_code == 200
    assert f"/portal/settings/webhook/deliveries/{delivery.pk}/" in client.get(
        "/portal/settings/webhook/").content.decode()

    client.force_login(dana)
    assert client.get(f"/portal/settings/webhook/deliveries/{delivery.pk}/").status_code == 404
    assert client.get("/portal/settings/webhook/deliveries/999999/").status_code == 404
    log = client.get("/portal/settings/webhook/").content.decode()
    assert str(delivery.idempotency_key) not in log


def test_api_create_answers_at_once_with_the_quote(
    client, receiver, acme_client, acme_campaign, acme_prospects, carl, acme_token
):
    """The webhook is the fan-out's business, not the request's: the create call answers
    with its quote before anything is POSTed."""
    webhook_register(client=acme_client, url=receiver.url, actor=carl)
    receiver.answers = ["slow"]
    response = client.post(
        "/api/v1/batches", {"campaign_id": acme_campaign.pk,
                            "prospect_emails": [p.email for p in acme_prospects]},
        content_type="application/json", **bearer(acme_token),
    )
    assert response.status_code == 201, response.content
    assert response.json()["timeline"]["expected_decision_at"]
    assert receiver.requests == []
