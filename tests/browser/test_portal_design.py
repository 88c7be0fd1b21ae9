"""Every portal page is designed and accessible: axe-core finds no serious or critical
violation at desktop or phone width, nothing is wider than a phone's screen, the keyboard
reaches everything with a visible focus ring, status is a badge and progress a real
<progress>. Screenshots of each page at both widths go to var/test-artifacts/."""

import json
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.clienthooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from apps.core.models import AuditEvent, Batch, BatchStatus, Finding, Message
from tests.browser.axe import serious_violations
from tests.browser.conftest import log_in
from tests.browser.test_delivery_rates import history
from tests.conftest import in_review_batch, make_batch, make_campaign
from tests.sending.conftest import unknown_batch

pytestmark = pytest.mark.django_db(transaction=True)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 667}
HOSTILE = '<img src=x onerror="window.__owned=1"> & "Initech Inc."'


@pytest.fixture
def portal_world(acme_client, acme_prospects, smtp_server, settings):
    """Acme's batches in the states a client sees: in review with findings and a message left
    out (the quote shows), validating half-way, one whose delivery needs attention, and a week
    of sending with bounces and a complaint (the deliverability page)."""
    settings.BOUNCE_DOMAIN = "bounce.outbound.test"
    sender = make_campaign(acme_client, name="Sent earlier", sender_email="sam@mail.acme.test")
    history(sender, start=500, days_ago=6, count=40, hard=1, complaints=0)
    history(sender, start=600, days_ago=3, count=25, hard=2, complaints=1)
    campaign = make_campaign(acme_client, name=f"Spring outreach {HOSTILE}")
    reviewing = in_review_batch(campaign, acme_prospects)
    first, second, _ = Message.objects.filter(batch=reviewing).order_by("pk")
    for message, code, severity in ((first, "legal_form_in_company", "block"),
                                    (second, "recipient_domain_unknown", "review")):
        Finding.objects.create(
            message=message, batch=reviewing, rule_code=code, severity=severity, field="body",
            explanation=f"flagged {HOSTILE}",
        )
    Message.objects.filter(pk=first.pk).update(worst_severity="block")
    Message.objects.filter(pk=second.pk).update(excluded=True, exclusion_reason=HOSTILE)
    validating = make_batch(make_campaign(acme_client, name="Autumn follow-up"), acme_prospects,
                            status=BatchStatus.VALIDATING)
    Message.objects.filter(pk=Message.objects.filter(batch=validating).first().pk).update(
        validated_at=timezone.now()
    )
    attention = unknown_batch(make_campaign(acme_client, name="Winter news"), 2)
    Batch.objects.filter(pk=attention.pk).update(created_at=timezone.now() - timedelta(days=1))
    deliveries = webhook_deliveries(acme_client, reviewing)
    return {"reviewing": reviewing, "validating": validating, "attention": attention,
            "delivery": deliveries[0]}


def webhook_deliveries(client, batch) -> list[WebhookDelivery]:
    """The webhook log in its three outcomes, with a long URL and a hostile error text: one
    waiting to be tried again after a 500, one given up, one delivered."""
    now = timezone.now()
    url = "https://hooks.acme.example/outbound/batch-status?token=" + "a1b2c3d4" * 8
    WebhookEndpoint.objects.create(client=client, url=url, secret="whsec_x",
                                   secret_prefix="whsec_x", created_at=now - timedelta(days=2),
                                   updated_at=now)
    outcomes = (
        (DeliveryStatus.PENDING, 500, "", now + timedelta(minutes=5)),
        (DeliveryStatus.GAVE_UP, None, f"connection refused {HOSTILE} " + "x" * 120, None),
        (DeliveryStatus.DELIVERED, 200, "", None),
    )
    deliveries = []
    for n, (status, code, error, next_try) in enumerate(outcomes):
        event = AuditEvent.objects.create(
            created_at=now - timedelta(hours=n), actor_label="system", action="batch_routed",
            batch=batch, from_state="validating", to_state="in_review",
        )
        key = uuid.uuid4()
        deliveries.append(WebhookDelivery.objects.create(
            client=client, event=event, idempotency_key=key, url=url, status=status,
            body=json.dumps({"id": str(key), "data": {"batch_id": batch.pk, "reason": HOSTILE}}),
            created_at=event.created_at, attempts=n + 1, last_attempt_at=event.created_at,
            last_status_code=code, last_error=error, next_attempt_at=next_try,
        ))
    return deliveries


def portal_pages(world) -> dict[str, str]:
    return {
        "batches": "/portal/",
        "batch-in-review": f"/portal/batches/{world['reviewing'].pk}/",
        "batch-validating": f"/portal/batches/{world['validating'].pk}/",
        "batch-needs-attention": f"/portal/batches/{world['attention'].pk}/",
        "settings": "/portal/settings/",
        "deliverability": "/portal/deliverability/",
        "commitment": "/portal/commitment/",
        "batch-withdraw": f"/portal/batches/{world['reviewing'].pk}/withdraw/",
        "webhook": "/portal/settings/webhook/",
        "webhook-delivery": f"/portal/settings/webhook/deliveries/{world['delivery'].pk}/",
    }


