"""The audit trail is visible on the batch and exportable as CSV, with cells a spreadsheet
would run as a formula neutralised; bulk admin actions go through the services, one audit
event per batch; status fields cannot be posted."""

import csv
import io

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, Batch, BatchStatus
from apps.core.spreadsheets import safe_cell
from apps.review.services import batch_claim, batch_reject, message_exclude
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def batch(acme_campaign, acme_prospects):
    return in_review_batch(acme_campaign, acme_prospects)


def download(client, batch) -> list[list[str]]:
    response = client.get(reverse("admin:core_batch_audit_csv", args=[batch.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert f"batch-{batch.pk}-audit.csv" in response["Content-Disposition"]
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_has_every_event_with_formulas_neutralised(client, rita, batch):
    message = batch.messages.first()
    batch_claim(batch_id=batch.pk, actor=rita)
    message_exclude(message_id=message.pk, actor=rita, reason="=HYPERLINK(\"http://evil\")")
    batch_reject(batch_id=batch.pk, actor=rita, reason="+1 too pushy", code="off_brand")
    client.force_login(rita)

    rows = download(client, batch)

    assert rows[0][:3] == ["time_utc", "actor", "action"]
    assert [r[2] for r in rows[1:]] == ["batch_claimed", "message_excluded", "batch_rejected"]
    assert rows[2][7] == "'=HYPERLINK(\"http://evil\")"
    assert rows[3][7] == "'+1 too pushy"
    assert rows[2][4] == str(message.pk)
    assert all(r[0].endswith("Z") for r in rows[1:])


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("plain", "plain"), ("a=b", "a=b"), (None, ""), (42, "42"),
])
def test_csv_safe(value, expected):
    assert safe_cell(value) == expected


def test_history_on_the_batch_screen(client, rita, batch):
    batch_claim(batch_id=batch.pk, actor=rita)
    batch_reject(batch_id=batch.pk, actor=rita, reason="<b>bold</b> claim", code="other")
    client.force_login(rita)
    body = client.get(reverse("admin:core_batch_change", args=[batch.pk])).content.decode()
    assert "batch_rejected" in body and "batch_claimed" in body
    assert "&lt;b&gt;bold&lt;/b&gt; claim" in body  # escaped


def test_bulk_approve_action_one_event_per_batch(client, rita, acme_campaign, acme_prospects):
    batches = [in_review_batch(acme_campaign, acme_prospects) for _ in range(3)]
    client.force_login(rita)
    client.post(reverse("admin:core_batch_changelist"), {
        "action": "approve_selected", "_selected_action": [b.pk for b in batches],
    })
    assert set(
        Batch.objects.filter(pk__in=[b.pk for b in batches]).values_list("status", flat=True)
    ) == {BatchStatus.APPROVED}
    approvals = AuditEvent.objects.filter(action="batch_approved")
    assert sorted(approvals.values_list("batch_id", flat=True)) == sorted(b.pk for b in batches)


def test_bulk_claim_action_refuses_what_someone_else_holds(
    client, rita, oscar, acme_campaign, acme_prospects
):
    mine, theirs = (in_review_batch(acme_campaign, acme_prospects) for _ in range(2))
    batch_claim(batch_id=theirs.pk, actor=oscar)
    client.force_login(rita)
    response = client.post(reverse("admin:core_batch_changelist"), {
        "action": "claim_selected", "_selected_action": [mine.pk, theirs.pk],
    }, follow=True)
    assert "claimed by oscar" in response.content.decode()
    claims = AuditEvent.objects.filter(action="batch_claimed")
    assert sorted(claims.values_list("batch_id", "actor__username")) == sorted(
        [(mine.pk, "rita"), (theirs.pk, "oscar")]
    )


def test_status_fields_are_read_only_everywhere(client, oscar, batch):
    from django.contrib import admin

    from apps.core.models import Message

    for model, field in ((Batch, "status"), (Message, "send_status"), (Message, "worst_severity"),
                         (Message, "excluded"), (Message, "approved_hash")):
        model_admin = admin.site._registry[model]
        request = type("R", (), {"user": oscar})()
        assert field in model_admin.get_readonly_fields(request, model.objects.first()), (
            model,
            field,
        )
