"""The operators' capacity page: live load per tier against what the roster can review within
each target, the 80 % line and the quotes it is lengthening, arrivals by hour of the week and
the reviewers' measured rates. Operators only; its query count does not grow with the queue."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.core.models import BatchStatus, Client, Prospect, ReviewPolicy, Tier
from apps.planning.models import BatchQuote, Shift
from tests.conftest import in_review_batch, make_campaign
from tests.planning.support import record_history

pytestmark = pytest.mark.django_db
URL = reverse("admin:planning_capacity")


def on_shift_all_week(reviewer) -> None:
    Shift.objects.bulk_create(
        Shift(reviewer=reviewer, weekday=day, start_hour=0, end_hour=24) for day in range(7)
    )


def priority_batch(size: int, name: str = "Initrode"):
    client = Client.objects.create(
        name=name, tier=Tier.PRIORITY, review_policy=ReviewPolicy.REVIEW_ALL
    )
    prospects = [
        Prospect.objects.create(
            client=client, email=f"p{i}@initrode.com", first_name="Pat", company="Initrode"
        )
        for i in range(size)
    ]
    return in_review_batch(make_campaign(client), prospects)


def lengthen_quote(batch, *, by: timedelta) -> None:
    now = timezone.now()
    BatchQuote.objects.create(
        batch=batch, round_number=1, first_quoted_at=now,
        first_expected_at=now + timedelta(minutes=10),
        computed_at=now, expected_at=now + timedelta(minutes=10) + by, changed_at=now, position=1,
        queue_length=2, explanation="",
    )


@pytest.fixture
def queue(planning_seeded, rita, acme_campaign, acme_prospects):
    """rita on shift around the clock, with no history: the prior's 45 s a message, 80 an
    hour, so 40 messages within priority's 30 min and 320 within standard's 4 h."""
    on_shift_all_week(rita)
    urgent = priority_batch(40)
    standard = in_review_batch(acme_campaign, acme_prospects)
    return urgent, standard


def test_load_per_tier_against_the_roster(client, oscar, queue):
    client.force_login(oscar)
    page = client.get(URL).content.decode()
    priority_row = page.split('id="load-priority"')[1].split("</tr>")[0]
    standard_row = page.split('id="load-standard"')[1].split("</tr>")[0]
    # Priority: 40 messages over 40 it can review in 30 min; standard: 43 (priority's go
    # first) over 320.
    assert "<td>1</td><td>40</td><td>40</td>" in priority_row and "100 %" in priority_row
    assert "over 80 %" in priority_row
    assert "<td>1</td><td>3</td><td>43</td>" in standard_row and "13 %" in standard_row
    assert "over 80 %" not in standard_row
    assert 'aria-label="Load against the roster&#x27;s capacity"' in page


def test_lists_the_quotes_the_load_is_lengthening(client, oscar, queue):
    urgent, standard = queue
    lengthen_quote(urgent, by=timedelta(minutes=25))
    lengthen_quote(standard, by=timedelta(minutes=5))  # moved, but its tier is under 80 %
    client.force_login(oscar)
    table = client.get(URL).content.decode().split('id="lengthened"')[1].split("</table>")[0]
    assert f">{urgent.pk}</a>" in table and "0:25:00" in table
    assert f">{standard.pk}</a>" not in table


def test_nobody_on_the_roster_is_over_the_line(
    client, oscar, planning_seeded, acme_campaign, acme_prospects
):
    in_review_batch(acme_campaign, acme_prospects)
    client.force_login(oscar)
    row = client.get(URL).content.decode().split('id="load-standard"')[1].split("</tr>")[0]
    assert "nobody on the roster" in row and "over 80 %" in row


def test_arrivals_and_reviewer_rates_from_history(client, oscar, rita, planning_seeded):
    record_history(
        now=timezone.now(), days=28, per_hour={"standard": 1.0},
        handling_minutes={"standard": 10.0},
        reviewer=rita,
    )
    client.force_login(oscar)
    page = client.get(URL).content.decode()
    assert "Batches entering review per hour of the week" in page
    rates = page.split('id="rates"')[1].split("</table>")[0]
    assert "<td>rita</td>" in rates
    # About 28 × 24 rounds of 20 messages, 10 min each: 30 s a message measured.
    measured = float(rates.split("</td>")[4].split("<td>")[1])
    assert measured == pytest.approx(30, rel=0.15)


def test_query_count_does_not_grow_with_the_queue(client, oscar, rita, queue):
    record_history(
        now=timezone.now(), days=1, per_hour={"priority": 1.0}, handling_minutes={"priority": 5.0},
        reviewer=rita,
    )
    client.force_login(oscar)
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL).status_code == 200
    for n in range(6):
        lengthen_quote(priority_batch(3, name=f"Client {n}"), by=timedelta(minutes=n + 1))
    record_history(
        now=timezone.now(), days=7, per_hour={"standard": 1.0}, handling_minutes={"standard": 10.0},
        reviewer=oscar,
    )
    with CaptureQueriesContext(connection) as many:
        assert client.get(URL).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(many.captured_queries) <= 20


def test_reviewers_may_not_see_it(client, rita, planning_seeded):
    client.force_login(rita)
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_log_in(client, planning_seeded):
    assert client.get(URL).status_code == 302


def test_batches_not_in_review_do_not_count(client, oscar, queue):
    urgent, _ = queue
    type(urgent).objects.filter(pk=urgent.pk).update(status=BatchStatus.APPROVED)
    client.force_login(oscar)
    row = client.get(URL).content.decode().split('id="load-priority"')[1].split("</tr>")[0]
    assert "<td>0</td><td>0</td><td>0</td>" in row
