"""The README's tour, as a newcomer walks the demo: oscar starts a batch from a CRM export
with legal forms in the company column; it is generated and validated by a real worker and
lands in the review queue; rita sees it in the queue and the findings highlighted on the
review screen; carl sees his batch, its place in the queue and the expected decision time.
With TOUR_SCREENSHOTS=1 (scripts/tour-screenshots) the pictures go to docs/img/."""

import pytest
from playwright.sync_api import expect

from apps.core.models import Batch, BatchStatus, Prospect
from apps.generation.services import batch_start
from tests.browser.conftest import log_in, tour_screenshot
from tests.support.worker import run_worker_burst

pytestmark = pytest.mark.django_db(transaction=True)
VIEWPORT = {"width": 1100, "height": 700}


def test_the_tour(browser, live_server, pipeline, oscar, rita, carl, acme_campaign, acme_prospects,
                  artifacts):
    Prospect.objects.filter(email="peter@initech.com").update(company="Initech Inc.")
    batch = batch_start(campaign=acme_campaign, prospects=acme_prospects, actor=oscar)
    run_worker_burst()
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW

    reviewer = browser.new_context(viewport=VIEWPORT).new_page()
    log_in(reviewer, live_server.url, "/admin/login/?next=/admin/core/batch/queue/", "rita")
    expect(reviewer.locator(f"a[href*='/admin/core/batch/{batch.pk}/']").first).to_be_visible()
    reviewer.screenshot(path=str(artifacts / "tour-review-queue.png"), full_page=True)
    tour_screenshot(reviewer, "review-queue")
    reviewer.goto(live_server.url + f"/admin/core/batch/{batch.pk}/change/")
    expect(reviewer.locator("mark.finding-block").first).to_have_text("Inc.")
    reviewer.locator(f"#message-{batch.messages.get(recipient='peter@initech.com').pk}") \
        .scroll_into_view_if_needed()
    reviewer.screenshot(path=str(artifacts / "tour-review-screen.png"), full_page=True)
    tour_screenshot(reviewer, "review-screen")

    client = browser.new_context(viewport=VIEWPORT).new_page()
    log_in(client, live_server.url, "/accounts/login/?next=/portal/", "carl")
    expect(client.locator("#batches .badge").first).to_have_text("In review")
    tour_screenshot(client, "portal-batches")
    client.goto(live_server.url + f"/portal/batches/{batch.pk}/")
    expect(client.locator("#quote")).to_contain_text("Place in the review queue: 1 of 1")
    client.screenshot(path=str(artifacts / "tour-portal-batch.png"), full_page=True)
    tour_screenshot(client, "portal-batch")
    client.set_viewport_size({"width": 390, "height": 760})
    tour_screenshot(client, "portal-batch-phone")
