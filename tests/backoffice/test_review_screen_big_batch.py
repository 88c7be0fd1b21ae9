"""The review screen of a big batch is paginated and runs a constant number of queries: the
same for 3 messages as for 20,000."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.models import Batch, BatchStatus, Finding, Message, Prospect, content_hash
from apps.review.services import batch_claim
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db
BIG = 20_000


def big_batch(client, campaign, size: int) -> Batch:
    prospects = Prospect.objects.bulk_create(
        (
            Prospect(client=client, email=f"p{i}@initech.com", company="Initech")
            for i in range(size)
        ),
        batch_size=5000,
    )
    batch = Batch.objects.create(client=client, campaign=campaign, status=BatchStatus.IN_REVIEW)
    body = "Hi Initech GmbH team,\n"
    messages = Message.objects.bulk_create(
        (Message(batch=batch, prospect=p, recipient=p.email, subject="Hello", body=body,
                 content_hash=content_hash(recipient=p.email, subject="Hello", body=body),
                 worst_severity="block") for p in prospects),
        batch_size=5000,
    )
    Finding.objects.bulk_create(
        (
            Finding(
                message=m,
                batch_id=m.batch_id,
                rule_code="legal_form",
                severity="block",
                field="body",
                start=10,
                end=15,
                explanation="Legal form GmbH",
                suggestion="",
            )
            for m in messages
        ),
        batch_size=5000,
    )
    # As autovacuum would have by the time a reviewer opens a batch this size: without
    # statistics the planner takes the new rows for a handful and picks nested loops. What is
    # asserted here is the number of queries, not how long PostgreSQL takes over them.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_prospect, core_message, core_finding")
    return batch


def screen_queries(client, batch, page=1):
    cache.clear()  # the finding groups are cached per batch state: measure the cold screen
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:core_batch_change", args=[batch.pk]), {"page": page})
    assert response.status_code == 200
    return response, len(queries)


def test_constant_queries_for_20k_messages(
    client, rita, acme_client, acme_campaign, acme_prospects
):
    client.force_login(rita)
    small = in_review_batch(acme_campaign, acme_prospects)
    batch_claim(batch_id=small.pk, actor=rita)
    screen_queries(client, small)  # warms Django's content-type cache
    _, small_count = screen_queries(client, small)

    big = big_batch(acme_client, acme_campaign, BIG)
    batch_claim(batch_id=big.pk, actor=rita)
    response, big_count = screen_queries(client, big, page=7)

    assert big_count == small_count
    assert response.context["page"].paginator.count == BIG
    assert len(response.context["page"].object_list) == 50
    body = response.content.decode()
    assert f"{BIG} messages contain “ GmbH”" in body
    assert "page 7 of 400" in body
