"""Carl's batch ended with messages whose delivery is unknown: his page says "Needs attention"
with the plain explanation; oscar resolves them on the admin page that shows the evidence; the
portal page turns to "Sent" by itself."""

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from apps.core.models import Batch, BatchStatus
from tests.browser.conftest import log_in
from tests.sending.conftest import unknown_batch

pytestmark = pytest.mark.django_db(transaction=True)


def test_client_sees_needs_attention_until_an_operator_resolves(
        browser, live_server, smtp_server, carl, oscar, acme_campaign, artifacts):
    # A transactional test's flush takes the operator group's sending permissions (migration
    # sending.0002) with it: give them back as the migration does.
    oscar.groups.get(name="operator").permissions.add(*Permission.objects.filter(
        content_type__app_label="sending", codename__in=["view_unknownsend", "resolve_unknownsend"]
    ))
    batch = unknown_batch(acme_campaign, 2, earlier_reply="<b>451</b> 4.3.0 try later")
    client_page = browser.new_context().new_page()
    log_in(
        client_page, live_server.url, f"/accounts/login/?next=/portal/batches/{batch.pk}/", "carl"
    )
    status = client_page.inner_text("#batch-status")
    assert status.startswith("Needs attention: 2 messages whose delivery could not be confirmed")
    assert "our team is checking" in client_page.inner_text("#attention")
    client_page.screenshot(path=str(artifacts / "portal-batch-needs-attention.png"), full_page=True)

    admin_page = browser.new_context().new_page()
    log_in(admin_page, live_server.url,
           f"/admin/login/?next=/admin/sending/unknownsend/batch/{batch.pk}/", "oscar")
    assert admin_page.locator("tr.attempt").count() == 4  # a 451 and the open one, per message
    assert "<b>451</b> 4.3.0 try later" in admin_page.inner_text(".unknown-message")
    admin_page.check("input[value=sent]")
    admin_page.fill("input[name=note]", "both in the MTA log, 250 queued")
    admin_page.screenshot(path=str(artifacts / "admin-unknown-sends-of-batch.png"), full_page=True)
    with admin_page.expect_navigation():
        admin_page.click("button[value=all]")
    assert "2 message(s) resolved as sent" in admin_page.inner_text("ul.messagelist")
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT

    # (A locator assertion: the CSP forbids evaluating a string, as wait_for_function does.)
    expect(client_page.locator("#batch-status")).to_have_text("Sent", timeout=60_000)
    assert client_page.locator("#attention").count() == 0
