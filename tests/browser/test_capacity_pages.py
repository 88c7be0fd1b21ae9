"""Oscar the operator opens the capacity page: the priority tier is over the 80 % line with the
quote it lengthened listed, the charts are drawn inline; then the capacity plan prices each
tier's target and one more point."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.planning.support import cover_all_day, planning_seeded, record_history  # noqa: F401
from tests.planning.test_capacity_page import lengthen_quote, on_shift_all_week, priority_batch

pytestmark = [
    pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("planning_seeded"),
]


def test_operator_reads_load_and_the_plan(browser, live_server, oscar, rita, artifacts):
    from django.core.cache import cache

    cache.clear()
    # A transactional test's flush can take the operator group's planning permissions with it
    # (migration planning.0003): give them back as the migration does.
    oscar.groups.get(name="operator").permissions.add(*Permission.objects.filter(
        content_type__app_label="planning", codename__in=["view_capacity", "view_reviewercost"]
    ))
    cover_all_day()
    on_shift_all_week(rita)
    record_history(
        now=timezone.now(), days=28, per_hour={"standard": 2.0, "priority": 0.5},
        handling_minutes={"standard": 12.0, "priority": 6.0}, reviewer=rita,
    )
    urgent = priority_batch(60)
    lengthen_quote(urgent, by=timedelta(minutes=40))

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    login = "/admin/login/?next=/admin/planning/reviewercost/capacity/"
    log_in(page, live_server.url, login, "oscar")
    expect(page.locator("#load-priority")).to_contain_text("over 80 %")
    expect(page.locator("#lengthened")).to_contain_text(str(urgent.pk))
    expect(page.locator("svg.capacity-chart")).to_have_count(3)
    expect(page.locator("#rates")).to_contain_text("rita")
    page.screenshot(path=str(artifacts / "admin-capacity.png"), full_page=True)

    page.click("text=Capacity plan: what each target costs")
    expect(page.locator("#plan-standard")).to_contain_text("95 % within 4 h", timeout=60_000)
    expect(page.locator("#plan-table")).to_contain_text("96 % within 4 h")
    expect(page.locator("#plan-team")).to_contain_text("Every tier holds its target")
    page.screenshot(path=str(artifacts / "admin-capacity-plan.png"), full_page=True)
