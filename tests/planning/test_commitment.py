"""Clients see their tier, its commitment in plain words, what it covers, and the tier's real
figures over the last 30 days: on the portal page and in the API."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from apps.core.models import ClientUser
from apps.planning.commitments import commitment_for
from apps.portal.services import token_issue
from apps.review.models import ReviewRound
from tests.conftest import make_batch, make_campaign
from tests.planning.conftest import MONDAY_10
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db


def decided_round(client, *, entered: datetime, minutes: float, messages: int = 3, tag: str):
    """A round as the review services leave it (their timings have tests of their own)."""
    from apps.core.models import BatchStatus, Prospect

    campaign = make_campaign(client, name=f"C {tag}")
    prospect = Prospect.objects.create(client=client, email=f"{tag}@initech.com")
    batch = make_batch(campaign, [prospect], status=BatchStatus.APPROVED)
    ReviewRound.objects.create(
        batch=batch, number=1, entered_at=entered, first_claimed_at=entered,
        decided_at=entered + timedelta(minutes=minutes), messages=messages,
    )


@pytest.fixture
def acme_token(acme_client, oscar):
    return token_issue(client=acme_client, label="acme crm", actor=oscar)[1]


@pytest.fixture
def acme_history(clock, acme_client):
    """Acme is standard: 95 % within 4 hours, 08:00-18:00 UTC on weekdays (the seeded
    commitment), extended (24 h) over 500 messages. Last week, Tuesday to Friday."""
    tuesday = MONDAY_10 - timedelta(days=6)
    for i, minutes in enumerate([30, 60, 90, 120, 300]):  # the last one misses 4 hours
        decided_round(acme_client, entered=tuesday + timedelta(days=i % 4), minutes=minutes,
                      tag=f"r{i}")
    # Entered Friday 17:00, decided Monday 10:30: 3.5 covered hours, within the target.
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    decided_round(acme_client, entered=friday_5pm, minutes=(65 * 60 + 30), tag="weekend")
    # An extended batch of 600 messages decided in 10 covered hours: within its 24 h.
    decided_round(acme_client, entered=tuesday, minutes=600 + 14 * 60, messages=600, tag="big")
    # Decided 40 days ago: outside the window.
    decided_round(acme_client, entered=MONDAY_10 - timedelta(days=40), minutes=900, tag="old")


def test_commitment_in_plain_words():
    commitment = commitment_for(tier="standard")
    assert commitment.words == (
        "95 % of batches decided within 4 hours, 08:00–18:00 UTC on weekdays"
    )
    assert commitment.extended_words == (
        "Batches over 500 messages are on the extended commitment: 95 % of batches decided "
        "within 24 hours, 08:00–18:00 UTC on weekdays."
    )


def test_covered_time_stops_outside_the_covered_hours():
    commitment = commitment_for(tier="standard")
    friday_5pm = datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    monday_10am = friday_5pm + timedelta(hours=65)
    # Friday 17:00-18:00 and Monday 08:00-10:00; not the night, nor the weekend.
    assert commitment.covered_seconds(friday_5pm, monday_10am) == 3 * 3600


def test_api_shows_the_tier_its_commitment_and_real_figures(client, acme_history, acme_token):
    body = client.get("/api/v1/commitment", **bearer(acme_token)).json()
    assert (body["tier"], body["target_minutes"], body["target_pct"]) == ("standard", 240, 95)
    assert body["commitment"].startswith("95 % of batches decided within 4 hours")
    assert body["extended"]["over_messages"] == 500
    assert any("over 500 messages" in item for item in body["not_covered"])
    figures = body["figures"]
    # Regular batches: 30, 60, 90, 120, 210 (over the weekend), 300 covered minutes.
    assert figures["decided"] == 6
    assert figures["p50_minutes"] == 105.0
    assert figures["p95_minutes"] == pytest.approx(210 + 0.75 * 90)
    assert figures["within_target_pct"] == pytest.approx(83.3)
    assert (figures["extended_decided"], figures["extended_within_target_pct"]) == (1, 100.0)
    assert sum(day["decided"] for day in figures["days"]) == 7


def test_api_without_a_token_is_refused(client):
    assert client.get("/api/v1/commitment").status_code == 401


def test_portal_page_shows_commitment_figures_and_chart(client, acme_history, carl):
    client.force_login(carl)
    page = client.get("/portal/commitment/").content.decode()
    assert "Your tier: <strong id=\"tier\">Standard</strong>" in page
    assert "95 % of batches decided within 4 hours, 08:00–18:00 UTC on weekdays" in page
    assert '<td id="fig-within">83.3 %' in page
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert "http" not in page.split("<svg", 1)[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )


def test_each_client_sees_its_own_tier(client, initrode_client):
    user = User.objects.create_user("ivy", "ivy@initrode.test", "pw")
    ClientUser.objects.create(user=user, client=initrode_client)
    client.force_login(user)
    assert "within 30 minutes" in client.get("/portal/commitment/").content.decode()


def test_a_user_without_a_client_gets_404_and_anonymous_logs_in(client, rita):
    assert client.get("/portal/commitment/").status_code == 302
    client.force_login(rita)
    assert client.get("/portal/commitment/").status_code == 404


def test_wrong_method_is_refused(client, acme_token):
    assert client.post("/api/v1/commitment", **bearer(acme_token)).status_code == 405
