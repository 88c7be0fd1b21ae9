"""`review_stats` prints the review-time figures as JSON, for a window and a client."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.core.models import BatchStatus, Prospect
from apps.review.services import batch_approve, batch_claim, batch_route
from tests.conftest import make_batch, make_campaign

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def reviewed(campaign, prospects, *, entered, waited_min, handled_min, reviewer):
    batch = make_batch(
        campaign,
        prospects,
        status=BatchStatus.VALIDATING,
        validated_at=entered,
        worst_severity="review",
    )
    with time_machine.travel(entered, tick=False):
        batch_route(batch_id=batch.pk)
    with time_machine.travel(entered + timedelta(minutes=waited_min), tick=False):
        batch_claim(batch_id=batch.pk, actor=reviewer)
    with time_machine.travel(entered + timedelta(minutes=waited_min + handled_min), tick=False):
        batch_approve(batch_id=batch.pk, actor=reviewer)
    return batch


def run(*args) -> dict:
    out = StringIO()
    call_command("review_stats", *args, stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def history(acme_campaign, acme_prospects, globex_client, rita):
    # Acme (standard, 4 h): 10+5, 20+10, 300+20 minutes → the last one misses the target.
    for wait, handle in ((10, 5), (20, 10), (300, 20)):
        reviewed(
            acme_campaign,
            acme_prospects,
            entered=T0,
            waited_min=wait,
            handled_min=handle,
            reviewer=rita,
        )
    globex = make_campaign(globex_client)
    prospect = Prospect.objects.create(client=globex_client, email="x@hooli.com", first_name="X")
    reviewed(
        globex,
        [prospect],
        entered=T0 - timedelta(days=30),
        waited_min=1,
        handled_min=1,
        reviewer=rita,
    )


def test_figures_for_a_window(history):
    figures = run("--since", "2026-11-01")
    assert figures["decided"] == 3
    assert figures["wait_p50_s"] == 1200
    assert figures["wait_p95_s"] == pytest.approx(
        1200 + 0.9 * (18000 - 1200)
    )  # between 20 and 300 min
    assert figures["handle_p50_s"] == 600
    assert figures["total_p50_s"] == 1800
    assert figures["total_p95_s"] == pytest.approx(1800 + 0.9 * (19200 - 1800))
    assert figures["within_target_pct"] == pytest.approx(66.7)
    assert figures["handle_s_per_message"] == pytest.approx(35 * 60 / 9, abs=0.05)
    assert {"decided", "wait_p50_s", "wait_p95_s", "handle_p50_s", "total_p50_s", "total_p95_s",
            "within_target_pct"} <= figures.keys()


def test_client_filter_and_a_wider_window(history):
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        assert run("--since", "60d")["decided"] == 4
        assert run("--since", "60d", "--client", "Globex")["decided"] == 1
        assert run("--since", "60d", "--client", "Acme Outreach")["decided"] == 3


def test_nothing_decided_gives_nulls(db, seeded):
    figures = run("--since", "2026-11-01")
    assert figures["decided"] == 0 and figures["wait_p50_s"] is None


def test_bad_arguments_fail_clearly(history):
    with pytest.raises(CommandError, match="--since 'yesterday'"):
        run("--since", "yesterday")
    with pytest.raises(CommandError, match="no client with that name or id"):
        run("--client", "Nobody")
