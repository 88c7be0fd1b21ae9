"""Time in review per round: waiting (entered → first claimed), handling (claimed → decided,
summed over claims, a lapsed claim counting only until its last activity) and total, from one
UTC clock — right across several rounds, a lapsed claim and a DST change, never negative."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.core.models import BatchStatus
from apps.review.models import ReviewRound
from apps.review.services import (
    batch_approve,
    batch_claim,
    batch_recall,
    batch_reject,
    batch_route,
    message_exclude,
)
from tests.conftest import _staff, make_batch

pytestmark = pytest.mark.django_db
# Europe/Berlin leaves summer time at 01:00 UTC on 25 October 2026 (03:00 CEST → 02:00 CET).
T0 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def at(minutes: int):
    return time_machine.travel(T0 + timedelta(minutes=minutes), tick=False)


def test_rounds_lapsed_claim_and_dst(acme_campaign, acme_prospects, rita, oscar, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # local wall clocks go back an hour mid-review
    settings.REVIEW_CLAIM_IDLE_MINUTES = 15
    ruth = _staff("ruth", "reviewer")
    batch = make_batch(acme_campaign, acme_prospects, status=BatchStatus.VALIDATING,
                       validated_at=T0, worst_severity="")
    message = batch.messages.first()
    with at(0):
        batch_route(batch_id=batch.pk)
    with at(10):
        batch_claim(batch_id=batch.pk, actor=rita)
    with at(20):
        message_exclude(message_id=message.pk, actor=rita, reason="left the company")
    with at(40):  # 01:10 UTC: after the switch; rita idle for 20 minutes, her claim lapsed
        batch_claim(batch_id=batch.pk, actor=ruth)
    with at(50):
        batch_approve(batch_id=batch.pk, actor=ruth)
    with at(55):
        batch_recall(batch_id=batch.pk, actor=ruth, reason="client asked to wait")
    with at(65):
        batch_claim(batch_id=batch.pk, actor=ruth)
    with at(75):
        batch_reject(batch_id=batch.pk, actor=ruth, reason="client cancelled", code="other")

    first, second = ReviewRound.objects.filter(batch=batch).order_by("number")
    assert (first.outcome, second.outcome) == ("approved", "rejected")
    # Round 1: waited 10 min; rita handled 10 (until her last action), ruth 10; total 50 min,
    # though Berlin's wall clock says the batch was decided 10 minutes before it entered.
    assert first.waiting_seconds == 600
    assert first.handling_seconds == 1200
    assert first.total_seconds == 3000
    wall_clock = (
        timezone.localtime(first.decided_at).replace(tzinfo=None)
        - timezone.localtime(first.entered_at).replace(tzinfo=None)
    )
    assert wall_clock == timedelta(minutes=-10)  # the trap a local clock would fall into
    # Round 2: entered at the recall.
    assert (second.waiting_seconds, second.handling_seconds, second.total_seconds) == (
        600,
        600,
        1200,
    )
    for round_ in (first, second):
        assert min(round_.waiting_seconds, round_.handling_seconds, round_.total_seconds) >= 0
        assert round_.entered_at.utcoffset() == timedelta(0)


def test_decided_without_a_claim_waited_the_whole_time(acme_campaign, acme_prospects, rita):
    batch = make_batch(acme_campaign, acme_prospects, status=BatchStatus.VALIDATING,
                       validated_at=T0, worst_severity="")
    with at(0):
        batch_route(batch_id=batch.pk)
    with at(30):
        batch_approve(batch_id=batch.pk, actor=rita)
    round_ = ReviewRound.objects.get(batch=batch)
    assert (round_.waiting_seconds, round_.handling_seconds, round_.total_seconds) == (
        1800,
        0,
        1800,
    )


def test_batch_screen_shows_each_round_and_the_sum(client, acme_campaign, acme_prospects, rita):
    from django.urls import reverse

    batch = make_batch(acme_campaign, acme_prospects, status=BatchStatus.VALIDATING,
                       validated_at=T0, worst_severity="")
    for minutes, action in ((0, "route"), (10, "claim"), (15, "approve"), (20, "recall"),
                            (40, "claim"), (50, "approve")):
        with at(minutes):
            {
                "route": lambda: batch_route(batch_id=batch.pk),
                "claim": lambda: batch_claim(batch_id=batch.pk, actor=rita),
                "approve": lambda: batch_approve(batch_id=batch.pk, actor=rita),
                "recall": lambda: batch_recall(batch_id=batch.pk, actor=rita),
            }[action]()
    client.force_login(rita)
    response = client.get(reverse("admin:core_batch_change", args=[batch.pk]))
    # Round 1: 600 s waiting, 300 handling, 900 total; round 2: 1200, 600, 1800.
    assert response.context["rounds_total"] == {"waiting": 1800, "handling": 900, "total": 2700}
    assert '<td>1800 s</td><td>900 s</td><td>2700 s</td>' in response.content.decode()
