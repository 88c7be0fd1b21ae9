"""Oscar (operator) reads bounce and complaint rates per client and sending domain over time in
the admin; Carl (Acme's client user) reads Acme's own in the portal and nothing of Globex's.
The reports come in through report_apply (real DSN and ARF samples), on different days."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from apps.core.models import Message
from apps.deliverability.reading import read_report
from apps.deliverability.services import Report, report_apply
from tests.browser.conftest import log_in
from tests.conftest import make_campaign
from tests.deliverability.conftest import arf_complaint, delivered_to, sample, sent_batch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def bounce_domain(settings):
    settings.BOUNCE_DOMAIN = "bounce.outbound.test"


def _read(raw: bytes) -> Report:
    report = read_report(raw)
    assert report is not None, "a report the reader knows"
    return report


def history(campaign, *, start: int, days_ago: int, count: int, hard: int, complaints: int):
    """`count` messages sent `days_ago` days ago; reports about some of them that day."""
    batch = sent_batch(campaign, count, start=start)
    when = timezone.now() - timedelta(days=days_ago)
    Message.objects.filter(batch=batch).update(sent_at=when)
    messages = list(Message.objects.filter(batch=batch).order_by("pk"))
    with time_machine.travel(when + timedelta(hours=1), tick=False):
        for message in messages[:hard]:
            report_apply(report=_read(delivered_to(message, sample("postfix_01"))))
        for message in messages[hard:hard + complaints]:
            report_apply(report=_read(arf_complaint(message)))


@pytest.fixture
def sending_history(acme_client, globex_client):
    acme = make_campaign(acme_client, sender_email="sam@mail.acme.test")
    history(acme, start=0, days_ago=6, count=40, hard=1, complaints=0)
    history(acme, start=100, days_ago=3, count=25, hard=2, complaints=1)
    history(acme, start=200, days_ago=1, count=50, hard=0, complaints=0)
    globex = make_campaign(globex_client, sender_email="gina@news.globex.test")
    history(globex, start=300, days_ago=2, count=20, hard=3, complaints=0)


def test_operator_reads_rates_per_client_and_domain(browser, live_server, oscar, sending_history,
                                                    artifacts):
    # A transactional test's flush takes the operator group's permissions (migrations) with it.
    oscar.groups.get(name="operator").permissions.add(*Permission.objects.filter(
        content_type__app_label="deliverability", codename="view_bounceevent"))
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    log_in(page, live_server.url, "/admin/login/?next=/admin/", "oscar")
    with page.expect_navigation():
        page.click("text=Bounce and complaint rates")

    sections = page.locator("section.deliverability-rates")
    expect(sections).to_have_count(2)
    acme = sections.filter(has_text="mail.acme.test")
    expect(acme.locator("h2")).to_have_text("mail.acme.test — Acme Outreach")
    expect(acme.locator("p").first).to_contain_text(
        "115 sent, 3 hard bounces (2.61 %), 1 complaint (0.87 %)")
    expect(acme.locator("svg[role=img] polyline")).to_have_count(2)
    globex = sections.filter(has_text="news.globex.test")
    expect(globex.locator("p").first).to_contain_text("20 sent, 3 hard bounces (15.00 %)")
    page.screenshot(path=str(artifacts / "admin-delivery-rates.png"), full_page=True)

    page.select_option("select[name=client]", label="Globex")
    with page.expect_navigation():
        page.click("input[type=submit][value=Show]")
    expect(page.locator("section.deliverability-rates")).to_have_count(1)
    expect(page.locator("section.deliverability-rates h2")).to_contain_text("news.globex.test")


def test_client_reads_only_its_own_rates(browser, live_server, carl, sending_history, artifacts):
    page = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    log_in(page, live_server.url, "/accounts/login/?next=/portal/", "carl")
    with page.expect_navigation():
        page.click("nav >> text=Deliverability")

    expect(page.locator("h1")).to_have_text("Deliverability")
    sections = page.locator("section.deliverability-rates")
    expect(sections).to_have_count(1)
    expect(sections.locator("h2")).to_have_text("mail.acme.test")
    expect(sections.locator("p").first).to_contain_text("115 sent, 3 hard bounces (2.61 %)")
    assert "globex" not in page.content().lower()
    page.locator("details summary").click()
    expect(sections.locator("tbody tr")).to_have_count(3)  # the three days that sent
    page.screenshot(path=str(artifacts / "portal-delivery-rates.png"), full_page=True)
