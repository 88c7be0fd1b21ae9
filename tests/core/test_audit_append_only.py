"""The audit trail is append-only at the database: UPDATE and DELETE are refused there."""

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.core.audit import record_event
from apps.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(rita):
    return record_event(actor=rita, action="batch_approved", at=timezone.now(), reason="fine")


def test_an_event_can_be_written_and_read_back(event, rita):
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_label, stored.action) == (rita, "rita", "batch_approved")


def test_update_is_refused_by_the_database(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten history")
    assert AuditEvent.objects.get(pk=event.pk).reason == "fine"


def test_save_of_a_changed_event_is_refused(event):
    event.action = "batch_rejected"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "batch_approved"


def test_delete_is_refused_by_the_database(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()
