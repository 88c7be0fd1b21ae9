"""Carl's batch whose sending ended with unknown outcomes: the portal, the API and the e-mail
say "needs attention" with how many messages are in doubt and that our team is checking, never
"sent"; when oscar has resolved them it says sent. Dana (another client) sees none of it."""

import re

import pytest
from django.urls import reverse

from apps.core.models import Message
from apps.portal.notifications import notify_clients
from apps.sending.unknown_sends import unknown_resolve_many
from tests.portal.conftest import bearer
from tests.sending.conftest import unknown_batch

pytestmark = pytest.mark.django_db
EXPLANATION = "2 messages whose delivery could not be confirmed"


@pytest.fixture
def doubtful(smtp_server, acme_campaign):
    return unknown_batch(acme_campaign, 2)


def pages(batch):
    return (reverse("portal:batch-list"), reverse("portal:batch-detail", args=[batch.pk]))


def test_the_portal_says_needs_attention_never_sent(client, carl, doubtful):
    client.force_login(carl)

    for url in pages(doubtful):
        html = client.get(url).content.decode()
        assert f"Needs attention: {EXPLANATION}" in html
        assert "our team is checking" in html
        assert not re.search(r"data-status[^>]*>Sent<", html)  # no status says Sent
    detail = client.get(reverse("portal:batch-detail", args=[doubtful.pk])).content.decode()
    assert 'id="attention"' in detail and "<b>2</b> not confirmed" in detail
    progress = client.get(reverse("portal:batch-progress", args=[doubtful.pk])).json()
    assert progress["status"] == "needs_attention"
    assert progress["status_display"].startswith(f"Needs attention: {EXPLANATION}")
    assert progress["progress"]["running"] is False


def test_the_api_says_needs_attention_and_counts_the_doubt(client, acme_token, doubtful):
    item = client.get(f"/api/v1/batches/{doubtful.pk}", **bearer(acme_token)).json()
    assert item["status"] == "needs_attention"
    assert item["counts"]["unknown"] == 2 and item["counts"]["sent"] == 0
    assert item["sent_at"] is None
    listed = client.get("/api/v1/batches?status=needs_attention", **bearer(acme_token)).json()
    assert [b["id"] for b in listed["items"]] == [doubtful.pk]


def test_once_resolved_it_says_sent(client, carl, oscar, doubtful):
    ids = list(Message.objects.filter(batch=doubtful).values_list("pk", flat=True))
    unknown_resolve_many(message_ids=ids, actor=oscar, decision="sent", note="in the MTA log")
    client.force_login(carl)

    html = client.get(reverse("portal:batch-detail", args=[doubtful.pk])).content.decode()

    assert 'id="attention"' not in html
    assert 'data-badge="sent" data-status id="batch-status">Sent</span>' in html


def test_carl_is_told_by_email_then_told_sent(smtp_server, carl, oscar, doubtful):
    assert notify_clients() == 1
    mail = smtp_server.messages[-1]
    assert f"Batch #{doubtful.pk} needs attention" in mail.subject
    assert EXPLANATION in mail.raw.decode()

    ids = list(Message.objects.filter(batch=doubtful).values_list("pk", flat=True))
    unknown_resolve_many(message_ids=ids, actor=oscar, decision="sent", note="in the MTA log")

    assert notify_clients() == 1
    assert f"Batch #{doubtful.pk} sent" in smtp_server.messages[-1].subject


def test_dana_of_another_client_sees_nothing(client, dana, globex_token, doubtful):
    client.force_login(dana)
    for url in (*pages(doubtful)[1:], reverse("portal:batch-progress", args=[doubtful.pk])):
        assert client.get(url).status_code == 404
    assert f"#{doubtful.pk}<" not in client.get(reverse("portal:batch-list")).content.decode()
    assert client.get(f"/api/v1/batches/{doubtful.pk}", **bearer(globex_token)).status_code == 404
    listed = client.get("/api/v1/batches?status=needs_attention", **bearer(globex_token)).json()
    assert listed["items"] == []
