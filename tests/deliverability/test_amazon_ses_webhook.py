"""Amazon SES events through Amazon SNS (issue 14, item 2): each message's signature verified by
us against a signing certificate fetched over real HTTPS on loopback (tests/support/sns.py),
its topic checked, replays and forgeries refused, each event applied once."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from apps.core.models import AuditEvent, Message, SendStatus, Suppression
from apps.deliverability import sns
from apps.deliverability.inbox import webhook_events_apply
from apps.deliverability.models import BounceEvent, WebhookEvent
from apps.sending import verp
from tests.deliverability.conftest import sent_batch
from tests.support.sns import TOPIC, FakeSnsHost, ses_event

pytestmark = pytest.mark.django_db
URL = "/webhooks/amazon_ses/tracking/"


@pytest.fixture
def sns_host(settings):
    with FakeSnsHost() as host:
        settings.AMAZON_SES_TOPIC_ARNS = [TOPIC]
        settings.AMAZON_SNS_CERT_HOST = r"127\.0\.0\.1:\d+"  # this test's server only
        settings.AMAZON_SNS_CA_FILE = host.ca_file
        sns._cache.clear()
        yield host
    sns._cache.clear()


@pytest.fixture
def message(acme_campaign) -> Message:
    return Message.objects.filter(batch=sent_batch(acme_campaign, 2)).earliest("pk")


def post(client, body: dict | str):
    raw = body if isinstance(body, str) else json.dumps(body)
    kind = json.loads(raw).get("Type", "") if raw.startswith("{") else ""
    response = client.post(URL, raw, content_type="text/plain; charset=UTF-8",
                           HTTP_X_AMZ_SNS_MESSAGE_TYPE=kind)
    webhook_events_apply()  # as the inbox's job would
    return response


def event_for(message: Message, kind: str = "Bounce", **kwargs) -> dict:
    return ses_event(kind, recipient=message.recipient, message_id_header=message.message_id_header,
                     source="sam@acme.test", **kwargs)


def suppressed(message: Message) -> bool:
    return Suppression.objects.filter(client=message.batch.client,
                                      email=message.recipient.lower()).exists()


@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_permanent_bounce_is_applied(client, sns_host, message, version):
    response = post(client, sns_host.notification(event_for(message), version=version))

    assert response.status_code == 200, response.content
    event = BounceEvent.objects.get()
    assert (event.kind, event.source, event.message_id) == ("hard", "amazon_ses", message.pk)
    assert "550 5.1.1" in event.evidence
    assert suppressed(message)


def test_the_certificate_is_fetched_once_and_cached(client, sns_host, message):
    for _ in range(3):
        assert post(client, sns_host.notification(event_for(message))).status_code == 200

    assert sns_host.cert_fetches == 1
    assert BounceEvent.objects.count() == 3  # three bounces, three feedback ids


def test_a_replayed_notification_is_refused_and_changes_nothing(client, sns_host, message):
    notification = sns_host.notification(event_for(message, "Complaint"))
    assert post(client, notification).status_code == 200
    Suppression.objects.all().delete()  # an operator lifted it meanwhile

    response = post(client, notification)

    assert response.status_code == 409
    assert BounceEvent.objects.count() == 1
    assert not suppressed(message)
    assert AuditEvent.objects.filter(action="report_complaint").count() == 1


def test_an_old_notification_is_refused_as_a_replay(client, sns_host, message):
    old = datetime.now(UTC) - timedelta(hours=2)

    response = post(client, sns_host.notification(event_for(message), at=old))

    assert response.status_code == 400
    assert not BounceEvent.objects.exists() and not suppressed(message)


def test_a_tampered_body_is_refused(client, sns_host, message):
    notification = sns_host.notification(event_for(message, "Delivery"))
    other = Message.objects.filter(batch=message.batch).exclude(pk=message.pk).get()
    notification["Message"] = json.dumps(event_for(other))  # a delivery turned into a bounce

    response = post(client, notification)

    assert response.status_code == 400
    assert not BounceEvent.objects.exists() and not suppressed(other)


def test_a_certificate_from_another_host_is_refused(client, sns_host, message):
    notification = sns_host.notification(event_for(message))
    forged = sns_host.sign(
        {k: v for k, v in notification.items() if k not in ("Signature", "SigningCertURL")},
        cert_url="https://sns.eu-west-1.amazonaws.com.evil.test/SimpleNotificationService-x.pem",
    )

    response = post(client, forged)

    assert response.status_code == 400
    assert sns_host.cert_fetches == 0  # never fetched from there
    assert not BounceEvent.objects.exists()


def test_a_plain_http_certificate_url_is_refused(client, sns_host, message):
    notification = sns_host.sign(
        {k: v for k, v in sns_host.notification(event_for(message)).items()
         if k not in ("Signature", "SigningCertURL")},
        cert_url=sns_host.cert_url.replace("https://", "http://"),
    )

    assert post(client, notification).status_code == 400
    assert sns_host.cert_fetches == 0 and not BounceEvent.objects.exists()


def test_the_production_host_rule_refuses_loopback(settings):
    from config import settings as defaults

    settings.AMAZON_SNS_CERT_HOST = defaults.AMAZON_SNS_CERT_HOST

    assert sns.sns_url("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-a.pem")
    assert not sns.sns_url("https://127.0.0.1:8443/SimpleNotificationService-a.pem")
    assert not sns.sns_url("https://sns.eu-west-1.amazonaws.com.evil.test/x.pem")
    assert not sns.sns_url("https://evil.test@sns.eu-west-1.amazonaws.com/x.pem")


def test_another_topic_is_refused(client, sns_host, message):
    other_topic = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"

    response = post(client, sns_host.notification(event_for(message), topic=other_topic))

    assert response.status_code == 400
    assert not BounceEvent.objects.exists() and not suppressed(message)


def test_a_transient_bounce_is_soft_and_suppresses_nobody(client, sns_host, message):
    notification = sns_host.notification(event_for(message, bounce_type="Transient"))

    assert post(client, notification).status_code == 200
    assert BounceEvent.objects.get().kind == "soft"
    assert not suppressed(message)


def test_an_event_found_by_the_verp_return_path(client, sns_host, message):
    event = ses_event("Bounce", recipient=message.recipient, message_id_header="<ses-own@x>",
                      source=verp.return_path(message.pk))

    assert post(client, sns_host.notification(event)).status_code == 200
    assert BounceEvent.objects.get().message_id == message.pk


def test_a_delivery_resolves_an_unknown_send(client, sns_host, acme_campaign):
    from tests.sending.conftest import unknown_batch

    message = Message.objects.filter(batch=unknown_batch(acme_campaign, 1)).get()

    assert post(client, sns_host.notification(event_for(message, "Delivery"))).status_code == 200

    message.refresh_from_db()
    assert message.send_status == SendStatus.SENT
    assert AuditEvent.objects.filter(message=message, action="unknown_resolved_sent").exists()


def test_a_subscription_for_our_topic_is_confirmed(client, sns_host):
    response = post(client, sns_host.subscription_confirmation())

    assert response.status_code == 200
    assert len(sns_host.confirmations) == 1


def test_a_subscription_for_another_topic_is_not_confirmed(client, sns_host):
    other_topic = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"

    response = post(client, sns_host.subscription_confirmation(topic=other_topic))

    assert response.status_code == 400
    assert sns_host.confirmations == []


def test_a_subscribe_url_elsewhere_is_not_visited(client, sns_host, settings):
    # Signed by the (test) SNS key, but its SubscribeURL points at a host we must not call.
    response = post(client, sns_host.subscription_confirmation(subscribe_host="127.0.0.2:1"))

    assert response.status_code == 400
    assert sns_host.confirmations == []


def test_a_header_that_does_not_match_the_body_is_refused(client, sns_host, message):
    body = json.dumps(sns_host.notification(event_for(message)))

    response = client.post(URL, body, content_type="text/plain",
                           HTTP_X_AMZ_SNS_MESSAGE_TYPE="SubscriptionConfirmation")

    assert response.status_code == 400 and not BounceEvent.objects.exists()


def test_the_endpoint_is_off_without_topics(client, settings, sns_host, message):
    settings.AMAZON_SES_TOPIC_ARNS = []

    assert post(client, sns_host.notification(event_for(message))).status_code == 404
    assert client.get(URL).status_code == 405


def test_the_sweeper_forgets_applied_events_past_twice_the_age_limit(settings):
    from django.utils import timezone

    from apps.pipeline.sweeper import sweep

    now = timezone.now()
    limit = timedelta(seconds=settings.AMAZON_SNS_MAX_AGE_SECONDS)
    for key, age in (("old", 3 * limit), ("recent", limit)):
        WebhookEvent.objects.create(key=key, source="amazon_ses", payload={},
                                    received_at=now - age, applied_at=now - age)

    assert sweep()["webhook_events_forgotten"] == 1
    assert list(WebhookEvent.objects.values_list("key", flat=True)) == ["recent"]
