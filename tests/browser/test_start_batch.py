"""Oscar starts a batch from a tag and a domain: he sees the count and a sample first, and the
batch holds exactly those prospects. Past the count limit (50 here) the page says "more than"
and counts exactly on request."""

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from apps.core.models import Batch, Tag
from apps.generation.prospect_import import prospects_import
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = "".join(f"p{n}@{'initech' if n % 2 else 'hooli'}.com,Pat{n},Lee,"
               f"{'Initech' if n % 2 else 'Hooli'}\n" for n in range(60))
LEADS = ("email,first_name,last_name,company\n" + ROWS).encode()
OTHER = b"email,first_name,last_name,company\nzed@initech.com,Zed,Ray,Initech\n"


def test_operator_chooses_by_tag_and_domain_then_starts(browser, live_server, oscar,
                                                        acme_client, acme_campaign, artifacts,
                                                        monkeypatch):
    monkeypatch.setattr("apps.backoffice.start_batch.COUNT_LIMIT", 50)
    # A transactional test's flush takes the operator group's permissions with it.
    oscar.groups.get(name="operator").permissions.add(
        *Permission.objects.filter(content_type__app_label="core", codename="add_batch"))
    prospects_import(client=acme_client, data=LEADS, file_name="leads.csv", actor=None,
                     tag="spring fair")
    prospects_import(client=acme_client, data=OTHER, file_name="other.csv", actor=None)
    spring = Tag.objects.get(client=acme_client, name="spring fair")
    page = browser.new_context().new_page()
    log_in(page, live_server.url,
           f"/admin/login/?next=/admin/core/campaign/{acme_campaign.pk}/start-batch/", "oscar")
    expect(page.locator("#preview-heading")).to_have_text("More than 50 prospects chosen")
    page.screenshot(path=str(artifacts / "admin-start-batch-more-than.png"), full_page=True)
    with page.expect_navigation():
        page.click("#count-exactly")
    expect(page.locator("#selection-count")).to_have_text("61")
    page.get_by_label("Tag").select_option(str(spring.pk))
    page.get_by_label("E-mail domain").fill("Initech.com")
    with page.expect_navigation():
        page.click("text=Show count and sample")
    expect(page.locator("#selection-count")).to_have_text("30")
    expect(page.locator("#selection-sample tbody tr")).to_have_count(20)
    assert "zed@initech.com" not in page.inner_text("#selection-sample")
    page.screenshot(path=str(artifacts / "admin-start-batch.png"), full_page=True)
    with page.expect_navigation():
        page.click("text=Start the batch for 30 prospects")
    batch = Batch.objects.get()
    emails = set(batch.prospects.values_list("email", flat=True))
    assert emails == {f"p{n}@initech.com" for n in range(1, 60, 2)}
