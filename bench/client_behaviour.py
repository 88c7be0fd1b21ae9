"""What recording clients' looks costs a page view, and how long the target page's analysis
takes over a 90-day history.

1. Recording a look (status_check_record: one INSERT whose commit does not wait for the WAL
   flush) against a plain autocommit INSERT of the same row (baseline), median of 300 each;
   and the portal's batch page for a batch in review with the look recorded against the same
   page with the recording switched off (baseline), median of 200 requests each, alternated.
2. apps.review.targets.target_evidence over --rounds review rounds (three looks each, 5 %
   withdrawn) against the time-in-review page's read of the same window
   (apps.review.stats.decided_rounds), median of 5 each.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \\
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/client_behaviour.py [--rounds 20000]

(create it once: createdb -h 127.0.0.1 -U postgres outbound_bench). It migrates that database
and replaces its bench client; never point it at real data.
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.core.models import (  # noqa: E402
    Batch,
    BatchStatus,
    Campaign,
    Client,
    ClientUser,
    Message,
    Prospect,
    content_hash,
)
from apps.portal import views  # noqa: E402
from apps.review import stats  # noqa: E402
from apps.review.models import ReviewRound, StatusCheck  # noqa: E402
from apps.review.services import status_check_record  # noqa: E402
from apps.review.targets import target_evidence  # noqa: E402

NAME = "Bench Behaviour"
PAGE_REQUESTS = 200


def build(rounds: int) -> tuple[User, Batch]:
    old = Client.objects.filter(name=NAME).first()
    if old is not None:
        from django.db import connection

        with connection.cursor() as cursor:  # the audit trail refuses DELETE: none written here
            cursor.execute("DELETE FROM review_statuscheck WHERE batch_id IN "
                           "(SELECT id FROM core_batch WHERE client_id = %s)", [old.pk])
        ReviewRound.objects.filter(batch__client=old).delete()
        Message.objects.filter(batch__client=old).delete()
        Batch.objects.filter(client=old).delete()
        User.objects.filter(client_user__client=old).delete()
        old.delete()
    client = Client.objects.create(name=NAME)
    campaign = Campaign.objects.create(client=client, name="bench", subject_template="Hi",
                                       body_template="Hi", sender_email="b@x.com")
    prospect = Prospect.objects.create(client=client, email="p@bench.com")
    now = timezone.now()
    rng = random.Random(2026)
    entered = [now - timedelta(minutes=rng.uniform(60, 89 * 24 * 60)) for _ in range(rounds)]
    batches = Batch.objects.bulk_create(
        [Batch(client=client, campaign=campaign, status=BatchStatus.APPROVED,
               entered_review_at=at) for at in entered], batch_size=5000,
    )
    round_rows, checks = [], []
    for batch, at in zip(batches, entered, strict=True):
        waited = timedelta(minutes=rng.expovariate(1 / 120))
        withdrawn = rng.random() < 0.05
        round_rows.append(ReviewRound(
            batch=batch, number=1, entered_at=at, first_claimed_at=at + waited / 2,
            decided_at=at + waited, outcome="withdrawn" if withdrawn else "approved",
        ))
        for _ in range(3):
            checks.append(StatusCheck(batch=batch, source="portal",
                                      checked_at=at + waited * rng.random()))
    ReviewRound.objects.bulk_create(round_rows, batch_size=5000)
    StatusCheck.objects.bulk_create(checks, batch_size=5000)
    waiting = Batch.objects.create(client=client, campaign=campaign,
                                   status=BatchStatus.IN_REVIEW, entered_review_at=now)
    digest = content_hash(recipient=prospect.email, subject="Hi", body="Hi")
    Message.objects.create(batch=waiting, prospect=prospect, recipient=prospect.email,
                           subject="Hi", body="Hi", content_hash=digest)
    user = User.objects.create_user(f"bench-behaviour-{client.pk}", password="x")
    ClientUser.objects.create(user=user, client=client)
    return user, waiting


def page_views(user: User, batch: Batch) -> tuple[float, float]:
    http = HttpClient(SERVER_NAME="localhost")
    http.force_login(user)
    url = f"/portal/batches/{batch.pk}/"
    recording = views.status_check_record
    timed: dict[bool, list[float]] = {True: [], False: []}
    for i in range(2 * PAGE_REQUESTS):
        record = i % 2 == 0
        views.status_check_record = recording if record else (lambda **kwargs: None)
        start = time.perf_counter()
        assert http.get(url).status_code == 200
        timed[record].append((time.perf_counter() - start) * 1000)
    views.status_check_record = recording
    return statistics.median(timed[True]), statistics.median(timed[False])


def record_costs(batch: Batch) -> tuple[float, float]:
    timed: dict[str, list[float]] = {"record": [], "plain": []}
    for i in range(600):
        start = time.perf_counter()
        if i % 2 == 0:
            status_check_record(batch=batch, source="portal")
        else:
            StatusCheck.objects.create(
                batch_id=batch.pk, checked_at=timezone.now(), source="portal"
            )
        timed["record" if i % 2 == 0 else "plain"].append((time.perf_counter() - start) * 1000)
    return statistics.median(timed["record"]), statistics.median(timed["plain"])


def median_seconds(call, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, waiting = build(args.rounds)
    record, plain = record_costs(waiting)
    print(f"recording a look: {record:.2f} ms; a plain autocommit INSERT (baseline): "
          f"{plain:.2f} ms: {record / plain:.2f}x")
    with_look, without = page_views(user, waiting)
    print(f"portal batch page in review: {with_look:.2f} ms with the look recorded, "
          f"{without:.2f} ms without (baseline): {with_look / without:.3f}x "
          f"(+{with_look - without:.2f} ms)")
    now = timezone.now()
    analysis = median_seconds(lambda: target_evidence(now=now))
    baseline = median_seconds(lambda: stats.decided_rounds(since=now - timedelta(days=90)))
    evidence = next(e for e in target_evidence(now=now) if e.tier == "standard")
    print(f"target_evidence over {evidence.rounds} rounds / {3 * args.rounds} looks: "
          f"{analysis:.2f} s; decided_rounds over the same 90 days (baseline): {baseline:.2f} s: "
          f"{analysis / baseline:.2f}x")


if __name__ == "__main__":
    main()
