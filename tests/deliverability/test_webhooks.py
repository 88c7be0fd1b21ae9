"""Bounces and complaints by webhook (issue 14, item 2): Postmark (basic auth) and Mailgun
(signature), through django-anymail's real views and our URLs. A forged event is refused and
changes nothing; a replayed one is applied once; an endpoint without its secret is off."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings as django_settings

from apps.core.models import AuditEvent, Message, SendStatus, Suppression
from apps.deliverability.inbox import webhook_events_apply
from apps.deliverability.models import BounceEvent
from apps.sending import verp
from tests.deliverability.conftest import sent_batch

pytestmark = pytest.mark.django_db
SECRET = "outbound:a-long-webhook-password"
SIGNING_KEY = "key-mailgun-signing-0123456789"


@pytest.fixture(autouse=True)
def webhooks_configured(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def message(acme_campaign) -> Message:
    return Message.objects.filter(batch=sent_batch(acme_campaign, 2)).earliest("pk")


def basic_auth(credentials: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def postmark(client, payload: dict, **auth):
    """Post the event, then run the inbox's applier (as its job would)."""
    auth = auth or basic_auth()
    response = client.post("/webhooks/postmark/tracking/", json.dumps(payload),
                           content_type="application/json", **auth)
    webhook_events_apply()
    return response


def postmark_bounce(message: Message, *, bounce_id=4242, kind="HardBounce") -> dict:
    return {
        "RecordType": "Bounce", "ID": bounce_id, "Type": kind, "TypeCode": 1,
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Email": message.recipient,
        "BouncedAt": "2026-12-07T00:40:00Z", "Description": "The server was unable to deliver",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist",
        "Metadata": {"outbound-message-id": message.message_id_header},
    }


def mailgun(client, event_data: dict, *, key: str = SIGNING_KEY, token: str = "a" * 50):
    timestamp = str(int(time.time()))
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    body = {"signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": event_data}
    response = client.post("/webhooks/mailgun/tracking/", json.dumps(body),
                           content_type="application/json", **basic_auth())
    webhook_events_apply()
    return response


def mailgun_event(message: Message, *, event="failed", severity="permanent", event_id="mg-1",
                  header=None) -> dict:
    header = message.message_id_header.strip("<>") if header is None else header
    return {
        "id": event_id, "event": event, "severity": severity, "timestamp": time.time(),
        "recipient": message.recipient, "reason": "bounce",
        "delivery-status": {"code": 550, "message": "5.1.1 user unknown", "description": ""},
        "message": {"headers": {"message-id": header}},
        "envelope": {"sender": "postmaster@mg.acme.test", "targets": message.recipient},
    }


def suppressed(message: Message) -> bool:
    return Suppression.objects.filter(client=message.batch.client,
                                      email=message.recipient.lower()).exists()


def test_a_postmark_hard_bounce_suppresses_the_recipient(client, message):
    response = postmark(client, postmark_bounce(message))

    assert response.status_code == 200
    event = BounceEvent.objects.get()
    assert (event.kind, event.source, event.message_id) == ("hard", "postmark", message.pk)
    assert event.key == "postmark:4242"
    assert suppressed(message)


def test_a_replayed_postmark_event_is_applied_once(client, message):
    assert postmark(client, postmark_bounce(message)).status_code == 200
    Suppression.objects.all().delete()  # an operator lifted it meanwhile

    assert postmark(client, postmark_bounce(message)).status_code == 200

    assert BounceEvent.objects.count() == 1
    assert not suppressed(message)
    assert AuditEvent.objects.filter(action="report_hard").count() == 1


@pytest.mark.parametrize("auth", [{}, basic_auth("outbound:wrong-password-123456")],
                         ids=["no auth", "wrong password"])
def test_a_postmark_event_without_the_secret_is_refused(client, message, auth):
    response = client.post("/webhooks/postmark/tracking/", json.dumps(postmark_bounce(message)),
                           content_type="application/json", **auth)

    assert response.status_code in (400, 401)
    assert not BounceEvent.objects.exists() and not suppressed(message)


def test_a_postmark_soft_bounce_suppresses_nobody(client, message):
    assert postmark(client, postmark_bounce(message, kind="SoftBounce")).status_code == 200

    assert BounceEvent.objects.get().kind == "soft"
    assert not suppressed(message)


def test_a_postmark_spam_complaint_suppresses(client, message):
    payload = postmark_bounce(message, kind="SpamComplaint") | {"RecordType": "SpamComplaint"}
    assert postmark(client, payload).status_code == 200

    assert BounceEvent.objects.get().kind == "complaint"
    assert suppressed(message)


