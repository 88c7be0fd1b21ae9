"""Opt-out that works: every message carries List-Unsubscribe and List-Unsubscribe-Post
(RFC 8058) pointing at a signed link; a one-click POST suppresses the address for that client
at once, and later sends skip it. A forged or altered link gets a bare 404."""

import re

import pytest
from django.test import Client as HttpClient

from apps.core.models import AuditEvent, Message, SendStatus, Suppression, content_hash
from apps.sending.services import batch_send
from apps.sending.unsubscribe import unsubscribe_token
from tests.sending.conftest import approved_batch

pytestmark = pytest.mark.django_db


def link_path(received) -> str:
    header = "".join(received.header("List-Unsubscribe").split())
    match = re.fullmatch(r"<http://testserver(/unsubscribe/[^>]+)>", header)
    assert match, header
    return match.group(1)


@pytest.fixture
def sent_batch(smtp_server, acme_campaign, settings):
    settings.SITE_URL = "http://testserver"
    batch = approved_batch(acme_campaign, 2)
    batch_send(batch_id=batch.pk)
    return batch


def test_every_message_carries_one_click_headers(sent_batch, smtp_server):
    assert len(smtp_server.messages) == 2
    for received in smtp_server.messages:
        assert received.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        assert link_path(received)
    paths = {link_path(r) for r in smtp_server.messages}
    assert len(paths) == 2  # one per recipient


def test_one_click_post_suppresses_at_once_and_later_batches_skip_it(
    sent_batch, smtp_server, acme_campaign
):
    received = smtp_server.messages[0]
    recipient = received.rcpt_tos[0]
    # As a mailbox provider sends it: no session, no CSRF token.
    response = HttpClient(enforce_csrf_checks=True).post(
        link_path(received), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    suppression = Suppression.objects.get(email=recipient)
    assert suppression.client == acme_campaign.client
    assert AuditEvent.objects.filter(action="recipient_unsubscribed").count() == 1
    # A second click changes nothing.
    HttpClient().post(link_path(received))
    assert Suppression.objects.filter(email=recipient).count() == 1

    # A later batch to the same person (the address in other letter case), approved as it is.
    later = approved_batch(acme_campaign, 2, start=100)
    m = Message.objects.filter(batch=later).order_by("pk").first()
    digest = content_hash(recipient=recipient.upper(), subject=m.subject, body=m.body)
    Message.objects.filter(pk=m.pk).update(
        recipient=recipient.upper(), content_hash=digest, approved_hash=digest
    )
    batch_send(batch_id=later.pk)

    assert Message.objects.get(pk=m.pk).send_status == SendStatus.NOT_SCHEDULED
    to = [r.rcpt_tos[0].lower() for r in smtp_server.messages]
    assert to.count(recipient) == 1  # only the mail before the click


def test_get_shows_a_confirmation_and_changes_nothing(sent_batch, smtp_server):
    received = smtp_server.messages[0]

    response = HttpClient().get(link_path(received))

    assert response.status_code == 200
    assert b"<form method=\"post\">" in response.content
    assert received.rcpt_tos[0].encode() in response.content
    assert not Suppression.objects.exists()


@pytest.mark.parametrize("token", [
    "nonsense",
    unsubscribe_token(client_id=1, email="a@b.com")[:-2] + "xx",  # altered signature
])
def test_a_bad_link_is_a_bare_404(token, acme_client):
    for method in ("get", "post"):
        response = getattr(HttpClient(), method)(f"/unsubscribe/{token}")
        assert response.status_code == 404
        assert b"signature" not in response.content.lower()
    assert not Suppression.objects.exists()


def test_a_link_for_a_client_that_is_gone_is_a_404(acme_client):
    token = unsubscribe_token(client_id=acme_client.pk + 1000, email="a@b.com")
    assert HttpClient().post(f"/unsubscribe/{token}").status_code == 404


def test_other_methods_are_refused(acme_client):
    token = unsubscribe_token(client_id=acme_client.pk, email="a@b.com")
    assert HttpClient().put(f"/unsubscribe/{token}").status_code == 405