# The column names with a word drawn over two lines ("Attem" / "pts"): each word of a header
# cell's text is one range, which has more than one box when the word is broken.
BROKEN_HEADERS = """() => [...document.querySelectorAll("thead th")].filter((th) => {
  const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const word of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, word.index);
      range.setEnd(node, word.index + word[0].length);
      if (range.getClientRects().length > 1) return true;
    }
  }
  return false;
}).map((th) => th.textContent)"""


def look_at(page, name: str, artifacts) -> None:
    """axe at desktop and phone width, a screenshot at each, nothing wider than a phone, and
    no column name broken inside a word."""
    for width_name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(artifacts / f"portal-{name}-{width_name}.png"), full_page=True)
        assert serious_violations(page) == [], f"{name} at {width_name} width"
        assert page.evaluate(BROKEN_HEADERS) == [], f"{name} at {width_name} width"
    overflow = page.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= PHONE["width"], f"{name} is {overflow}px wide on a {PHONE['width']}px phone"
    page.set_viewport_size(DESKTOP)


def test_every_portal_page_passes_axe_at_desktop_and_phone_width(
        browser, live_server, carl, portal_world, artifacts):
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(live_server.url + "/accounts/login/")
    look_at(page, "login", artifacts)
    log_in(page, live_server.url, "/accounts/login/?next=/portal/", "carl")
    for name, path in portal_pages(portal_world).items():
        page.goto(live_server.url + path)
        assert page.evaluate("() => window.__owned") is None
        look_at(page, name, artifacts)


def test_status_is_a_badge_and_progress_a_progress_element(
        browser, live_server, carl, portal_world):
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server.url,
           f"/accounts/login/?next=/portal/batches/{portal_world['validating'].pk}/", "carl")
    badge = page.locator("#batch-status")
    expect(badge).to_have_text("Validating")
    expect(badge).to_have_attribute("data-badge", "validating")
    bar = page.locator("progress[data-bar]")
    expect(bar).to_have_attribute("value", "33")  # one of three messages validated
    batch_pk = portal_world["validating"].pk
    expect(bar).to_have_attribute("aria-label", f"Progress of batch #{batch_pk}")
    assert page.locator(".badge").evaluate("e => getComputedStyle(e).borderRadius") != "0px"

    page.goto(live_server.url + f"/portal/batches/{portal_world['reviewing'].pk}/")
    quote = page.locator("#quote")
    expect(quote).to_contain_text("Place in the review queue")
    # The quote is the first thing after the status: a panel of its own, accent border.
    assert quote.evaluate("e => getComputedStyle(e).borderLeftWidth") == "6px"
    expect(page.locator("#findings .badge").first).to_have_attribute("data-badge", "block")
    expect(page.locator("#excluded")).to_contain_text(HOSTILE)


def test_keyboard_reaches_the_content_with_a_visible_focus_ring(
        browser, live_server, carl, portal_world):
    page = browser.new_context(viewport=DESKTOP).new_page()
    log_in(page, live_server.url, "/accounts/login/?next=/portal/", "carl")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    assert skip.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    # Tabbing on reaches the first batch link, drawn with the focus ring.
    link = page.locator(f"a[href='/portal/batches/{portal_world['reviewing'].pk}/']")
    for _ in range(10):
        page.keyboard.press("Tab")
        if link.evaluate("e => e === document.activeElement"):
            break
    expect(link).to_be_focused()
    assert link.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("h1")).to_contain_text(f"Batch #{portal_world['reviewing'].pk}")


def test_tables_become_cards_on_a_phone(browser, live_server, carl, portal_world):
    page = browser.new_context(viewport=PHONE).new_page()
    log_in(page, live_server.url, "/accounts/login/?next=/portal/", "carl")
    for path, table, label in (("/portal/", "#batches", "Campaign"),
                               ("/portal/settings/webhook/", "#deliveries", "Status")):
        page.goto(live_server.url + path)
        cell = page.locator(f"{table} tbody tr").first.locator(f"td[data-label={label}]")
        assert cell.evaluate("e => getComputedStyle(e, '::before').content") == f'"{label}"'
        head = page.locator(f"{table} thead")
        assert head.evaluate("e => e.getBoundingClientRect().height") <= 1
        # Each card is as wide as the screen allows, no wider.
        card = page.locator(f"{table} tbody tr").first.evaluate(
            "e => e.getBoundingClientRect().right")
        assert card <= PHONE["width"]


def test_axe_would_catch_text_too_faint_to_read(browser, live_server):
    """The check above can fail: grey on white at 2:1 is a serious violation to axe."""
    page = browser.new_context(viewport=DESKTOP).new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.locator("main p").last.evaluate("e => { e.style.color = '#bbbbbb'; }")
    assert "color-contrast" in {v["id"] for v in serious_violations(page)}
