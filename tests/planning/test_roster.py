"""The roster: weekly shifts with dated exceptions say who is expected, hour by hour."""

import os
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError

from apps.planning.models import ExceptionKind, RosterException, Shift, Weekday
from apps.planning.rates import HandlingRates
from apps.planning.selectors import capacity_by_hour, expected_reviewers

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 12, 7)  # a Monday


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@pytest.fixture
def rita_and_ravi(rita):
    ravi = User.objects.create_user("ravi", "ravi@outbound.test", "pw", is_staff=True)
    Shift.objects.create(reviewer=rita, weekday=Weekday.MONDAY, start_hour=8, end_hour=12)
    Shift.objects.create(reviewer=ravi, weekday=Weekday.MONDAY, start_hour=10, end_hour=18)
    return rita, ravi


def test_weekly_shifts_say_who_is_on(rita_and_ravi):
    rita, ravi = rita_and_ravi
    assert expected_reviewers(at=at(MONDAY, 7, 59)) == []
    assert expected_reviewers(at=at(MONDAY, 9, 30)) == [rita]
    assert expected_reviewers(at=at(MONDAY, 11)) == [ravi, rita]
    assert expected_reviewers(at=at(MONDAY, 12)) == [ravi]
    assert expected_reviewers(at=at(date(2026, 12, 8), 11)) == []


def test_an_absence_takes_hours_away_and_an_extra_shift_adds_them(rita_and_ravi):
    rita, ravi = rita_and_ravi
    RosterException.objects.create(date=MONDAY, kind=ExceptionKind.OFF, reviewer=ravi)
    RosterException.objects.create(
        date=MONDAY, kind=ExceptionKind.EXTRA, reviewer=rita, start_hour=12, end_hour=14
    )
    assert expected_reviewers(at=at(MONDAY, 11)) == [rita]
    assert expected_reviewers(at=at(MONDAY, 13)) == [rita]
    assert expected_reviewers(at=at(MONDAY, 15)) == []


def test_a_holiday_for_everyone_empties_the_day(rita_and_ravi):
    RosterException.objects.create(
        date=MONDAY, kind=ExceptionKind.OFF, reviewer=None, note="Holiday"
    )
    assert [expected_reviewers(at=at(MONDAY, hour)) for hour in range(24)] == [[]] * 24


def test_capacity_per_hour_adds_the_measured_rates_of_who_is_on(rita_and_ravi):
    rita, ravi = rita_and_ravi
    rates = HandlingRates()
    # Far more history than the prior's weight: the measured rates dominate.
    rates.add(reviewer_id=rita.pk, handling_s=30.0 * 100_000, messages=100_000)
    rates.add(reviewer_id=ravi.pk, handling_s=60.0 * 100_000, messages=100_000)
    hours = capacity_by_hour(start=at(MONDAY, 9, 40), hours=3, rates=rates)
    assert [h.start for h in hours] == [at(MONDAY, 9), at(MONDAY, 10), at(MONDAY, 11)]
    assert [h.reviewers for h in hours] == [1, 2, 2]
    assert hours[0].messages_per_hour == pytest.approx(120, rel=0.01)
    assert hours[1].messages_per_hour == pytest.approx(180, rel=0.01)


def test_an_extra_shift_without_a_reviewer_is_refused():
    with pytest.raises(IntegrityError):
        RosterException.objects.create(date=MONDAY, kind=ExceptionKind.EXTRA, reviewer=None)


def test_the_demo_puts_its_reviewer_on_the_roster_around_the_clock(seeded):
    from django.core.management import call_command

    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", "--no-batches", stdout=devnull)
        call_command("seed_demo", "--no-batches", stdout=devnull)  # twice: no dupes
    rita = User.objects.get(username="rita")
    sunday_3am = at(date(2026, 12, 13), 3)
    assert expected_reviewers(at=sunday_3am) == [rita]
    assert Shift.objects.filter(reviewer=rita).count() == 7
