"""The worker keeps every waiting batch's quote current; the client sees the latest and when
it moved, beside the first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.planning.models import BatchQuote
from apps.planning.selectors import client_quote
from apps.planning.services import quotes_refresh
from tests.planning.conftest import entered_review, weekday_shift

pytestmark = pytest.mark.django_db


def test_the_first_quote_is_kept_and_the_latest_follows_the_queue(
    clock, acme_client, initrode_client, rita
):
    weekday_shift(rita)
    batch = entered_review(acme_client, 10, "std")
    assert quotes_refresh(now=timezone.now()) == 1
    first = BatchQuote.objects.get(batch=batch)
    assert (first.position, first.expected_at) == (1, first.first_expected_at)

    clock.shift(timedelta(minutes=2))
    entered_review(initrode_client, 30, "urgent")  # a priority batch goes ahead of it
    quotes_refresh(now=timezone.now())
    latest = BatchQuote.objects.get(batch=batch)
    assert latest.position == 2
    assert latest.expected_at > first.expected_at + timedelta(minutes=5)
    assert latest.first_expected_at == first.first_expected_at
    assert latest.changed_at == timezone.now()

    shown = client_quote(batch=batch)
    assert (shown.expected_at, shown.changed_at, shown.first_expected_at) == (
        latest.expected_at, latest.changed_at, first.first_expected_at
    )


def test_a_quote_that_does_not_move_keeps_its_change_time(clock, acme_client, rita):
    weekday_shift(rita)
    batch = entered_review(acme_client, 10, "std")
    quotes_refresh(now=timezone.now())
    changed = BatchQuote.objects.get(batch=batch).changed_at
    clock.shift(timedelta(seconds=20))  # the same queue, a little later: under a minute's move
    assert quotes_refresh(now=timezone.now()) == 0
    row = BatchQuote.objects.get(batch=batch)
    assert row.changed_at == changed
    assert row.computed_at == timezone.now()


def test_without_a_stored_quote_the_client_gets_a_fresh_one(clock, acme_client, rita):
    weekday_shift(rita)
    batch = entered_review(acme_client, 10, "std")
    shown = client_quote(batch=batch)
    assert shown.position == 1
    assert shown.quoted_at == timezone.now()
    assert not BatchQuote.objects.exists()
