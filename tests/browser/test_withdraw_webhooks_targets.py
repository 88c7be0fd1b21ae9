"""Pages of issue 15's items 5 and 6 in Chromium: the client's withdraw button and its
confirmation, the webhook settings and delivery log, and the operator's target page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.clienthooks.services import deliveries_fan_out, delivery_attempt
from apps.core.models import Batch, BatchStatus
from apps.review.services import batch_approve
from tests.browser.conftest import log_in
from tests.conftest import in_review_batch
from tests.review.conftest import seeded  # noqa: F401 (the review seed: the operators see the page)
from tests.review.test_target_suggestion import build_history
from tests.support.http_receiver import HttpReceiver

pytestmark = pytest.mark.django_db(transaction=True)


def test_client_withdraws_a_batch(
    browser, live_server, carl, acme_campaign, acme_prospects, artifacts
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    page = browser.new_context().new_page()
    log_in(page, live_server.url, f"/accounts/login/?next=/portal/batches/{batch.pk}/", "carl")
    expect(page.locator("#withdraw")).to_have_text("Withdraw this batch")
    page.screenshot(path=str(artifacts / "portal-withdraw-button.png"), full_page=True)

    page.click("#withdraw")
    expect(page.locator("#confirm-withdraw")).to_have_text(f"Yes, withdraw batch #{batch.pk}")
    page.screenshot(path=str(artifacts / "portal-withdraw-confirm.png"), full_page=True)
    with page.expect_navigation():
        page.click("#confirm-withdraw")

    expect(page.locator("#batch-status")).to_have_text("Withdrawn by the client")
    expect(page.locator("ul.messages")).to_contain_text("left the review queue")
    assert page.locator("#withdraw").count() == 0
    page.screenshot(path=str(artifacts / "portal-withdrawn.png"), full_page=True)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.WITHDRAWN


def test_client_registers_a_webhook_and_reads_the_log(
    browser, live_server, settings, carl, rita, acme_client, acme_campaign, acme_prospects,
    artifacts,
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    with HttpReceiver(answers=[500, 200]) as receiver:
        page = browser.new_context().new_page()
        log_in(page, live_server.url, "/accounts/login/?next=/portal/settings/webhook/", "carl")
        page.fill("#url", receiver.url)
        with page.expect_navigation():
            page.click("button[value=save]")
        expect(page.locator("#new-secret")).to_contain_text("will not be shown again")
        expect(page.locator("#secret")).to_contain_text("whsec_")
        page.screenshot(path=str(artifacts / "portal-webhook-secret.png"), full_page=True)

        batch = in_review_batch(acme_campaign, acme_prospects)
        batch_approve(batch_id=batch.pk, actor=rita)
        deliveries_fan_out()
        from apps.clienthooks.models import WebhookDelivery

        delivery = WebhookDelivery.objects.get()
        delivery_attempt(delivery_id=delivery.pk)  # 500: a retry is scheduled
        page.goto(live_server.url + "/portal/settings/webhook/")
        expect(page.locator("#deliveries tbody tr")).to_have_count(1)
        expect(page.locator("#deliveries tbody td.status")).to_have_text("Waiting to be tried")
        expect(page.locator("#deliveries tbody")).to_contain_text("500")
        assert page.locator("#secret").count() == 0  # shown once only
        page.screenshot(path=str(artifacts / "portal-webhook-log.png"), full_page=True)

        page.click(f"a[href='/portal/settings/webhook/deliveries/{delivery.pk}/']")
        expect(page.locator("td.status")).to_have_text("Waiting to be tried")
        page.screenshot(path=str(artifacts / "portal-webhook-delivery.png"), full_page=True)


def test_operator_reads_the_target_page(
    browser, live_server, oscar, carl, rita, acme_campaign, acme_prospects, artifacts
):
    build_history(acme_campaign, acme_prospects, carl=carl, rita=rita,
                  start=timezone.now() - timedelta(days=3), late_withdrawals=True)
    page = browser.new_context().new_page()
    log_in(page, live_server.url, "/admin/login/?next=/admin/review/slatarget/targets/", "oscar")
    expect(page.locator("#tier-standard [data-suggestion]")).to_contain_text(
        "Suggested target: 120 min.")
    expect(page.locator("#tier-priority [data-suggestion]")).to_contain_text("Not enough history")
    expect(page.locator("#tier-standard tr.doubled td").first).to_contain_text("120–240 min")
    page.screenshot(path=str(artifacts / "admin-targets.png"), full_page=True)
