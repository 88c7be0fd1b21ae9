"""The operator's review-time page: figures per client, tier and reviewer over a window, and
two server-drawn SVG charts against the target line. And the message edit page's diff against
the generated text."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from apps.core.models import BatchStatus
from apps.review.services import batch_approve, batch_claim, batch_route, message_edit
from tests.conftest import in_review_batch, make_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(acme_campaign, acme_prospects, rita):
    start = timezone.now() - timedelta(days=2)
    for wait in (5, 50):
        batch = make_batch(acme_campaign, acme_prospects, status=BatchStatus.VALIDATING,
                           validated_at=start, worst_severity="")
        with time_machine.travel(start, tick=False):
            batch_route(batch_id=batch.pk)
        with time_machine.travel(start + timedelta(minutes=wait), tick=False):
            batch_claim(batch_id=batch.pk, actor=rita)
        with time_machine.travel(start + timedelta(minutes=wait + 10), tick=False):
            batch_approve(batch_id=batch.pk, actor=rita)


def test_operator_sees_figures_and_charts(client, oscar, decided, acme_client):
    client.force_login(oscar)
    response = client.get(reverse("admin:review_stats"), {"days": 7, "client": acme_client.pk})
    assert response.status_code == 200
    overall = response.context["overall"]
    assert overall["decided"] == 2
    assert overall["wait_p50_s"] == pytest.approx(27.5 * 60)
    assert overall["handle_p50_s"] == 600
    assert overall["within_target_pct"] == 100
    assert [name for name, _ in response.context["by_reviewer"]] == ["rita"]
    assert [name for name, _ in response.context["by_tier"]] == ["Standard"]
    body = response.content.decode()
    assert body.count('class="review-chart"') == 2
    assert "target 240 min" in body  # the target line of the p95 chart
    assert "Acme Outreach" in body


def test_window_excludes_older_decisions(client, oscar, decided):
    client.force_login(oscar)
    with time_machine.travel(timezone.now() + timedelta(days=10), tick=False):
        response = client.get(reverse("admin:review_stats"), {"days": 7})
    assert response.context["overall"]["decided"] == 0
    assert "Nothing decided in this window" in response.content.decode()


def test_message_page_diffs_against_the_generated_text(
    client, rita, acme_campaign, acme_prospects, dns_server
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    message = batch.messages.order_by("pk").first()
    generated_body = message.body
    message_edit(
        message_id=message.pk,
        actor=rita,
        subject=message.subject,
        body="Hello <there>,\n",
        expected_hash=message.content_hash,
    )
    message.refresh_from_db()
    message_edit(message_id=message.pk, actor=rita, subject=message.subject, body="Hello again,\n",
                 expected_hash=message.content_hash)
    client.force_login(rita)
    body = client.get(reverse("admin:core_message_change", args=[message.pk])).content.decode()
    # Against what was generated, not against the previous edit.
    assert f'<div class="del">- {generated_body.strip()}</div>' in body
    assert '<div class="add">+ Hello again,</div>' in body
    assert "Hello &lt;there&gt;" not in body
