"""Print what each tier's target costs in reviewer-hours and money, and one more point of it.

    manage.py capacity_plan [--volume-per-day 300] [--until 2026-08-30T00:00] [--json]
"""

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apps.core.cli import text_argument
from apps.planning.demand import PlanError, capacity_plan
from apps.planning.plan import MAX_REVIEWERS, Need

MAX_VOLUME_PER_DAY = 1_000_000


def volume(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise CommandError(f"--volume-per-day {value!r}: give a number of batches a day.") from None
    if not 0 < number <= MAX_VOLUME_PER_DAY:  # also refuses nan and inf
        raise CommandError(
            f"--volume-per-day {value!r}: between 0 and {MAX_VOLUME_PER_DAY:,} batches a day."
        )
    return number


def moment(value: str) -> datetime:
    text_argument(value, "--until")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"--until {value!r}: give an ISO date (2026-08-30) or datetime."
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Per tier, the reviewer-hours a day its target needs at the forecast (or given) volume, "
        "and what one more point costs; found by simulating the queue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--volume-per-day",
            help="batches entering review a day (default: the last 28 days' rate)",
        )
        parser.add_argument(
            "--until", help="plan from the 28 days before this ISO date/datetime (UTC); default now"
        )
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, volume_per_day: str | None, until: str | None, json: bool, **options):
        wanted = volume(volume_per_day) if volume_per_day is not None else None
        now = moment(until) if until is not None else timezone.now()
        try:
            plan, inputs, cost = capacity_plan(now=now, volume_per_day=wanted)
        except PlanError as exc:
            raise CommandError(str(exc)) from None
        labels = {c.key: c.label for c in inputs.classes}
        if json:
            figures = plan.as_dict()
            figures["currency"] = cost.currency
            figures["forecast_batches_per_day"] = round(inputs.forecast_batches_per_day, 1)
            for tier in figures["tiers"]:
                tier["label"] = labels[tier["tier"]]
            self.stdout.write(_dumps(figures))
            return
        self.stdout.write(
            f"At {plan.batches_per_day:.1f} batches a day (the last 28 days: "
            f"{inputs.forecast_batches_per_day:.1f}); reviewers on shift "
            f"{plan.staffed_hours_per_week} hours a week; {cost.hourly_cost} {cost.currency} "
            "per reviewer-hour."
        )
        for tier in plan.tiers:
            self.stdout.write(
                f"\n{labels[tier.tier]}: {tier.batches_per_day:.1f} batches a day, "
                f"{tier.mean_handling_minutes:.1f} min to handle one on average"
            )
            self.stdout.write(f"  {_need(tier.current, cost.currency)}")
            for need, extra_hours, extra_cost in tier.next_points:
                more = "" if extra_hours is None else (
                    f": {extra_hours:+.1f} h a day ({extra_cost:+.2f} {cost.currency})"
                )
                self.stdout.write(f"  one more point, {_need(need, cost.currency)}{more}")
        if plan.team is not None:
            team = _need(plan.team, cost.currency, words=False)
            self.stdout.write(f"\nEvery tier holds its target with {team}.")


def _need(need: Need, currency: str, *, words: bool = True) -> str:
    head = f"{need.promise.text}: " if words else ""
    if need.reviewers is None:
        return f"{head}not reachable with up to {MAX_REVIEWERS} reviewers on shift"
    return (
        f"{head}{need.reviewers} reviewer(s) on shift = {need.reviewer_hours_per_day:.1f} "
        f"reviewer-hours a day ({need.cost_per_day:.2f} {currency}), "
        f"simulated: {need.within_pct:.1f} % within the target"
    )


def _dumps(figures: dict) -> str:
    return json.dumps(figures, sort_keys=True)
