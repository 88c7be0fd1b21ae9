"""Dashboard and API list server time for a client with 5,000 batches.

Baseline, measured in the same run: the same pages for a client with 50 batches. The ratio
shows how the pages scale with the number of batches (1.0 = not at all); the target is a p95
under 200 ms. Query counts are printed for both clients (they must be equal).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \\
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/portal_pages.py [--batches 5000]

(create it once: createdb -h 127.0.0.1 -U postgres outbound_bench). It migrates that
database and replaces its bench clients; never point it at real data.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

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
from apps.portal.services import token_issue  # noqa: E402

REQUESTS = 50


def build_client(name: str, batches: int) -> tuple[User, str]:
    client = Client.objects.create(name=name)
    campaign = Campaign.objects.create(
        client=client,
        name="bench",
        subject_template="Hi",
        body_template="Hi",
        sender_email="b@x.com",
    )
    prospects = Prospect.objects.bulk_create(
        Prospect(client=client, email=f"p{i}@{name.lower().replace(' ', '')}.com") for i in range(3)
    )
    rows = Batch.objects.bulk_create(
        Batch(client=client, campaign=campaign, status=BatchStatus.SENT) for _ in range(batches)
    )
    Batch.prospects.through.objects.bulk_create(
        Batch.prospects.through(batch_id=b.pk, prospect_id=p.pk) for b in rows for p in prospects
    )
    digest = content_hash(recipient="x", subject="Hi", body="Hi")
    Message.objects.bulk_create(
        (
            Message(batch=b, prospect=p, recipient=p.email, subject="Hi", body="Hi",
                    content_hash=digest, approved_hash=digest, send_status="sent")
            for b in rows for p in prospects
        ),
        batch_size=5000,
    )
    user = User.objects.create_user(f"bench-{client.pk}", password="x")
    ClientUser.objects.create(user=user, client=client)
    return user, token_issue(client=client, label="bench", actor=None)[1]


def measure(call) -> tuple[float, float, int]:
    times = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as queries:
        call()
    return statistics.median(times), statistics.quantiles(times, n=20)[18], len(queries)


def pages_for(user, token):
    web = HttpClient(SERVER_NAME="localhost")
    web.force_login(user)
    api = HttpClient(SERVER_NAME="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    return {
        "dashboard": lambda: web.get("/portal/"),
        "api list": lambda: api.get("/api/v1/batches?limit=50"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=5000)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("set DATABASE_URL to a PostgreSQL benchmark database")
    from django.conf import settings

    settings.API_RATE_LIMIT_PER_MINUTE = 10**9
    call_command("migrate", verbosity=0)
    for name in ("Bench Large", "Bench Small"):
        Message.objects.filter(batch__client__name=name).delete()
        Batch.prospects.through.objects.filter(batch__client__name=name).delete()
        Batch.objects.filter(client__name=name).delete()
        Client.objects.filter(name=name).delete()
    large = pages_for(*build_client("Bench Large", args.batches))
    small = pages_for(*build_client("Bench Small", 50))
    print(f"{REQUESTS} requests each; server time in ms (in-process, PostgreSQL)")
    for page in ("dashboard", "api list"):
        base_p50, base_p95, base_queries = measure(small[page])
        p50, p95, queries = measure(large[page])
        print(
            f"{page:10} {args.batches} batches: p50 {p50:6.1f}  p95 {p95:6.1f}  "
            f"queries {queries} | "
            f"baseline 50 batches: p50 {base_p50:6.1f}  p95 {base_p95:6.1f}  "
            f"queries {base_queries} | "
            f"ratio p95 {p95 / base_p95:4.2f}x  | p95 vs 200 ms target {p95 / 200:4.2f}"
        )


if __name__ == "__main__":
    main()
