"""What a report changes, once: a hard bounce or a complaint suppresses the address for the
client with the evidence and an audit event; a soft bounce changes nothing; a report read
twice applies once; a report about an unknown send resolves it as sent (a bounce proves it
left), and the batch that needed attention is sent."""

import pytest

from apps.core.models import AuditEvent, BatchStatus, Message, SendStatus, Suppression
from apps.deliverability.models import BounceEvent, EventKind
from apps.deliverability.reading import read_report
from apps.deliverability.services import Report, report_apply
from tests.deliverability.conftest import arf_complaint, delivered_to, sample, unknown_batch

pytestmark = pytest.mark.django_db


def test_a_hard_bounce_suppresses_the_recipient_for_the_client(acme_sent, globex_client):
    message = acme_sent.messages.order_by("pk").first()
    event = report_apply(report=read_report(delivered_to(message, sample("postfix_01"))))

    suppression = Suppression.objects.get()
    assert (suppression.client_id, suppression.email) == (acme_sent.client_id, message.recipient)
    assert f"report {event.pk}" in suppression.reason
    assert not Suppression.objects.filter(client=globex_client).exists()
    audit = AuditEvent.objects.get(action="address_suppressed")
    assert audit.message_id == message.pk and "xxxxx@local.ie" in audit.reason
    assert AuditEvent.objects.filter(action="report_hard", message=message).count() == 1
    assert (event.kind, event.batch_id, event.client_id) == (
        "hard",
        acme_sent.pk,
        acme_sent.client_id,
    )


def test_a_complaint_suppresses_at_once(acme_sent):
    message = acme_sent.messages.order_by("pk").first()
    report_apply(report=read_report(arf_complaint(message)))
    assert Suppression.objects.filter(client=acme_sent.client, email=message.recipient).exists()


@pytest.mark.parametrize("name", ["dsn_05"])  # a delayed delivery
def test_a_soft_bounce_is_recorded_and_suppresses_nothing(acme_sent, name):
    message = acme_sent.messages.first()
    event = report_apply(report=read_report(delivered_to(message, sample(name))))
    assert event.kind == EventKind.SOFT
    assert not Suppression.objects.exists()


def test_a_report_read_twice_is_applied_once(acme_sent):
    message = acme_sent.messages.first()
    raw = delivered_to(message, sample("exim_01"))
    assert report_apply(report=read_report(raw)) is not None
    # An operator lifted it meanwhile: a replay must not undo that.
    Suppression.objects.all().delete()
    assert report_apply(report=read_report(raw)) is None

    assert BounceEvent.objects.count() == 1
    assert not Suppression.objects.exists()
    assert AuditEvent.objects.filter(action="report_hard").count() == 1


def test_a_report_naming_no_message_is_kept_and_changes_nothing(acme_sent):
    event = report_apply(report=Report(key="x:1", kind="hard", source="imap", message_id=None,
                                       recipient="a@b.example", evidence="?"))
    assert event.message_id is None
    assert not Suppression.objects.exists()


def test_a_bounce_resolves_an_unknown_send_as_sent(acme_campaign):
    batch = unknown_batch(acme_campaign, 2)
    assert batch.__class__.objects.get(pk=batch.pk).status == BatchStatus.NEEDS_ATTENTION
    first, second = Message.objects.filter(batch=batch).order_by("pk")

    report_apply(report=read_report(delivered_to(first, sample("postfix_01"))))
    first.refresh_from_db()
    assert first.send_status == SendStatus.SENT
    resolved = AuditEvent.objects.get(action="unknown_resolved_sent", message=first)
    assert resolved.actor_label == "system" and "proves the message left" in resolved.reason
    assert batch.__class__.objects.get(pk=batch.pk).status == BatchStatus.NEEDS_ATTENTION

    report_apply(report=read_report(delivered_to(second, sample("dsn_05"))))  # soft: left too
    assert batch.__class__.objects.get(pk=batch.pk).status == BatchStatus.SENT
    assert AuditEvent.objects.filter(action="batch_sent", batch=batch).exists()
