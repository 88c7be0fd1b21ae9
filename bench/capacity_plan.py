"""Benchmark: `manage.py capacity_plan` on a 90-day history of 20,000 batches, on PostgreSQL.

    .venv/bin/python bench/capacity_plan.py
    options: --database-url postgres://postgres@127.0.0.1:5432/outbound_bench_h15c
             --batches 20000 --days 90 --runs 3 --keep (reuse the history already built)

The history: three tiers (priority batches of 2-10 messages, standard of 5-40, and a few
standard batches over the extended commitment's 500 messages), arriving by hour of the week
(weekday office hours busiest, a trickle at night and at weekends), decided by five reviewers
with different rates (10 to 30 s a message) on a weekday roster (8-hour shifts from 07:00 to
10:00), about three quarters busy; each batch and its review round
written directly (the plan reads the rounds: tier, entry time, size, handling time, who).

Measured: the wall time of the whole command (reading the history, 20,000 rounds, and every
simulation of the search), median of --runs; target < 10 s. Baseline, in the same run: the
Erlang C closed form for the same per-tier load (microseconds; its answer is printed beside the
simulation's, as a sanity check: it assumes steady Poisson arrivals, exponential handling and
first come first served, none of which holds here, so it is expected to differ).
"""

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATES_S_PER_MESSAGE = {"ada": 10, "ben": 15, "cleo": 20, "dev": 25, "eli": 30}


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/outbound_bench_h15c"
    )
    parser.add_argument("--batches", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="reuse the history of a previous run")
    return parser.parse_args()



def weight(hour_of_week: int) -> float:
    day, hour = divmod(hour_of_week, 24)
    if day >= 5:
        return 0.15
    return 1.0 if 8 <= hour < 18 else 0.2


def build(args) -> None:
    from django.contrib.auth.models import User
    from django.utils import timezone

    from apps.core.models import Batch, BatchStatus, Campaign, Client, ReviewPolicy, Tier
    from apps.planning.models import Shift
    from apps.review.models import ReviewRound

    rng = random.Random(90)
    reviewers = {
        name: User.objects.create_user(name, f"{name}@outbound.test", "pw", is_staff=True)
        for name in RATES_S_PER_MESSAGE
    }
    for i, user in enumerate(reviewers.values()):
        start_hour = (7, 8, 8, 9, 10)[i]
        Shift.objects.bulk_create(
            Shift(reviewer=user, weekday=day, start_hour=start_hour, end_hour=start_hour + 8)
            for day in range(5)
        )
    campaigns = {}
    for tier, name in ((Tier.PRIORITY, "Initrode"), (Tier.STANDARD, "Acme"), ("bulk", "Hooli")):
        client = Client.objects.create(
            name=name, tier=Tier.STANDARD if tier == "bulk" else tier,
            review_policy=ReviewPolicy.REVIEW_ALL,
        )
        campaigns[tier] = Campaign.objects.create(
            client=client, name="Outreach", subject_template="Hi", body_template="Hi",
            sender_name="Sam", sender_email="sam@outbound.test",
        )
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=args.days)
    hours = [start + timedelta(hours=h) for h in range(args.days * 24)]
    weights = [weight(at.weekday() * 24 + at.hour) for at in hours]
    kinds = [
        (Tier.PRIORITY, 0.25, (2, 10)), (Tier.STANDARD, 0.748, (5, 40)),
        ("bulk", 0.002, (501, 700)),
    ]
    batches, rounds = [], []
    for _ in range(args.batches):
        hour = rng.choices(hours, weights)[0]
        entered = hour + timedelta(seconds=rng.uniform(0, 3600))
        kind, _, (low, high) = rng.choices(kinds, [k[1] for k in kinds])[0]
        messages = rng.randint(low, high)
        reviewer = rng.choice(list(reviewers))
        handling = messages * RATES_S_PER_MESSAGE[reviewer] * rng.lognormvariate(0, 0.3)
        decided = entered + timedelta(seconds=rng.expovariate(1 / 1800) + handling)
        campaign = campaigns[kind]
        batches.append(Batch(
            client_id=campaign.client_id, campaign=campaign, status=BatchStatus.APPROVED,
            entered_review_at=entered, decided_at=decided, decided_by=reviewers[reviewer],
        ))
        rounds.append((entered, decided, reviewers[reviewer], handling, messages))
    Batch.objects.bulk_create(batches, batch_size=2000)
    ReviewRound.objects.bulk_create(
        (
            ReviewRound(
                batch=batch, number=1, entered_at=entered,
                first_claimed_at=decided - timedelta(seconds=handling),
                decided_at=decided, decided_by=reviewer, outcome="approved",
                handling_seconds=handling, messages=messages,
            )
            for batch, (entered, decided, reviewer, handling, messages)
            in zip(batches, rounds, strict=True)
        ),
        batch_size=2000,
    )


def main() -> None:
    args = parse_args()
    if not args.keep:
        from _common import recreate_database

        recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from apps.planning.demand import plan_inputs
    from apps.planning.plan import erlang_c_reviewers

    if not args.keep:
        call_command("migrate", verbosity=0)
        began = time.perf_counter()
        build(args)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE review_reviewround")
        took = time.perf_counter() - began
        print(f"built {args.batches:,} batches over {args.days} days in {took:.1f} s")

    timings, output = [], ""
    for _ in range(args.runs):
        out = io.StringIO()
        began = time.perf_counter()
        call_command("capacity_plan", "--json", stdout=out)
        timings.append(time.perf_counter() - began)
        output = out.getvalue()
    plan = json.loads(output)
    began = time.perf_counter()
    inputs = plan_inputs(now=timezone.now())
    read = time.perf_counter() - began
    began = time.perf_counter()
    closed = {
        c.key: erlang_c_reviewers(d, c.promise, staffed_hours=sum(inputs.staffed))
        for c, d in zip(inputs.classes, inputs.demands, strict=True)
    }
    baseline = time.perf_counter() - began

    median = statistics.median(timings)
    runs = ", ".join(f"{t:.2f}" for t in timings)
    print(f"capacity_plan: median {median:.2f} s of {args.runs} (runs: {runs}); target < 10 s")
    print(f"  of which reading the history and the roster: {read:.2f} s")
    print(f"baseline, Erlang C closed form for the same per-tier load: {baseline * 1000:.3f} ms "
          f"(the simulation takes {median / max(baseline, 1e-9):,.0f}x as long)")
    print(f"forecast {plan['forecast_batches_per_day']} batches a day; roster staffs "
          f"{plan['staffed_hours_per_week']} h a week")
    for tier in plan["tiers"]:
        print(
            f"  {tier['label']}: {tier['target']}: {tier['reviewers_on_shift']} on shift "
            f"(Erlang C: {closed.get(tier['tier'])}), "
            f"{tier['reviewer_hours_per_day']} reviewer-h a day, "
            f"{tier['cost_per_day']} {plan['currency']}; "
            + "; ".join(
                f"{p['target']}: {p['extra_reviewer_hours_per_day']:+} h"
                if p["extra_reviewer_hours_per_day"] is not None
                else f"{p['target']}: not reachable"
                for p in tier["one_more_point"]
            )
        )


if __name__ == "__main__":
    main()
