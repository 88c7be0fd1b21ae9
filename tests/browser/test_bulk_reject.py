"""Rita rejects two batches at once from the batch list: she ticks them, chooses *Reject
selected batches*, gives one reason on the page that asks for it, and both are rejected."""

import pytest
from playwright.sync_api import expect

from apps.core.models import Batch, BatchStatus
from tests.browser.conftest import log_in
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def patient_expect():
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)


def test_reviewer_rejects_two_batches_with_one_reason(
    browser, live_server, rita, acme_campaign, acme_prospects, artifacts
):
    batches = [in_review_batch(acme_campaign, acme_prospects) for _ in range(2)]

    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    log_in(page, live_server.url, "/admin/login/?next=/admin/core/batch/", "rita")
    for batch in batches:
        page.check(f"input[name=_selected_action][value='{batch.pk}']")
    page.select_option("select[name=action]", "reject_selected")
    page.click("button[name=index]")
    expect(page.locator("#batches-to-reject li")).to_have_count(2)
    page.select_option("select[name=code]", "wrong_audience")
    page.fill("textarea[name=reason]", "These prospects are the wrong audience")
    page.screenshot(path=str(artifacts / "admin-bulk-reject.png"), full_page=True)
    page.click("input[name=apply]")

    expect(page.locator(".messagelist")).to_contain_text(f"Batch {batches[0].pk} rejected.")
    assert set(Batch.objects.values_list("status", flat=True)) == {BatchStatus.REJECTED}
