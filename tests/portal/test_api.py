"""The JSON API: lists with filters and bounded pages, one batch with its queue figures, its
findings, creating a batch that returns the quoted timeline, and JSON errors."""

import json

import pytest
from django.test import override_settings

from apps.core.models import AuditEvent, Batch, BatchStatus, Finding
from tests.conftest import make_batch
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db


def test_list_with_status_filter_and_pagination(
    client, acme_token, acme_batch, acme_campaign, acme_prospects
):
    make_batch(acme_campaign, acme_prospects, status=BatchStatus.SENT)
    everything = client.get("/api/v1/batches", **bearer(acme_token)).json()
    assert everything["count"] == 2
    in_review = client.get("/api/v1/batches?status=in_review", **bearer(acme_token)).json()
    assert [item["id"] for item in in_review["items"]] == [acme_batch.pk]
    item = in_review["items"][0]
    assert item["counts"] == {"messages": 3, "excluded": 0, "flagged": 0, "sent": 0, "unknown": 0}
    assert item["in_review_since"] is not None
    page = client.get("/api/v1/batches?limit=1&offset=1", **bearer(acme_token)).json()
    assert (page["count"], len(page["items"])) == (2, 1)


def test_page_size_is_bounded(client, acme_token):
    response = client.get("/api/v1/batches?limit=101", **bearer(acme_token))
    assert response.status_code == 422
    assert response.json()["code"] == "invalid" and "limit" in response.json()["message"]


def test_one_batch_with_queue_position_and_expected_decision(client, acme_token, acme_batch):
    body = client.get(f"/api/v1/batches/{acme_batch.pk}", **bearer(acme_token)).json()
    assert body["status"] == "in_review"
    assert body["queue_position"] == 1
    assert body["expected_decision_at"] is not None
    assert body["timeline"]["queue_length"] == 1


def test_findings_summary_in_plain_words(client, acme_token, acme_batch):
    message = acme_batch.messages.first()
    Finding.objects.create(
        message=message,
        batch=acme_batch,
        rule_code="legal_form",
        severity="block",
        field="body",
        start=0,
        end=3,
        explanation="x",
    )
    rows = client.get(f"/api/v1/batches/{acme_batch.pk}/findings", **bearer(acme_token)).json()
    assert rows == [{
        "rule_code": "legal_form", "severity": "block", "messages": 1,
        "explanation": "A company legal form (like “Inc.” or “GmbH”) was left in the text.",
    }]


def test_create_returns_at_once_with_the_quoted_timeline(
    client, acme_token, acme_campaign, acme_prospects, django_capture_on_commit_callbacks
):
    payload = {
        "campaign_id": acme_campaign.pk,
        "prospect_emails": [p.email.upper() for p in acme_prospects[:2]],
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            "/api/v1/batches", payload, content_type="application/json", **bearer(acme_token)
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "generating"
    assert body["timeline"]["queue_position"] == 1 and body["expected_decision_at"]
    batch = Batch.objects.get(pk=body["id"])
    assert batch.prospects.count() == 2
    assert len(callbacks) == 1  # the generate job, after commit
    event = AuditEvent.objects.get(batch=batch)
    assert event.actor is None and event.actor_label.startswith("api token obr_")


def test_create_with_unknown_prospects_is_refused_and_creates_nothing(
    client, acme_token, acme_campaign
):
    payload = {"campaign_id": acme_campaign.pk, "prospect_emails": ["nobody@nowhere.com"]}
    response = client.post(
        "/api/v1/batches", payload, content_type="application/json", **bearer(acme_token)
    )
    assert response.status_code == 422
    assert (
        response.json()["code"] == "refused" and "nobody@nowhere.com" in response.json()["message"]
    )
    assert not Batch.objects.exists()


def test_malformed_body_is_a_json_error(client, acme_token):
    response = client.post(
        "/api/v1/batches", "{not json", content_type="application/json", **bearer(acme_token)
    )
    assert response.status_code in (400, 422)
    assert set(response.json()) == {"code", "message"}


@override_settings(API_MAX_BODY_BYTES=2000)
def test_request_size_is_limited(client, acme_token, acme_campaign):
    payload = {
        "campaign_id": acme_campaign.pk,
        "prospect_emails": [f"p{i}@example.com" for i in range(200)],
    }
    response = client.post(
        "/api/v1/batches",
        json.dumps(payload),
        content_type="application/json",
        **bearer(acme_token),
    )
    assert response.status_code == 413 and response.json()["code"] == "too_large"


@override_settings(API_RATE_LIMIT_PER_MINUTE=3)
def test_rate_limit_per_token(client, acme_token, globex_token, redis_queues):
    codes = [client.get("/api/v1/batches", **bearer(acme_token)).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert client.get("/api/v1/batches", **bearer(acme_token)).json()["code"] == "rate_limited"
    # Another token has its own count.
    assert client.get("/api/v1/batches", **bearer(globex_token)).status_code == 200


def test_openapi_schema_is_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert {
        "/api/v1/batches",
        "/api/v1/batches/{batch_id}",
        "/api/v1/batches/{batch_id}/findings",
    } <= set(schema["paths"])
