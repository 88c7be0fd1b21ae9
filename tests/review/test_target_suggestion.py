"""The target page's suggestion, from a constructed history made through the services under a
moved clock: clients look, chase and withdraw at known waits; the suggestion is the longest
wait before withdrawals and chases per waiting hour double."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.review.models import StatusCheckSource
from apps.review.services import batch_approve, batch_withdraw, status_check_record
from apps.review.targets import target_evidence
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


def at(start, minutes: float):
    return time_machine.travel(start + timedelta(minutes=minutes), tick=False)


def build_history(campaign, prospects, *, carl, rita, start, late_withdrawals: bool):
    """60 batches enter review at `start`. Chases (a second look) at 8, 25, 50 and 110 min in
    small numbers; 40 batches are approved at 100 min after one look (not a chase); of the 7
    still waiting after 2 h, 6 are withdrawn at 130 min (or approved then, without)."""
    with at(start, 0):
        batches = [in_review_batch(campaign, prospects[:1]) for _ in range(60)]

    def look(batch, minutes):
        with at(start, minutes):
            batch.refresh_from_db()
            status_check_record(batch=batch, source=StatusCheckSource.PORTAL)

    def approve(batch, minutes):
        with at(start, minutes):
            batch_approve(batch_id=batch.pk, actor=rita)

    chasers = [(2, (2, 8)), (2, (16, 25)), (4, (35, 50)), (5, (70, 110))]
    index = 0
    for count, looks in chasers:
        for batch in batches[index:index + count]:
            for minutes in looks:
                look(batch, minutes)
            approve(batch, 400)
        index += count
    for batch in batches[index:index + 40]:
        look(batch, 5)
        approve(batch, 100)
    index += 40
    for batch in batches[index:index + 6]:
        if late_withdrawals:
            with at(start, 130):
                batch.refresh_from_db()
                batch_withdraw(batch=batch, actor=carl)
        else:
            approve(batch, 130)
    approve(batches[index + 6], 300)


def standard(evidence):
    return next(e for e in evidence if e.tier == "standard")


def test_suggests_the_wait_before_impatience_doubles(acme_campaign, acme_prospects, carl, rita):
    start = timezone.now() - timedelta(days=10)
    build_history(acme_campaign, acme_prospects, carl=carl, rita=rita, start=start,
                  late_withdrawals=True)

    evidence = standard(target_evidence())

    assert evidence.rounds == 60
    counts = [(b.start_minutes, b.at_risk, b.chases, b.withdrawals) for b in evidence.buckets[:6]]
    assert counts == [
        (0, 60, 2, 0), (15, 58, 2, 0), (30, 56, 4, 0), (60, 52, 5, 0), (120, 7, 0, 6),
        (240, 1, 0, 0),
    ]
    assert evidence.baseline.start_minutes == 0
    assert evidence.baseline.rate_per_hour == pytest.approx(2 / (2 * 8 / 60 + 58 * 0.25))
    assert evidence.buckets[4].rate_per_hour == pytest.approx(6 / (6 * 10 / 60 + 2))
    assert evidence.suggested_minutes == 120
    assert "suggested target 120 min" in evidence.verdict


def test_no_suggestion_when_impatience_never_doubles(acme_campaign, acme_prospects, carl, rita):
    start = timezone.now() - timedelta(days=10)
    build_history(acme_campaign, acme_prospects, carl=carl, rita=rita, start=start,
                  late_withdrawals=False)

    evidence = standard(target_evidence())

    assert evidence.baseline.start_minutes == 0
    assert evidence.suggested_minutes is None
    assert "never reached twice" in evidence.verdict


def test_a_tier_without_history_gets_no_suggestion(acme_campaign, acme_prospects, carl, rita):
    priority = next(e for e in target_evidence() if e.tier == "priority")
    assert priority.rounds == 0
    assert priority.suggested_minutes is None
    assert "Not enough history" in priority.verdict


def test_history_outside_the_window_is_left_out(acme_campaign, acme_prospects, carl, rita):
    start = timezone.now() - timedelta(days=100)
    build_history(acme_campaign, acme_prospects, carl=carl, rita=rita, start=start,
                  late_withdrawals=True)
    assert standard(target_evidence()).rounds == 0
