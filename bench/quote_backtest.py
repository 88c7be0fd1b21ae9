"""Benchmark: do quotes come true? A 90-day history built through the review services on a
virtual clock, then `quote_backtest` over it (and `capacity_plan`'s time, where it exists).

    .venv/bin/python bench/quote_backtest.py                    # 20,000 batches over 90 days
    options: --database-url postgres://postgres@127.0.0.1:5432/outbound_bench_planning
             --batches 20000 --days 90 --seed 1 --keep (reuse the history already built)

The history: arrivals by hour of the week (weekday office hours busiest, a trickle at night and
at weekends), three tiers (priority, standard, and standard batches over the extended size),
five reviewers on a roster of staggered weekday shifts and one weekend shift, each with a
handling rate of their own and a spread per message and per batch (lognormal). Each reviewer,
when on shift and free, claims the top of the queue in the admin's order (deadline, then entry)
after a short pick-up delay; of several idle when a batch arrives, the one idle longest takes
it (the queue is handed round); they approve (rarely reject) when done: batch_route, batch_claim,
batch_approve and batch_reject, each on the virtual clock (time-machine), so the review rounds
and claim spans are what the services write.

Baseline, in the same run and over the same batches: quoting every batch its tier's target
(the promise itself, what a quote with no model would say).
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # a Monday
# Seconds per message of the five reviewers, and their weekday shifts (UTC hours).
REVIEWERS = [
    ("ada", 22, (7, 15)), ("ben", 28, (8, 16)), ("cy", 34, (9, 17)), ("dee", 42, (10, 18)),
    ("eve", 52, (12, 20)),
]
WEEKEND_SHIFT = ("eve", (10, 16))  # one reviewer covers Saturday and Sunday mornings
# Handling a batch: each message takes a lognormal time (sigma MESSAGE_SPREAD) around the
# reviewer's rate, and the whole batch a lognormal factor (sigma BATCH_SPREAD: a hard brief,
# a tired afternoon).
MESSAGE_SPREAD, BATCH_SPREAD = 0.5, 0.15
EXTENDED_OVER = 500


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/outbound_bench_planning"
    )
    parser.add_argument("--batches", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="reuse the history of a previous run")
    return parser.parse_args()


def hour_weight(weekday: int, hour: int) -> float:
    """Relative arrivals in an hour of the week."""
    if weekday >= 5:
        return 0.4 if 8 <= hour < 18 else 0.1
    if 9 <= hour < 17:
        return 6.0
    if 7 <= hour < 20:
        return 2.5
    return 0.3


def arrivals(rng: random.Random, n: int, days: int) -> list[tuple[datetime, str, int]]:
    """(time, tier, messages) of n batches over `days`, by hour-of-week weight."""
    hours = [START + timedelta(hours=h) for h in range(days * 24)]
    weights = [hour_weight(h.weekday(), h.hour) for h in hours]
    out = []
    for hour in rng.choices(hours, weights=weights, k=n):
        at = hour + timedelta(seconds=rng.uniform(0, 3600))
        if rng.random() < 0.25:
            tier, size = "priority", rng.randint(1, 10)
        elif rng.random() < 0.004:
            tier, size = "standard", rng.randint(EXTENDED_OVER + 1, 800)
        else:
            tier, size = "standard", min(max(int(rng.lognormvariate(2.1, 0.6)), 1), EXTENDED_OVER)
        out.append((at, tier, size))
    return sorted(out)


def recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
        # Building the history commits tens of thousands of small transactions; waiting for
        # each to reach the disk measures the disk, not what this benchmark is about.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def build_history(args) -> dict:
    """Run the world on the virtual clock; returns counts for the report."""
    import heapq

    import time_machine
    from django.contrib.auth.models import Group, User

    from apps.core.models import (
        Batch,
        BatchStatus,
        Campaign,
        Client,
        Message,
        Prospect,
        ReviewPolicy,
        content_hash,
    )
    from apps.planning.models import Shift
    from apps.review.selectors import sla_targets
    from apps.review.services import batch_approve, batch_claim, batch_reject, batch_route

    rng = random.Random(args.seed)
    reviewers, rate = {}, {}
    group = Group.objects.get(name="reviewer")
    for name, seconds, (first, last) in REVIEWERS:
        # No password: hashing one is seconds of CPU per reviewer, and nobody logs in here.
        user = User.objects.create_user(name, f"{name}@outbound.test", None, is_staff=True)
        user.groups.add(group)
        reviewers[user.pk], rate[user.pk] = user, seconds
        for weekday in range(5):
            Shift.objects.create(reviewer=user, weekday=weekday, start_hour=first, end_hour=last)
    weekend_user = next(u for u in reviewers.values() if u.username == WEEKEND_SHIFT[0])
    for weekday in (5, 6):
        Shift.objects.create(reviewer=weekend_user, weekday=weekday,
                             start_hour=WEEKEND_SHIFT[1][0], end_hour=WEEKEND_SHIFT[1][1])

    clients: dict[str, list[tuple[Client, Campaign]]] = {}
    pools: dict[int, list[Prospect]] = {}
    for tier, count in (("standard", 6), ("priority", 3)):
        for i in range(count):
            client = Client.objects.create(name=f"{tier} client {i}", tier=tier,
                                           review_policy=ReviewPolicy.REVIEW_ALL)
            campaign = Campaign.objects.create(
                client=client, name="Outreach", subject_template="Hi", body_template="Hi",
                sender_name="Sam", sender_email="sam@outbound.test",
            )
            pool = Prospect.objects.bulk_create(
                Prospect(client=client, email=f"p{j}@c{client.pk}.example.com", first_name="P")
                for j in range(800)
            )
            clients.setdefault(tier, []).append((client, campaign))
            pools[client.pk] = pool
    targets = {tier: t.target for tier, t in sla_targets().items()}

    def new_batch(at, tier, size):
        client, campaign = rng.choice(clients[tier])
        batch = Batch.objects.create(client=client, campaign=campaign,
                                     status=BatchStatus.VALIDATING)
        Message.objects.bulk_create(
            Message(batch=batch, prospect=p, recipient=p.email, subject="Hi", body="Hi",
                    content_hash=content_hash(recipient=p.email, subject="Hi", body="Hi"),
                    validated_at=at, worst_severity="review")
            for p in rng.sample(pools[client.pk], size)
        )
        return batch

    # The world: events in time order. kind 0 = a batch arrives, 1 = a reviewer is free.
    events: list[tuple[datetime, int, int, object]] = []
    seq = 0

    def push(at, kind, payload):
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, kind, seq, payload))

    for at, tier, size in arrivals(rng, args.batches, args.days):
        push(at, 0, (tier, size))
    waiting: list[tuple[datetime, datetime, int]] = []  # (deadline, entered, batch id)
    sizes: dict[int, int] = {}  # batch id → messages, for the batches not yet claimed
    idle: dict[int, datetime] = {}  # reviewer id → idle since
    shifts = {(s.reviewer_id, s.weekday, h) for s in Shift.objects.all()
              for h in range(s.start_hour, s.end_hour)}

    def on_shift(pk, at):
        return (pk, at.weekday(), at.hour) in shifts

    def next_shift(pk, at):
        hour = at.replace(minute=0, second=0, microsecond=0)
        for _ in range(24 * 8):
            hour += timedelta(hours=1)
            if on_shift(pk, hour):
                return hour
        return None

    for pk in reviewers:
        first_free = START if on_shift(pk, START) else next_shift(pk, START)
        push(first_free, 1, pk)
    decided = 0
    end = START + timedelta(days=args.days)
    from django.db import transaction

    # Events are committed a few hundred at a time (each service still runs in its own
    # savepoint): the history is what is measured afterwards, not how fast it was written.
    outer = transaction.atomic()
    outer.__enter__()
    handled = 0
    with time_machine.travel(START, tick=False) as clock:
        while events:
            at, kind, _, payload = heapq.heappop(events)
            clock.move_to(at)
            handled += 1
            if handled % 500 == 0:
                outer.__exit__(None, None, None)
                outer = transaction.atomic()
                outer.__enter__()
                if handled % 10_000 == 0:
                    print(f"  {at:%Y-%m-%d}: {handled} events", flush=True)
            if kind == 0:
                assert isinstance(payload, tuple)  # (tier, size)
                tier, size = payload
                batch = new_batch(at, tier, size)
                batch_route(batch_id=batch.pk)
                sizes[batch.pk] = size
                heapq.heappush(waiting, (at + targets[tier], at, batch.pk))
                # Idle reviewers notice it after a moment, the one idle longest first.
                for rank, pk in enumerate(sorted(idle, key=lambda r: (idle[r], r))):
                    push(at + timedelta(seconds=15 + 20 * rank + rng.uniform(0, 10)), 1, pk)
                idle.clear()
                continue
            if isinstance(payload, tuple):  # the end of a review: decide
                pk, batch_id = payload
                if rng.random() < 0.1:
                    batch_reject(batch_id=batch_id, actor=reviewers[pk], reason="Off-brand")
                else:
                    batch_approve(batch_id=batch_id, actor=reviewers[pk])
                decided += 1
                push(at + timedelta(seconds=rng.uniform(10, 60)), 1, pk)
                continue
            assert isinstance(payload, int)  # a reviewer is free
            pk = payload
            if not on_shift(pk, at):
                following = next_shift(pk, at)
                if following is not None and following < end + timedelta(days=7):
                    push(following + timedelta(seconds=rng.uniform(0, 300)), 1, pk)
                continue
            if not waiting:
                idle[pk] = at
                continue
            _, _, batch_id = heapq.heappop(waiting)
            batch_claim(batch_id=batch_id, actor=reviewers[pk])
            size = sizes.pop(batch_id)
            review_seconds = rng.lognormvariate(0, BATCH_SPREAD) * sum(
                rate[pk] * rng.lognormvariate(-MESSAGE_SPREAD**2 / 2, MESSAGE_SPREAD)
                for _ in range(size)
            )
            push(at + timedelta(seconds=review_seconds), 1, (pk, batch_id))
    outer.__exit__(None, None, None)
    return {"batches": args.batches, "decided": decided}


def target_as_quote(since) -> dict:
    """The baseline: every batch quoted its tier's target (the extended one when over size)."""
    from apps.planning.backtest import Outcome, Round, summarize
    from apps.review.models import ReviewRound
    from apps.review.selectors import sla_targets

    targets = {tier: t.target.total_seconds() for tier, t in sla_targets().items()}
    outcomes = []
    rows = ReviewRound.objects.filter(
        entered_at__gte=since, decided_at__isnull=False, decided_by__isnull=False
    ).values_list("batch__client__tier", "entered_at", "decided_at", "messages")
    for tier, entered, decided, messages in rows:
        if decided is None:  # never: the filter keeps decided rounds only
            continue
        quoted = 24 * 3600.0 if messages > EXTENDED_OVER else targets[tier]
        round_ = Round(0, 0, 0, tier, entered, decided, None, 0.0, messages)
        outcomes.append(Outcome(round_, quoted, (decided - entered).total_seconds()))
    return summarize(outcomes, since=since, client_id=None)


