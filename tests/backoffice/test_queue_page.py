"""The review queue: batches in review ordered by SLA deadline then age, with size, findings by
kind, waiting time, an at-risk/overdue badge and who holds each; filters by client, tier,
finding kind and claimed/free; a constant number of queries however long the queue."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core.models import (
    Batch,
    BatchStatus,
    Client,
    Finding,
    Message,
    Prospect,
    Tier,
    content_hash,
)
from apps.review.services import batch_claim
from tests.conftest import _staff, make_campaign

pytestmark = pytest.mark.django_db
QUEUE = reverse("admin:core_batch_queue")


def waiting_batches(
    client: Client, ages_min: list[int], *, messages: int = 2, finding: str = ""
) -> list[Batch]:
    """Batches in review that entered `ages_min` minutes ago, built in bulk."""
    campaign = make_campaign(client)
    now = timezone.now()
    prospects = Prospect.objects.bulk_create(
        Prospect(client=client, email=f"p{i}-{campaign.pk}@initech.com") for i in range(messages)
    )
    batches = Batch.objects.bulk_create(
        Batch(client=client, campaign=campaign, status=BatchStatus.IN_REVIEW,
              entered_review_at=now - timedelta(minutes=age)) for age in ages_min
    )
    rows = [
        Message(batch=b, prospect=p, recipient=p.email, subject="s", body="b",
                content_hash=content_hash(recipient=p.email, subject="s", body="b"))
        for b in batches for p in prospects
    ]
    Message.objects.bulk_create(rows)
    if finding:
        Finding.objects.bulk_create(
            Finding(
                message=m,
                batch_id=m.batch_id,
                rule_code=finding,
                severity="block",
                field="body",
                explanation="x",
            )
            for m in rows
        )
    return batches


@pytest.fixture
def priority_client(seeded):
    return Client.objects.create(name="Initrode", tier=Tier.PRIORITY)


def rows(response) -> list[int]:
    return [b.pk for b in response.context["rows"]]


def test_ordered_by_deadline_then_age_with_badges(client, rita, acme_client, priority_client):
    # Acme standard (4 h, at risk after 3 h); Initrode priority (30 min, at risk after 22.5 min).
    old_standard, at_risk_standard, overdue_standard = waiting_batches(acme_client, [60, 200, 300])
    fresh_priority, at_risk_priority = waiting_batches(priority_client, [5, 25])
    client.force_login(rita)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert rows(response) == [
        overdue_standard.pk,   # deadline 1 h ago
        at_risk_priority.pk,   # deadline in 5 min
        fresh_priority.pk,     # deadline in 25 min
        at_risk_standard.pk,   # deadline in 40 min
        old_standard.pk,       # deadline in 3 h
    ]
    badges = {b.pk: b.badge for b in response.context["rows"]}
    assert badges == {
        overdue_standard.pk: "overdue", at_risk_priority.pk: "at risk", fresh_priority.pk: "",
        at_risk_standard.pk: "at risk", old_standard.pk: "",
    }
    body = response.content.decode()
    assert '<span class="badge badge-overdue">overdue</span>' in body


def test_filters(client, rita, oscar, acme_client, priority_client):
    [acme_flagged] = waiting_batches(acme_client, [10], finding="legal_form")
    [acme_clean] = waiting_batches(acme_client, [20])
    [initrode] = waiting_batches(priority_client, [5], finding="placeholder")
    batch_claim(batch_id=acme_clean.pk, actor=oscar)
    client.force_login(rita)

    assert rows(client.get(QUEUE, {"client": acme_client.pk})) == [acme_clean.pk, acme_flagged.pk]
    assert rows(client.get(QUEUE, {"tier": "priority"})) == [initrode.pk]
    assert rows(client.get(QUEUE, {"kind": "legal_form"})) == [acme_flagged.pk]
    assert rows(client.get(QUEUE, {"claimed": "claimed"})) == [acme_clean.pk]
    assert rows(client.get(QUEUE, {"claimed": "free"})) == [initrode.pk, acme_flagged.pk]
    page = client.get(QUEUE, {"client": acme_client.pk})
    shown = {b.pk: b for b in page.context["rows"]}
    assert shown[acme_flagged.pk].finding_kinds == [("legal_form", 2)]
    assert shown[acme_flagged.pk].size == 2
    assert shown[acme_clean.pk].holder == oscar
    assert "oscar" in page.content.decode()


def test_query_count_does_not_grow_with_the_queue(client, rita, acme_client, priority_client):
    client.force_login(rita)
    waiting_batches(acme_client, [10, 20], finding="legal_form")
    cache.clear()  # findings by kind are cached per batch state: measure the cold page
    with CaptureQueriesContext(connection) as few:
        assert client.get(QUEUE).status_code == 200

    waiting_batches(acme_client, list(range(250)), finding="legal_form")
    waiting_batches(priority_client, list(range(250)))
    other = _staff("ruth", "reviewer")
    for batch in Batch.objects.filter(status=BatchStatus.IN_REVIEW)[:20]:
        batch_claim(batch_id=batch.pk, actor=other)
    cache.clear()
    with CaptureQueriesContext(connection) as many:
        response = client.get(QUEUE)
    assert response.context["page"].paginator.count == 502
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]


def test_findings_by_kind_follow_changes(client, rita, acme_client):
    from apps.review.services import message_exclude

    [batch] = waiting_batches(acme_client, [10], finding="legal_form")
    client.force_login(rita)
    assert client.get(QUEUE).context["rows"][0].finding_kinds == [("legal_form", 2)]
    message_exclude(message_id=batch.messages.first().pk, actor=rita, reason="duplicate")
    assert client.get(QUEUE).context["rows"][0].finding_kinds == [("legal_form", 1)]


def test_queue_without_any_sla_target_is_ordered_by_age(client, rita, acme_client):
    from apps.review.models import SlaTarget

    SlaTarget.objects.all().delete()
    older, newer = waiting_batches(acme_client, [30, 10])
    client.force_login(rita)
    response = client.get(QUEUE)
    assert response.status_code == 200
    assert rows(response) == [older.pk, newer.pk]
