"""Reads of the planning room: who is expected on shift, and what they can review per hour."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model

from apps.planning.rates import HandlingRates, measured_rates
from apps.planning.roster import hour_start, load_roster


@dataclass(frozen=True)
class HourCapacity:
    """One UTC hour of the roster: who is expected on shift and how many messages they can
    review in it at their measured handling rates."""

    start: datetime
    reviewer_ids: tuple[int, ...]
    messages_per_hour: float

    @property
    def reviewers(self) -> int:
        return len(self.reviewer_ids)


def expected_reviewers(*, at: datetime) -> list:
    """The users the roster expects to be reviewing during the hour containing `at`."""
    roster = load_roster(start=at, end=at)
    ids = roster.on_shift(at)
    return list(get_user_model().objects.filter(pk__in=ids).order_by("username"))


def capacity_by_hour(
    *, start: datetime, hours: int, rates: HandlingRates | None = None
) -> list[HourCapacity]:
    """The roster's capacity for each of the `hours` UTC hours from the one containing `start`."""
    first = hour_start(start)
    roster = load_roster(start=first, end=first + timedelta(hours=hours))
    rates = rates if rates is not None else measured_rates(until=start)
    capacity = []
    for offset in range(hours):
        at = first + timedelta(hours=offset)
        ids = tuple(sorted(roster.on_shift(at)))
        per_hour = sum(3600 / rates.seconds_per_message(reviewer_id) for reviewer_id in ids)
        capacity.append(HourCapacity(start=at, reviewer_ids=ids, messages_per_hour=per_hour))
    return capacity
