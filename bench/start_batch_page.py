"""The admin's "Start a batch" page for a client with 200,000 prospects, per filter.

Each filter's page (GET, through Django's test client: the view, its two queries, the template)
is timed REQUESTS times; p50/p95 are printed with the ratio against the baseline measured in the
same run: an exact count(*) of the filter and its 20 newest, run bare on the same connection
(what any page showing the exact figure must run at least). The page counts up to
selection.COUNT_LIMIT and says "more than" past it. The target is a p95 under 300 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python bench/start_batch_page.py \\
        [--prospects 200000] [--explain] [--exact]

(create it once: createdb -h 127.0.0.1 -U postgres outbound_bench). It migrates that database
and replaces its bench clients; never point it at real data. --explain prints the plans of the
page's two statements; --exact also times each page with "Count them exactly" (exact=1).
"""

import argparse
import os
import re
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.core.models import Batch, BatchStatus, Campaign, Client, ProspectTag, Tag  # noqa: E402
from apps.generation.models import ProspectImport  # noqa: E402
from apps.generation.selection import (  # noqa: E402
    COUNT_LIMIT,
    SAMPLE_SIZE,
    Selection,
    prospects_selected,
)

REQUESTS = 30
COMPANIES = 500


def fill_client(name: str, count: int) -> Client:
    """`count` prospects over a year, COMPANIES companies (each its own domain), a quarter
    tagged "spring", the newest tenth from one import, and sends to every 20th a week ago."""
    client = Client.objects.create(name=name)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_prospect (client_id, email, first_name, last_name, company, title,"
            " custom_fields, created_at)"
            " SELECT %s, 'p' || i || '@company' || (i %% %s) || '.com', 'Ann', 'Lee',"
            " 'Company ' || (i %% %s), '', '{}', %s - (i * interval '1 second') * (31536000 / %s)"
            " FROM generate_series(1, %s) i",
            [client.pk, COMPANIES, COMPANIES, now, count, count],
        )
    spring = Tag.objects.create(client=client, name="spring")
    imported = Tag.objects.create(client=client, name="import: newest.csv")
    ProspectImport.objects.create(
        client=client, file_name="newest.csv", file_sha256="0" * 64, encoding="utf-8",
        delimiter=",", mode="valid_rows", outcome="imported", rows_imported=count // 10,
        created_at=now, tag=imported,
    )
    table = ProspectTag._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} (tag_id, prospect_id) SELECT %s, id FROM core_prospect"
                       " WHERE client_id = %s AND id %% 4 = 0", [spring.pk, client.pk])
        cursor.execute(f"INSERT INTO {table} (tag_id, prospect_id) SELECT %s, id FROM core_prospect"
                       " WHERE client_id = %s ORDER BY created_at DESC LIMIT %s",
                       [imported.pk, client.pk, count // 10])
    campaign = Campaign.objects.create(client=client, name="bench", subject_template="Hi",
                                       body_template="Hi", sender_email="b@example.com")
    batch = Batch.objects.create(client=client, campaign=campaign, status=BatchStatus.SENT)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_message (batch_id, prospect_id, recipient, subject, body,"
            " content_hash, approved_hash, worst_severity, excluded, exclusion_reason,"
            " send_status, sent_at)"
            " SELECT %s, id, email, 'Hi', 'Hi', 'h', 'h', '', false, '', 'sent', %s"
            " FROM core_prospect WHERE client_id = %s AND id %% 20 = 0",
            [batch.pk, now - timedelta(days=7), client.pk],
        )
        cursor.execute(
            "INSERT INTO sending_lastcontact (client_id, address, sent_at, batch_id)"
            " SELECT %s, lower(trim(recipient)), sent_at, batch_id FROM core_message"
            " WHERE batch_id = %s", [client.pk, batch.pk],
        )
    return client


def remove_bench_clients() -> None:
    """The last run's rows, by statement (the ORM would load each to cascade)."""
    bench = "SELECT id FROM core_client WHERE name LIKE 'Bench start %%'"
    batches = f"SELECT id FROM core_batch WHERE client_id IN ({bench})"
    with connection.cursor() as cursor:
        for statement in (
            f"DELETE FROM core_message WHERE batch_id IN ({batches})",
            f"DELETE FROM sending_lastcontact WHERE client_id IN ({bench})",
            f"DELETE FROM core_batch_prospects WHERE batch_id IN ({batches})",
            f"DELETE FROM core_auditevent WHERE batch_id IN ({batches})",
            f"DELETE FROM core_batch WHERE client_id IN ({bench})",
            f"DELETE FROM generation_prospectimport WHERE client_id IN ({bench})",
            "DELETE FROM core_prospecttag WHERE tag_id IN"
            f" (SELECT id FROM core_tag WHERE client_id IN ({bench}))",
            f"DELETE FROM core_prospect WHERE client_id IN ({bench})",
        ):
            cursor.execute(statement)
    Client.objects.filter(name__startswith="Bench start ").delete()


def fill_clients(prospects: int) -> Client:
    """Ours, and three others whose rows share the tables and indexes."""
    remove_bench_clients()
    started = time.perf_counter()
    client = fill_client("Bench start ours", prospects)
    for n in range(3):
        fill_client(f"Bench start other {n}", prospects // 2)
    with connection.cursor() as cursor:
        for table in ("core_prospect", "core_prospecttag", "core_message", "sending_lastcontact"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(f"{prospects} prospects (+{3 * (prospects // 2)} of 3 other clients) "
          f"in {time.perf_counter() - started:.0f} s")
    return client


def filters(client: Client) -> dict[str, dict]:
    spring = Tag.objects.get(client=client, name="spring")
    newest = ProspectImport.objects.get(client=client)
    today = timezone.now().date()
    return {
        "everyone": {},
        "import": {"prospect_import": newest.pk},
        "tag": {"tag": spring.pk},
        "company": {"company": "Company 42"},
        "domain": {"domain": "company7.com"},
        "added in 30 days": {"created_since": str(today - timedelta(days=30))},
        "not contacted 30 days": {"not_contacted_since": str(today - timedelta(days=30))},
        "tag + domain + not contacted": {
            "tag": spring.pk, "domain": "company8.com",
            "not_contacted_since": str(today - timedelta(days=30)),
        },
    }


def selection_of(query: dict) -> Selection:
    return Selection(
        import_id=query.get("prospect_import"), tag_id=query.get("tag"),
        company=query.get("company", ""), domain=query.get("domain", ""),
        created_since=query.get("created_since") and datetime.fromisoformat(
            query["created_since"]).date(),
        not_contacted_since=query.get("not_contacted_since") and datetime.fromisoformat(
            query["not_contacted_since"]).date(),
    )


def percentiles(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def timed(call) -> list[float]:
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def bare_statements(client: Client, query: dict):
    """The baseline, an exact count and the sample run bare; and the page's own two statements
    (its count stops at COUNT_LIMIT + 1 rows) for --explain."""
    chosen = prospects_selected(client_id=client.pk, selection=selection_of(query))
    count_sql, count_params = chosen.values("pk").query.sql_with_params()
    sample_sql, sample_params = (
        chosen.order_by("-created_at", "-pk")
        .values("pk", "email", "first_name", "last_name", "company", "created_at")[:SAMPLE_SIZE]
        .query.sql_with_params()
    )
    page_count_sql, page_count_params = (
        chosen.values("pk")[:COUNT_LIMIT + 1].query.sql_with_params()
    )

    def run():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({count_sql}) chosen", count_params)
            cursor.fetchone()
            cursor.execute(sample_sql, sample_params)
            cursor.fetchall()
    page_count = (f"SELECT count(*) FROM ({page_count_sql}) chosen", page_count_params)
    return run, page_count, (sample_sql, sample_params)


def shown_count(response) -> str:
    """The count as the page shows it: "10000+" when it says "more than"."""
    found = re.search(r'id="selection-count"( data-over-limit)?>([\d,]+)<',
                      response.content.decode())
    assert found is not None, "the page shows no selection count"
    return found[2].replace(",", "") + ("+" if found[1] else "")


def explain(statement: tuple[str, list]) -> str:
    sql, params = statement
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=200_000)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--exact", action="store_true")
    parser.add_argument("--keep", action="store_true",
                        help="reuse the last run's bench clients (same --prospects)")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at a PostgreSQL bench database.")
    call_command("migrate", verbosity=0)
    kept = Client.objects.filter(name="Bench start ours").first() if args.keep else None
    client = kept or fill_clients(args.prospects)
    User.objects.filter(username="bench-start-operator").delete()
    operator = User.objects.create_superuser("bench-start-operator", password="x")
    http = HttpClient(SERVER_NAME="localhost")
    http.force_login(operator)
    campaign = Campaign.objects.get(client=client)
    url = reverse("admin:core_campaign_start_batch", args=[campaign.pk])
    print(f"{'filter':32} {'count':>7} {'page p50':>9} {'page p95':>9} "
          f"{'bare p50':>9} {'bare p95':>9} {'p95 ratio':>9}")
    for name, query in filters(client).items():
        pages = [(name, query)]
        if args.exact:
            pages.append((f"{name}, exactly", {**query, "exact": "1"}))
        shown = []
        for label, page_query in pages:
            response = http.get(url, page_query)  # and a warm-up
            assert response.status_code == 200, response.status_code
            page = percentiles(timed(lambda q=page_query: http.get(url, q)))
            shown.append((label, shown_count(response), page))
        run, page_count, sample_statement = bare_statements(client, query)
        b50, b95 = percentiles(timed(run))
        for label, count, (p50, p95) in shown:
            print(f"{label:32} {count:>7} {p50:8.1f}ms {p95:8.1f}ms {b50:8.1f}ms "
                  f"{b95:8.1f}ms {p95 / b95:8.2f}x")
        if args.explain:
            print(explain(page_count))
            print(explain(sample_statement))


if __name__ == "__main__":
    main()
