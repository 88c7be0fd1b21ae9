"""Rita clears a messy batch from the keyboard alone: the screen leads with the reviewer's
path (what blocks approval, the action that lets the most messages through first, each with
its preview), `f` takes each action, and once nothing blocks, `a` approves.

The batch is built through the services (batch_start, each chunk's job) from real company
names (tests/data/sec_foreign_issuers_2002.csv, most with a legal form) written raw into the
subject and body, with typo'd provider domains, role addresses and placeholder first names
mixed in, denser than the benchmark's (bench/review_path.py) so a small batch has each. The
recipient_domain rule is off: the typo'd domains exist in no DNS zone here, and the rule
would block them, which is not what this test is about."""

import csv
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from apps.core.models import Batch, BatchStatus, Campaign, Prospect, ValidationRule
from apps.generation.models import GenerationChunk
from apps.generation.services import batch_start
from apps.pipeline.jobs import generate_chunk_job
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

NAMES = Path(__file__).resolve().parents[1] / "data" / "sec_foreign_issuers_2002.csv"
SIZE = 60
MAX_ACTIONS = 10  # the path needs about three; a loop that never ends is a failure


@pytest.fixture(autouse=True)
def patient_expect():
    """A busy machine can take longer than the 5 s default to reload."""
    expect.set_options(timeout=60_000)
    yield
    expect.set_options(timeout=5_000)


def company_names() -> list[str]:
    with NAMES.open(encoding="utf-8", newline="") as handle:
        return [row["name"] for row in csv.DictReader(handle, delimiter=";")][:SIZE]


@pytest.fixture
def messy_batch(acme_client, dns_server):
    ValidationRule.objects.filter(code="recipient_domain").update(enabled=False)
    campaign = Campaign.objects.create(
        client=acme_client, name="Raw names", subject_template="A question for {{ company }}",
        body_template="Hi {{ first_name }},\n\nI noticed {{ company }} is growing.\n\nSam",
        sender_email="sam@outbound.test",
    )
    prospects = []
    for i, company in enumerate(company_names()):
        email, first = f"p{i}@initech.com", f"P{i}"
        if i % 10 == 1:
            email = f"p{i}@gmial.com"
        elif i % 15 == 2:
            email = f"sales.{i}@hooli.com"
        elif i % 20 == 3:
            first = "[First Name]"
        prospects.append(Prospect.objects.create(
            client=acme_client, email=email, first_name=first, company=company
        ))
    batch = batch_start(campaign=campaign, prospects=prospects, actor=None)
    for chunk_id in GenerationChunk.objects.filter(batch=batch).values_list("pk", flat=True):
        generate_chunk_job(chunk_id)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.IN_REVIEW
    return batch


def test_rita_clears_a_messy_batch_with_the_keyboard_only(
        browser, live_server, messy_batch, rita, oscar, artifacts):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    log_in(page, live_server.url,
           f"/admin/login/?next=/admin/core/batch/{messy_batch.pk}/change/", "rita")

    # The path leads the page, its first action current: the legal forms, in most messages.
    first = page.locator(".review-action.blocking").first
    expect(first).to_have_class(re.compile("review-current"))
    expect(first.locator("h3")).to_have_text(re.compile(r"^Remove the legal forms from \d+ "))
    expect(first.locator("tr.path-change").first.locator("del")).not_to_be_empty()
    placeholder = page.locator("#action-placeholder")
    expect(placeholder.locator("h3")).to_have_text("Replace the placeholders in 3 messages")
    expect(placeholder.locator(".fix-after").first).to_contain_text("Hi there,")
    page.screenshot(path=str(artifacts / "admin-review-path.png"))
    found = serious_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)

    actions = 0
    while page.locator("#approve-ready").count() == 0:
        assert actions < MAX_ACTIONS, "the path never reached approval"
        expect(page.locator(".review-action.blocking.review-current")).to_have_count(1)
        with page.expect_navigation():
            page.keyboard.press("f")
        actions += 1
        expect(page.locator("ul.messagelist li").last).to_have_text(
            re.compile(r"^(Fixed|Replaced the flagged text in) \d+ message"))
    ready = page.locator("#approve-ready")
    expect(ready).to_have_class(re.compile("review-current"))
    # Typo'd domains and role addresses are flagged for a look; approval does not wait.
    expect(ready).to_contain_text("recipient_typo")
    expect(ready).to_contain_text("recipient_role")
    page.screenshot(path=str(artifacts / "admin-review-path-ready.png"))

    with page.expect_navigation():
        page.keyboard.press("a")
    actions += 1
    expect(page.locator("ul.messagelist li").last).to_contain_text(
        f"Batch {messy_batch.pk} approved")
    assert Batch.objects.get(pk=messy_batch.pk).status == BatchStatus.APPROVED
    assert actions <= 4, actions  # the legal forms, the placeholders, maybe a straggler; approve

    # The operator's Time in review page shows her handling time per flagged message.
    stats = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    stats.set_default_timeout(60_000)
    log_in(stats, live_server.url, "/admin/login/?next=/admin/review/slatarget/stats/", "oscar")
    expect(stats.locator("th", has_text="per flagged message (s)").first).to_be_visible()
    stats.screenshot(path=str(artifacts / "admin-time-in-review-per-flagged.png"), full_page=True)
