"""A client reads their tier's commitment and its real figures in the portal, and a waiting
batch's quote with when it last moved."""

import importlib
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.core.models import BatchStatus, Prospect
from apps.planning.models import Commitment, Shift
from apps.planning.services import quotes_refresh
from apps.review.models import DEFAULT_SLA_TARGETS, ReviewRound, SlaTarget
from tests.browser.conftest import log_in
from tests.conftest import in_review_batch, make_batch, make_campaign

pytestmark = pytest.mark.django_db(transaction=True)

_planning_seed = importlib.import_module("apps.planning.migrations.0001_roster_and_commitments")


@pytest.fixture
def targets_and_commitments(seeded):
    """What the migrations seed, put back: an earlier transactional test's flush may have
    taken the SLA targets and commitments away."""
    for tier, (minutes, pct) in DEFAULT_SLA_TARGETS.items():
        SlaTarget.objects.get_or_create(
            tier=tier, defaults={"target_minutes": minutes, "target_pct": pct}
        )
    for tier, first, last, weekdays, over, minutes, pct in _planning_seed.DEFAULT_COMMITMENTS:
        Commitment.objects.get_or_create(tier=tier, defaults={
            "covered_from_hour": first, "covered_to_hour": last, "weekdays_only": weekdays,
            "extended_over_messages": over, "extended_target_minutes": minutes,
            "extended_target_pct": pct,
        })


def decided(client, *, days_ago: int, minutes: int, tag: str) -> None:
    campaign = make_campaign(client, name=f"C {tag}")
    prospect = Prospect.objects.create(client=client, email=f"{tag}@initech.com")
    batch = make_batch(campaign, [prospect], status=BatchStatus.APPROVED)
    # Mid-morning on a weekday, so covered time is wall-clock time.
    day = timezone.now() - timedelta(days=days_ago)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    entered = day.replace(hour=9, minute=0, second=0, microsecond=0)
    ReviewRound.objects.create(
        batch=batch, number=1, entered_at=entered, first_claimed_at=entered,
        decided_at=entered + timedelta(minutes=minutes), messages=3,
    )


def test_client_reads_commitment_figures_and_chart(
    browser, live_server, targets_and_commitments, carl, acme_client, artifacts
):
    for i in range(20):  # one in ten misses the 4 hours
        decided(acme_client, days_ago=1 + i, minutes=300 if i % 10 == 9 else 40 + 5 * i,
                tag=f"r{i}")
    page = browser.new_context().new_page()
    log_in(page, live_server.url, "/accounts/login/?next=/portal/", "carl")
    page.click("nav a[href='/portal/commitment/']")
    expect(page.locator("#tier")).to_have_text("Standard")
    expect(page.locator("#commitment-words")).to_have_text(
        "95 % of batches decided within 4 hours, 08:00–18:00 UTC on weekdays"
    )
    expect(page.locator("#extended-words")).to_contain_text("Batches over 500 messages")
    expect(page.locator("#fig-decided")).to_have_text("20")
    expect(page.locator("#fig-within")).to_contain_text("90.0 %")
    expect(page.locator("#commitment-chart rect")).not_to_have_count(0)
    page.screenshot(path=str(artifacts / "portal-commitment.png"), full_page=True)


def test_client_sees_the_latest_quote_and_when_it_moved(
    browser, live_server, targets_and_commitments, carl, rita, acme_campaign, acme_prospects,
    artifacts,
):
    for weekday in range(7):
        Shift.objects.create(reviewer=rita, weekday=weekday, start_hour=0, end_hour=24)
    batch = in_review_batch(acme_campaign, acme_prospects)
    quotes_refresh(now=timezone.now())
    page = browser.new_context().new_page()
    log_in(page, live_server.url, f"/accounts/login/?next=/portal/batches/{batch.pk}/", "carl")
    expect(page.locator("#quote")).to_contain_text("Place in the review queue: 1 of 1")
    expect(page.locator("#quote")).to_contain_text("the expected time last changed at")
    expect(page.locator("#quote")).to_contain_text("1 reviewer(s) are on shift now")
    page.screenshot(path=str(artifacts / "portal-batch-quote.png"), full_page=True)
