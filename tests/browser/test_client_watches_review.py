"""A client watches their batch in the portal while a reviewer approves it in the admin: the
portal shows the quote, then Approved, then Sent, without anyone reloading the page."""

import pytest
from playwright.sync_api import expect

from apps.core.models import Batch, BatchStatus
from tests.browser.conftest import log_in
from tests.conftest import in_review_batch, make_campaign
from tests.support.worker import run_worker_burst

pytestmark = pytest.mark.django_db(transaction=True)


def test_client_sees_quote_then_approved_then_sent(
    browser, live_server, pipeline, carl, rita, acme_campaign, acme_prospects, artifacts
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    client_page = browser.new_context().new_page()
    log_in(client_page, live_server.url, "/accounts/login/?next=/portal/", "carl")
    client_page.screenshot(path=str(artifacts / "portal-dashboard.png"), full_page=True)
    client_page.click(f"a[href='/portal/batches/{batch.pk}/']")
    assert "Place in the review queue: 1 of 1" in client_page.inner_text("#quote")
    client_page.screenshot(path=str(artifacts / "portal-batch-in-review.png"), full_page=True)

    reviewer_page = browser.new_context().new_page()
    log_in(
        reviewer_page,
        live_server.url,
        f"/admin/login/?next=/admin/core/batch/{batch.pk}/change/",
        "rita",
    )
    with reviewer_page.expect_navigation():
        reviewer_page.click("input[name=approve]")
    assert "approved" in reviewer_page.inner_text("ul.messagelist")
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED

    # The portal page polls; nobody reloads it. (Locator assertions, not wait_for_function:
    # that evaluates a string in the page, which the Content-Security-Policy rightly forbids.)
    expect(client_page.locator("#batch-status")).to_have_text("Approved", timeout=15_000)
    run_worker_burst()
    expect(client_page.locator("#batch-status")).to_have_text("Sent", timeout=15_000)
    client_page.screenshot(path=str(artifacts / "portal-batch-sent.png"), full_page=True)
    assert len(pipeline.messages) == len(acme_prospects)


def test_hostile_text_is_shown_as_text(browser, live_server, carl, acme_client, acme_prospects):
    hostile = "<script>window.__owned = 1</script> \"quoted\" \u202egnp.exe"
    campaign = make_campaign(acme_client, name=hostile)
    batch = in_review_batch(campaign, acme_prospects)
    page = browser.new_context().new_page()
    log_in(page, live_server.url, "/accounts/login/?next=/portal/", "carl")
    for path in ("/portal/", f"/portal/batches/{batch.pk}/"):
        page.goto(live_server.url + path)
        assert page.evaluate("window.__owned") is None
        assert "<script>window.__owned = 1</script>" in page.inner_text("body")
