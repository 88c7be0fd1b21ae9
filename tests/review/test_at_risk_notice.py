"""A batch at risk of breaching its tier's SLA e-mails the operators, through a real SMTP
server, before the breach and once per batch (per review round)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from apps.core.models import AuditEvent, BatchStatus, Tier
from apps.review.models import SlaTarget
from apps.review.services import batch_route, notify_at_risk
from tests.conftest import make_batch

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def routed(acme_client, acme_campaign, acme_prospects):
    """Acme is standard tier: 95 % within 4 h, at risk after 75 % of that (3 h)."""
    SlaTarget.objects.filter(tier=Tier.STANDARD).update(target_minutes=240, at_risk_pct=75)
    batch = make_batch(acme_campaign, acme_prospects, status=BatchStatus.VALIDATING,
                       validated_at=T0, worst_severity="")
    with time_machine.travel(T0, tick=False):
        batch_route(batch_id=batch.pk)
    return batch


def test_operators_told_once_before_the_breach(routed, oscar, rita, smtp_server, settings,
                                              django_capture_on_commit_callbacks):
    settings.SITE_URL = "http://127.0.0.1:8123"  # as ./run --port 8123 sets it
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_at_risk(now=T0 + timedelta(minutes=170)) == 0
    assert smtp_server.messages == []

    with django_capture_on_commit_callbacks(execute=True):
        assert notify_at_risk(now=T0 + timedelta(minutes=185)) == 1
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ("oscar@outbound.test",)  # operators, not reviewers
    assert f"Batch {routed.pk}" in mail.subject and "at risk" in mail.subject
    assert b"13:00 UTC" in mail.raw  # the deadline: entered 09:00 + 4 h
    assert f"http://127.0.0.1:8123/admin/core/batch/{routed.pk}/change/".encode() in mail.raw

    with django_capture_on_commit_callbacks(execute=True):
        assert notify_at_risk(now=T0 + timedelta(minutes=200)) == 0
        assert notify_at_risk(now=T0 + timedelta(minutes=300)) == 0
    assert len(smtp_server.messages) == 1
    assert AuditEvent.objects.filter(batch=routed, action="batch_at_risk").count() == 1


def test_decided_batches_are_not_reported(
    routed, oscar, rita, smtp_server, django_capture_on_commit_callbacks
):
    from apps.review.services import batch_approve

    batch_approve(batch_id=routed.pk, actor=rita)
    with django_capture_on_commit_callbacks(execute=True):
        assert notify_at_risk(now=T0 + timedelta(minutes=300)) == 0
    assert smtp_server.messages == []
