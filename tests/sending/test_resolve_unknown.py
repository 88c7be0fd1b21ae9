"""Doubt goes to a person: oscar the operator sees each unknown send with its evidence and
resolves it as sent, or as to be sent again (which sends it once); both are audited."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import AuditEvent, Batch, BatchStatus, Message, SendStatus
from apps.sending.services import batch_send
from apps.sending.unknown_sends import unknown_resolve
from tests.sending.conftest import statuses

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch_with_unknown(smtp_server, three_approved):
    smtp_server.fail("drop", times=1)
    batch_send(batch_id=three_approved.pk)
    assert statuses(three_approved) == {SendStatus.UNKNOWN: 1, SendStatus.SENT: 2}
    assert Batch.objects.get(pk=three_approved.pk).status == BatchStatus.NEEDS_ATTENTION
    return three_approved


def unknown_of(batch) -> Message:
    return Message.objects.get(batch=batch, send_status=SendStatus.UNKNOWN)


def test_resolved_as_sent(batch_with_unknown, oscar, smtp_server):
    message = unknown_of(batch_with_unknown)

    unknown_resolve(message_id=message.pk, actor=oscar, decision="sent", note="in the MTA log")

    message.refresh_from_db()
    assert message.send_status == SendStatus.SENT and message.sent_at is not None
    event = AuditEvent.objects.get(message=message, action="unknown_resolved_sent")
    assert (event.actor, event.reason) == (oscar, "in the MTA log")
    batch_send(batch_id=batch_with_unknown.pk)
    assert smtp_server.count_by_message_id()[message.message_id_header] == 1


def test_resend_sends_it_once_more(
    batch_with_unknown, oscar, smtp_server, django_capture_on_commit_callbacks
):
    message = unknown_of(batch_with_unknown)

    with django_capture_on_commit_callbacks() as callbacks:
        unknown_resolve(message_id=message.pk, actor=oscar, decision="resend")
    assert Batch.objects.get(pk=batch_with_unknown.pk).status == BatchStatus.SENDING
    assert len(callbacks) == 1  # the send job, enqueued after commit

    batch_send(batch_id=batch_with_unknown.pk)

    assert statuses(batch_with_unknown) == {SendStatus.SENT: 3}
    # Once when the connection dropped, once on the person's say-so.
    assert smtp_server.count_by_message_id()[message.message_id_header] == 2
    assert AuditEvent.objects.filter(message=message, action="unknown_resolved_resend",
                                     actor=oscar).count() == 1
    assert Batch.objects.get(pk=batch_with_unknown.pk).status == BatchStatus.SENT


def test_second_resolution_loses_clearly(batch_with_unknown, oscar):
    message = unknown_of(batch_with_unknown)
    unknown_resolve(message_id=message.pk, actor=oscar, decision="sent")

    with pytest.raises(TransitionConflict):
        unknown_resolve(message_id=message.pk, actor=oscar, decision="resend")


def test_a_bad_decision_is_refused(batch_with_unknown, oscar):
    with pytest.raises(ServiceError, match="sent' or 'resend"):
        unknown_resolve(message_id=unknown_of(batch_with_unknown).pk, actor=oscar, decision="maybe")


def test_operator_sees_the_evidence_and_resolves_in_the_admin(batch_with_unknown, oscar, client):
    oscar.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="sending", codename__in=["view_unknownsend", "resolve_unknownsend"]
    ))
    message = unknown_of(batch_with_unknown)
    client.force_login(oscar)

    listing = client.get(reverse("admin:sending_unknownsend_changelist"))
    assert listing.status_code == 200
    assert message.recipient in listing.content.decode()
    assert listing.content.decode().count("field-recipient") == 1  # only the unknown one
    detail = client.get(reverse("admin:sending_unknownsend_change", args=[message.pk]))
    assert "no reply to DATA" in detail.content.decode()
    assert "message-" in detail.content.decode()

    response = client.post(reverse("admin:sending_unknownsend_changelist"), {
        "action": "resolve_as_sent", "_selected_action": [message.pk],
    })
    assert response.status_code == 302
    message.refresh_from_db()
    assert message.send_status == SendStatus.SENT
    assert AuditEvent.objects.get(action="unknown_resolved_sent").actor == oscar


def test_rita_without_the_permission_cannot_resolve(batch_with_unknown, rita, client):
    rita.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="sending", codename="view_unknownsend"
    ))
    message = unknown_of(batch_with_unknown)
    client.force_login(rita)

    response = client.post(reverse("admin:sending_unknownsend_changelist"), {
        "action": "resend", "_selected_action": [message.pk],
    })

    assert response.status_code == 403
    assert Message.objects.get(pk=message.pk).send_status == SendStatus.UNKNOWN
