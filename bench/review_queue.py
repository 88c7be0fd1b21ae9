"""Benchmark: the holding queue's admin pages and the bulk fix, on PostgreSQL.

    .venv/bin/python bench/review_queue.py         # default: 2,000 batches / 100k messages
    .venv/bin/python bench/review_queue.py --full  # the issue's size: 2,000 batches / 1M messages
    options: --database-url postgres://postgres@127.0.0.1:5432/outbound_bench_review
             --requests 50  --big-batch 50000  --fix 10000  --keep (reuse the data already built)

Builds its data with COPY in a database of its own (dropped and re-created unless --keep), then
measures in-process server time (Django's test client: URL routing, middleware, admin, queries,
template) for:

  1. the review queue page (`/admin/core/batch/queue/`) over every batch in review, with each
     batch's findings-by-kind counts cached (unchanged batches) and recomputed every time,
  2. the review screen of one 50,000-message batch (page 200), with its finding groups cached
     (paging through an unchanged batch) and recomputed on every request (after each change),
  3. the bulk fix of a 10,000-message finding group (" GmbH" → "") vs re-validating those same
     messages alone (the fix should cost little more than the validation it triggers).

Baseline for 1 and 2: the admin index page, measured in the same run (same session, middleware
and admin chrome, almost no queries), so the ratio says what the page itself adds on a shared,
noisy machine. Target: p95 < 300 ms for 1 and 2. The recipient_domain rule is switched off in
the benchmark database (no DNS here); both sides of 3 run the same rules.
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/outbound_bench_review")
    parser.add_argument(
        "--full", action="store_true", help="1M messages in the queue (the issue's size)"
    )
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--big-batch", type=int, default=50_000)
    parser.add_argument("--fix", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="reuse the data of a previous run")
    return parser.parse_args()



def copy_rows(table: str, columns: list[str], rows) -> None:
    """COPY rows (tuples of str/int/None) into a table through Django's connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


BODY = (
    "Hi {first},\n\nwe help teams like {company} GmbH cut their bounce rate in half. Most of our "
    "customers see results within two weeks, and the setup takes an afternoon.\n\nWould a short "
    "call next week make sense?\n\nSam"
)


