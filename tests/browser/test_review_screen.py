"""Rita works the review screen from the keyboard: each finding shows the text before and after
its fix (the removed legal form struck through, the punctuation as the fix leaves it), a group
shows its fix on a sample message, j/k and n/p move between messages and groups, f applies the
fix, ? lists the keys; typing in a field does not trigger them. The page has no serious or
critical axe-core violation."""

import re

import pytest
from playwright.sync_api import expect

from apps.core.models import Message, Prospect, content_hash
from apps.validation.services import message_revalidate
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "Meet Initech Inc."
BODY = "Hi {name},\n\nWe like Initech Inc. and its team.\nInitech Inc. is growing, we hear.\n"


@pytest.fixture(autouse=True)
def patient_expect():
    """A busy machine (8 agents on 2 cores) can take longer than the 5 s default to reload."""
    expect.set_options(timeout=30_000)
    yield
    expect.set_options(timeout=5_000)


def assert_no_serious_violations(page) -> None:
    found = serious_violations(page)
    assert found == [], "\n".join(f"{v['id']}: {v['nodes']}" for v in found)


@pytest.fixture
def batch(acme_client, acme_campaign, dns_server):
    """Three messages that name "Initech Inc.": validated by the real rules, so each has the
    legal-form findings (and suggestions) the checks give."""
    prospects = [
        Prospect.objects.create(client=acme_client, email=f"p{i}@initech.com",
                                first_name=f"P{i}", company="Initech Inc.")
        for i in range(3)
    ]
    batch = in_review_batch(acme_campaign, prospects)
    for message in batch.messages.select_related("batch", "prospect").order_by("pk"):
        body = BODY.format(name=message.prospect.first_name)
        Message.objects.filter(pk=message.pk).update(
            subject=SUBJECT, body=body,
            content_hash=content_hash(recipient=message.recipient, subject=SUBJECT, body=body),
        )
        message.refresh_from_db()
        message_revalidate(message=message)
    return batch


def test_the_review_screen_shows_each_fix_and_works_from_the_keyboard(
        browser, live_server, batch, rita, artifacts):
    first = batch.messages.order_by("pk").first()
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(60_000)
    log_in(page, live_server.url, f"/admin/login/?next=/admin/core/batch/{batch.pk}/change/",
           "rita")

    # Before and after, as the fix will leave it: the subject's abbreviation dot goes with
    # " Inc"; the body's sentence keeps its full stop.
    message = page.locator(f"#message-{first.pk}")
    subject_fix = message.locator(".fix", has=page.locator("del", has_text="Inc.")).filter(
        has_text="Meet Initech").first
    expect(subject_fix.locator(".fix-before")).to_have_text("Meet Initech Inc.")
    expect(subject_fix.locator(".fix-before del")).to_have_text(" Inc.")
    expect(subject_fix.locator(".fix-after")).to_have_text("Meet Initech")
    body_fix = message.locator(".fix").filter(has_text="is growing").first
    expect(body_fix.locator(".fix-after")).to_have_text("Initech is growing, we hear.")
    # A group: how many messages, and its fix on one of them.
    group = page.locator("tr.review-group").filter(has_text="(legal_form, subject)")
    expect(group).to_contain_text("3 messages contain “ Inc”")
    expect(group.locator(".fix-before")).to_have_text("‘Meet Initech Inc.’")
    expect(group.locator(".fix-after")).to_have_text("‘Meet Initech’")
    page.screenshot(path=str(artifacts / "admin-review-screen-fixes.png"), full_page=True)

    assert_no_serious_violations(page)

    # ? shows the keys; Esc hides them.
    page.keyboard.press("?")
    help_box = page.locator("#review-keys-help")
    expect(help_box).to_be_visible()
    expect(help_box).to_contain_text("next / previous message")
    page.screenshot(path=str(artifacts / "admin-review-screen-keys.png"))
    assert_no_serious_violations(page)
    page.keyboard.press("Escape")
    expect(help_box).to_be_hidden()

    # Typing in a field is typing, not a shortcut.
    reason = message.locator("input[name=reason]")
    reason.click()
    page.keyboard.type("jf")
    expect(reason).to_have_value("jf")
    expect(message).not_to_have_class(re.compile("review-current"))
    reason.fill("")

    # j moves to the first message, j/k along the messages; f applies its first fix.
    page.locator("h1").click()  # out of the field
    page.keyboard.press("j")
    expect(message).to_have_class(re.compile("review-current"))
    page.keyboard.press("j")
    expect(message).not_to_have_class(re.compile("review-current"))
    page.keyboard.press("k")
    expect(message).to_have_class(re.compile("review-current"))
    with page.expect_navigation():
        page.keyboard.press("f")
    first.refresh_from_db()
    assert first.subject == "Meet Initech"
    # Its body still names "Initech Inc.": the message still blocks, said in red.
    expect(page.locator("ul.messagelist li.error")).to_have_text(
        "Fix applied and re-validated: block.")
    # Back at the same message, current again.
    expect(page.locator(f"#message-{first.pk}")).to_have_class(re.compile("review-current"))

    # n moves through the path's actions, then to the first group of findings; f fixes all of
    # that group.
    for _ in range(page.locator(".review-action").count() + 1):
        page.keyboard.press("n")
    current_group = page.locator("tr.review-group.review-current")
    expect(current_group).to_have_count(1)
    count = int(re.match(r"\d+", current_group.inner_text().strip()).group())
    with page.expect_navigation():
        page.keyboard.press("f")
    expect(page.locator("ul.messagelist li").last).to_have_text(
        re.compile(rf"Fix applied to {count} message\(s\)"))
    page.screenshot(path=str(artifacts / "admin-review-screen-after-fix.png"), full_page=True)
    assert_no_serious_violations(page)