def main() -> None:
    args = parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    if not args.keep:
        recreate_database(args.database_url)
    sys.path.insert(0, str(ROOT / "bench"))
    from _common import setup_django

    setup_django()
    from django.core.management import call_command, get_commands

    from apps.planning.backtest import backtest

    if not args.keep:
        started = time.perf_counter()
        counts = build_history(args)
        print(f"history: {counts['batches']} batches, {counts['decided']} decided in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        import django_rq

        django_rq.get_connection("send").flushdb()  # the approvals' send jobs: not run here
    # The first week only warms the replay up (rates, arrivals, calibration), as in production.
    since = START + timedelta(days=7)
    started = time.perf_counter()
    figures = backtest(since=since)
    backtest_s = time.perf_counter() - started
    baseline = target_as_quote(since)
    report = {
        "quote_backtest": figures, "quote_backtest_seconds": round(backtest_s, 1),
        "baseline_target_as_quote": {k: v for k, v in baseline.items() if k != "by_tier"},
    }
    if "capacity_plan" in get_commands():
        # h15c's capacity_plan (docs/planning.md): its time over the same history.
        started = time.perf_counter()
        # As of the history's end: the plan reads the 28 days before it.
        end = START + timedelta(days=args.days)
        with open(os.devnull, "w") as devnull:
            call_command("capacity_plan", "--json", "--until", end.isoformat(), stdout=devnull)
        report["capacity_plan_seconds"] = round(time.perf_counter() - started, 1)
    else:
        report["capacity_plan_seconds"] = "capacity_plan not available in this checkout"
    print(json.dumps(report, indent=2))
    ours, base = figures["median_abs_error_pct"], baseline["median_abs_error_pct"]
    if ours and base:
        print(f"median error: ours {ours} % vs target-as-quote {base} % "
              f"(ratio {ours / base:.2f})")


if __name__ == "__main__":
    main()