def test_a_mailgun_permanent_failure_found_by_our_message_id(client, message):
    response = mailgun(client, mailgun_event(message))

    assert response.status_code == 200
    event = BounceEvent.objects.get()
    assert (event.kind, event.source, event.message_id, event.key) == (
        "hard", "mailgun", message.pk, "mailgun:mg-1"
    )
    assert suppressed(message)


def test_a_mailgun_event_found_by_the_verp_return_path(client, message):
    data = mailgun_event(message, header="something-else@mg.acme.test")
    data["envelope"]["sender"] = verp.return_path(message.pk)

    assert mailgun(client, data).status_code == 200

    assert BounceEvent.objects.get().message_id == message.pk


def test_a_message_id_of_another_domain_or_batch_names_no_message(client, message):
    forged = (
        f"message-{message.pk}.batch-{message.batch_id + 1}@{django_settings.MESSAGE_ID_DOMAIN}"
    )
    assert mailgun(client, mailgun_event(message, header=forged)).status_code == 200
    other = f"message-{message.pk}.batch-{message.batch_id}@elsewhere.test"
    assert mailgun(client, mailgun_event(message, header=other, event_id="mg-2")).status_code == 200

    assert list(BounceEvent.objects.values_list("message_id", flat=True)) == [None, None]
    assert not suppressed(message)


def test_a_mailgun_event_with_a_forged_signature_is_refused(client, message):
    response = mailgun(client, mailgun_event(message), key="not-the-signing-key")

    assert response.status_code == 400
    assert not BounceEvent.objects.exists() and not suppressed(message)


def test_a_replayed_mailgun_event_is_applied_once(client, message):
    data = mailgun_event(message, event="complained", severity=None)
    assert mailgun(client, data).status_code == 200
    assert mailgun(client, data, token="b" * 50).status_code == 200  # same event, new signature

    assert BounceEvent.objects.filter(kind="complaint").count() == 1
    assert suppressed(message)


def test_a_mailgun_temporary_failure_is_soft(client, message):
    assert mailgun(client, mailgun_event(message, severity="temporary")).status_code == 200

    assert BounceEvent.objects.get().kind == "soft"
    assert not suppressed(message)


def test_a_delivery_event_resolves_an_unknown_send(client, acme_campaign):
    from tests.sending.conftest import unknown_batch

    message = Message.objects.filter(batch=unknown_batch(acme_campaign, 1)).get()
    assert mailgun(client, mailgun_event(message, event="delivered")).status_code == 200

    message.refresh_from_db()
    assert message.send_status == SendStatus.SENT
    assert AuditEvent.objects.filter(message=message, action="unknown_resolved_sent").exists()


def test_opens_and_clicks_change_nothing(client, message):
    assert mailgun(client, mailgun_event(message, event="opened")).status_code == 200

    assert not BounceEvent.objects.exists()


@pytest.mark.parametrize("path", ["/webhooks/postmark/tracking/", "/webhooks/mailgun/tracking/"])
def test_an_endpoint_without_its_secret_is_off(client, settings, message, path):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "", "MAILGUN_WEBHOOK_SIGNING_KEY": ""}

    response = client.post(path, json.dumps(postmark_bounce(message)),
                           content_type="application/json")

    assert response.status_code == 404
    assert not BounceEvent.objects.exists()


def test_get_is_not_allowed(client):
    assert client.get("/webhooks/postmark/tracking/", **basic_auth()).status_code == 405


def test_a_malformed_webhook_secret_fails_check_without_echoing_it():
    from tests.core.test_settings_checks import manage

    result = manage("check", ANYMAIL_WEBHOOK_SECRET="outbound:short")
    output = result.stdout + result.stderr

    assert result.returncode != 0, output
    assert "ANYMAIL_WEBHOOK_SECRET must be user:password" in output
    assert "outbound:short" not in output


def test_postmark_echoes_the_composers_metadata_header_and_names_the_message(
    client, message, settings
):
    """What Postmark does with the header the Composer writes (POSTMARK_METADATA): each
    X-PM-Metadata-<key> header becomes metadata <key> of the message's webhook events."""
    from email import message_from_bytes

    from apps.sending.compose import Composer, Draft

    settings.POSTMARK_METADATA = True
    composer = Composer(client_id=message.batch.client_id, sender_name="Sam",
                        sender_email="sam@outbound.test")
    sent = message_from_bytes(composer.outgoing(Draft(
        pk=message.pk, batch_id=message.batch_id, recipient=message.recipient,
        subject=message.subject, body=message.body,
    )).data)
    metadata = {name.removeprefix("X-PM-Metadata-"): value for name, value in sent.items()
                if name.startswith("X-PM-Metadata-")}
    payload = postmark_bounce(message) | {"Metadata": metadata}

    assert postmark(client, payload).status_code == 200

    assert BounceEvent.objects.get().message_id == message.pk