def build(args) -> dict:
    """Clients, campaigns, prospects (a pool shared by a client's batches), batches in review,
    messages and findings — the big tables by COPY."""
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.db import connection
    from django.utils import timezone

    from apps.core.models import (
        Batch,
        BatchStatus,
        Campaign,
        Client,
        Tier,
        ValidationRule,
        content_hash,
    )

    ValidationRule.objects.filter(code="recipient_domain").update(enabled=False)
    User.objects.create_superuser("bench", "bench@outbound.test", "bench")
    per_batch = (1_000_000 if args.full else 100_000) // args.batches
    pool = max(per_batch, args.big_batch, args.fix)
    now = timezone.now()
    clients = [
        Client.objects.create(
            name=f"Client {i}", tier=Tier.PRIORITY if i % 4 == 0 else Tier.STANDARD
        )
        for i in range(20)
    ]
    campaigns = [
        Campaign.objects.create(client=c, name="Spring", subject_template="s", body_template="b",
                                sender_email="sam@outbound.test")
        for c in clients
    ]
    big_client = clients[1]
    # Prospects: `pool` for the big client, `per_batch` for the others.
    prospect_ids: dict[int, list[int]] = {}
    for client in clients:
        count = pool if client is big_client else per_batch
        copy_rows(
            "core_prospect",
            ["client_id", "email", "first_name", "last_name", "company", "title", "custom_fields",
             "created_at"],
            (
                (client.pk, f"p{i}@c{client.pk}.example", f"P{i}", "", f"Co{i}", "", "{}",
                 now.isoformat())
                for i in range(count)
            ),
        )
        prospect_ids[client.pk] = list(
            client.prospects.order_by("pk").values_list("pk", flat=True)
        )
    batches = Batch.objects.bulk_create(
        Batch(client=clients[i % len(clients)], campaign=campaigns[i % len(clients)],
              status=BatchStatus.IN_REVIEW, entered_review_at=now - timedelta(minutes=i % 600))
        for i in range(args.batches)
    )
    big = Batch.objects.create(
        client=big_client,
        campaign=campaigns[1],
        status=BatchStatus.IN_REVIEW,
        entered_review_at=now,
    )
    fix = Batch.objects.create(
        client=big_client,
        campaign=campaigns[1],
        status=BatchStatus.IN_REVIEW,
        entered_review_at=now,
    )
    plan = [(b, per_batch) for b in batches] + [(big, args.big_batch), (fix, args.fix)]

    def message_rows():
        for batch, count in plan:
            for n, prospect_id in enumerate(prospect_ids[batch.client_id][:count]):
                recipient, subject = f"p{n}@c{batch.client_id}.example", f"A question for P{n}"
                body = BODY.format(first=f"P{n}", company=f"Co{n}")
                yield (batch.pk, prospect_id, recipient, subject, body,
                       content_hash(recipient=recipient, subject=subject, body=body),
                       now.isoformat(), "block", False, "", "", "")

    copy_rows(
        "core_message",
        [
            "batch_id",
            "prospect_id",
            "recipient",
            "subject",
            "body",
            "content_hash",
            "validated_at",
            "worst_severity",
            "excluded",
            "exclusion_reason",
            "approved_hash",
            "send_status",
        ],
        message_rows(),
    )
    # One legal-form finding per message, at the " GmbH" the body carries.
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO core_finding (message_id, batch_id, rule_code, rule_version, severity,
                                         field, start, "end", explanation, suggestion)
               SELECT id, batch_id, 'legal_form', 1, 'block', 'body',
                      strpos(body, ' GmbH') - 1, strpos(body, ' GmbH') + 4,
                      'Legal form GmbH left in the text', ''
               FROM core_message"""
        )
        cursor.execute("ANALYZE")
    total = sum(count for _, count in plan)
    return {"big": big.pk, "fix": fix.pk, "messages": total, "batches": len(plan)}


def existing() -> dict:
    from django.db.models import Count

    from apps.core.models import Batch, Message

    sizes = Batch.objects.annotate(n=Count("messages")).order_by("-n", "-pk").values_list("pk", "n")
    (big, _), (fix, _) = list(sizes[:2])
    return {
        "big": big,
        "fix": fix,
        "messages": Message.objects.count(),
        "batches": Batch.objects.count(),
    }


def timed_gets(client, url: str, requests: int, *, cold: bool = False) -> list[float]:
    from django.core.cache import cache

    for _ in range(3):  # warm caches (templates, content types, PostgreSQL's buffers)
        assert client.get(url).status_code == 200
    times = []
    for _ in range(requests):
        if cold:
            cache.clear()  # the finding groups are computed again, as after every change
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return times


def p(values, pct):
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def report(name: str, times: list[float], baseline: list[float]) -> None:
    p50, p95 = p(times, 50), p(times, 95)
    b50, b95 = p(baseline, 50), p(baseline, 95)
    verdict = "OK" if p95 < 300 else "OVER TARGET"
    print(
        f"{name:<34} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"(x{p50 / b50:.1f} / x{p95 / b95:.1f} the admin index)  "
        f"target p95 < 300 ms: {verdict}"
    )


def bench_bulk_fix(batch_id: int, user) -> None:
    from apps.core.models import Message
    from apps.review.selectors import finding_groups
    from apps.review.services import edits

    messages = list(Message.objects.filter(batch_id=batch_id).order_by("pk"))
    start = time.perf_counter()
    from django.db import transaction

    with transaction.atomic():
        edits._revalidate(messages)  # the baseline: re-validating those messages alone
    revalidate_s = time.perf_counter() - start
    groups = [g for g in finding_groups(batch_id=batch_id) if g["text"] == " GmbH"]
    if not groups:
        print("bulk fix: already done in this database (--keep); run without --keep to measure it")
        return
    [group] = groups
    recording = _time_endings()
    start = time.perf_counter()
    result = edits.findings_fix_group(
        batch_id=batch_id,
        actor=user,
        group=edits.FindingGroup(
            rule_code=group["rule_code"],
            field=group["field"],
            text=group["text"],
            suggestion=group["suggestion"],
        ),
    )
    fix_s = time.perf_counter() - start
    assert result.fixed == len(messages), result
    print(
        f"{'bulk fix of ' + str(result.fixed) + ' messages':<34} {fix_s:7.2f} s   "
        f"re-validating them alone "
        f"{revalidate_s:6.2f} s   ratio x{fix_s / revalidate_s:.2f}"
    )
    print(f"  of which recording how the findings ended {recording[0]:6.2f} s "
          f"({100 * recording[0] / fix_s:.0f} % of the fix)")


def _time_endings() -> list[float]:
    """Wrap the fix's two disposition steps (read the findings before, record what ended
    after) so the fix's share spent on them is measured in the same run."""
    from apps.review.services import dispositions

    spent = [0.0]

    def timed(func):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - start
        return wrapper

    dispositions.findings_before_edit = timed(dispositions.findings_before_edit)
    dispositions.record_after_edit = timed(dispositions.record_after_edit)
    return spent


def main() -> None:
    args = parse_args()
    if not args.keep:
        from _common import recreate_database

        recreate_database(args.database_url)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    setup_test_environment()
    settings.DEBUG = False  # no query log growing in memory while we time
    started = time.perf_counter()
    if not args.keep:
        call_command("migrate", verbosity=0)
        facts = build(args)
    else:
        facts = existing()
    print(f"data: {facts['batches']} batches in review, {facts['messages']} messages "
          f"(built in {time.perf_counter() - started:.0f} s)")
    from django.contrib.auth.models import User

    user = User.objects.get(username="bench")
    client = Client()
    client.force_login(user)
    baseline = timed_gets(client, reverse("admin:index"), args.requests)
    report("admin index (baseline)", baseline, baseline)
    queue = reverse("admin:core_batch_queue")
    report("review queue page", timed_gets(client, queue, args.requests), baseline)
    report(
        "  same, findings by kind not cached",
        timed_gets(client, queue, args.requests, cold=True),
        baseline,
    )
    screen = reverse("admin:core_batch_change", args=[facts["big"]]) + "?page=200"
    report(
        f"review screen ({args.big_batch} messages)",
        timed_gets(client, screen, args.requests),
        baseline,
    )
    report(
        "  same, finding groups not cached",
        timed_gets(client, screen, args.requests, cold=True),
        baseline,
    )
    bench_bulk_fix(facts["fix"], user)


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    main()
