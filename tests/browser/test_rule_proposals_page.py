"""Oscar the operator opens the rule proposals: the list, a proposal with its evidence,
sample messages and impact preview; he accepts it and the rule is changed; the statistics
page lists the rule."""

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from apps.core.models import ValidationRule
from apps.review.services import rule_proposals_find
from tests.browser.conftest import log_in
from tests.conftest import in_review_batch
from tests.review.test_rule_proposals import endings

pytestmark = pytest.mark.django_db(transaction=True)


def test_operator_reads_a_proposal_and_accepts_it(
    browser, live_server, oscar, acme_campaign, acme_prospects, artifacts
):
    # A transactional test's flush can take the review app's permissions and the operator
    # group's grants with them (migration review.0007): put them back as the migration does.
    create_permissions(django_apps.get_app_config("review"), verbosity=0)
    oscar.groups.get(name="operator").permissions.add(*Permission.objects.filter(
        content_type__app_label="review",
        codename__in=["view_ruleproposal", "decide_ruleproposal"],
    ))
    ValidationRule.objects.update_or_create(
        code="banned_phrase",
        defaults={"severity": "review", "enabled": True, "parameters": {"phrases": ["Peter"]}},
    )
    batch = in_review_batch(acme_campaign, acme_prospects)
    endings(batch, "banned_phrase", {"approved": 240, "edited": 5, "rejected": 12})
    [proposal] = rule_proposals_find()

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, live_server.url, "/admin/login/?next=/admin/review/ruleproposal/", "oscar")
    expect(page.locator("#result_list")).to_contain_text("98.0 % of 245 findings")
    page.click(f"a[href$='/admin/review/ruleproposal/{proposal.pk}/change/']")
    expect(page.locator("#summary")).to_contain_text("from review to warn")
    expect(page.locator("#evidence-counts")).to_contain_text("Approved unchanged")
    expect(page.locator("#samples tbody tr")).to_have_count(3)  # one per message
    expect(page.locator("#impact")).to_contain_text("review → pass 1")
    page.screenshot(path=str(artifacts / "admin-rule-proposal.png"), full_page=True)

    page.click("input[value=Accept]")
    expect(page.locator(".messagelist")).to_contain_text("rule banned_phrase is now warn")
    assert ValidationRule.objects.get(code="banned_phrase").severity == "warn"

    page.goto(live_server.url + "/admin/review/ruleproposal/statistics/")
    expect(page.locator("#rule-figures")).to_contain_text("banned_phrase")
    page.screenshot(path=str(artifacts / "admin-rule-statistics.png"), full_page=True)
