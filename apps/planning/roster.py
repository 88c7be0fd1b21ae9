"""Who is expected to review at a given hour: the weekly shifts with the dated exceptions
applied, loaded once for a span of days so a simulation can ask hour after hour without a query.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from apps.planning.models import ExceptionKind, RosterException, Shift

# How far ahead the next shift of a reviewer is looked for (three weeks).
SEARCH_HOURS = 21 * 24


@dataclass
class Roster:
    """Reviewer ids on shift per (weekday, hour), and the exceptions per date."""

    weekly: dict[tuple[int, int], frozenset[int]] = field(default_factory=dict)
    extra: dict[tuple[date, int], set[int]] = field(default_factory=dict)
    off: dict[tuple[date, int], set[int | None]] = field(default_factory=dict)
    # A simulation asks about the same hours again and again (the backtest, thousands of times).
    _hours: dict[datetime, frozenset[int]] = field(default_factory=dict, repr=False)
    _next: dict[tuple[int, datetime], datetime | None] = field(default_factory=dict, repr=False)
    _began: dict[tuple[int, datetime], datetime] = field(default_factory=dict, repr=False)

    def on_shift(self, at: datetime) -> frozenset[int]:
        """Ids of the reviewers expected on shift during the UTC hour containing `at`."""
        hour = hour_start(at)
        ids = self._hours.get(hour)
        if ids is None:
            ids = self._hours[hour] = self._compute_on_shift(hour)
        return ids

    def _compute_on_shift(self, at: datetime) -> frozenset[int]:
        day, hour = at.date(), at.hour
        ids = set(self.weekly.get((day.weekday(), hour), ()))
        ids |= self.extra.get((day, hour), set())
        off = self.off.get((day, hour), set())
        if None in off:  # a holiday: nobody is expected, extra shifts included
            return frozenset()
        return frozenset(ids - off)

    def next_on_shift(
        self, reviewer_id: int, at: datetime, *, horizon: timedelta
    ) -> datetime | None:
        """The first moment at or after `at` this reviewer is expected on shift (None past the
        horizon)."""
        if reviewer_id in self.on_shift(at):
            return at
        key = (reviewer_id, hour_start(at))
        if key not in self._next:
            self._next[key] = self._next_start(reviewer_id, key[1])
        found = self._next[key]
        return found if found is not None and found < at + horizon else None

    def _next_start(self, reviewer_id: int, hour: datetime) -> datetime | None:
        for _ in range(SEARCH_HOURS):
            hour += timedelta(hours=1)
            if reviewer_id in self.on_shift(hour):
                return hour
        return None

    def shift_began(self, reviewer_id: int, at: datetime) -> datetime | None:
        """When the stretch of shift this reviewer is on at `at` began (None: off shift then).
        Whoever comes on shift is free from then, however long ago their last batch was."""
        hour = hour_start(at)
        if reviewer_id not in self.on_shift(hour):
            return None
        key = (reviewer_id, hour)
        if key not in self._began:
            began = hour
            for _ in range(SEARCH_HOURS):
                if reviewer_id not in self.on_shift(began - timedelta(hours=1)):
                    break
                began -= timedelta(hours=1)
            self._began[key] = began
        return self._began[key]

    def reviewer_ids(self) -> set[int]:
        ids: set[int] = set()
        for members in self.weekly.values():
            ids |= members
        for extra_members in self.extra.values():
            ids |= extra_members
        return ids


def hour_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def load_roster(*, start: datetime, end: datetime) -> Roster:
    """The roster for [start, end): two queries."""
    roster = Roster()
    weekly: dict[tuple[int, int], set[int]] = {}
    for reviewer_id, weekday, first, last in Shift.objects.values_list(
        "reviewer_id", "weekday", "start_hour", "end_hour"
    ):
        for hour in range(first, last):
            weekly.setdefault((weekday, hour), set()).add(reviewer_id)
    roster.weekly = {key: frozenset(ids) for key, ids in weekly.items()}
    exceptions = RosterException.objects.filter(
        date__gte=start.astimezone(UTC).date(),
        date__lte=end.astimezone(UTC).date(),
    ).values_list("date", "kind", "reviewer_id", "start_hour", "end_hour")
    for day, kind, reviewer_id, first, last in exceptions:
        target = roster.extra if kind == ExceptionKind.EXTRA else roster.off
        for hour in range(first, last):
            target.setdefault((day, hour), set()).add(reviewer_id)
    return roster
