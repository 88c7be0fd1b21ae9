"""Benchmark: prospect import and chunked generate+validate+store, against PostgreSQL COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \
    REDIS_URL=redis://127.0.0.1:6379/7 .venv/bin/python bench/generation.py [--prospects 100000]

Default 10,000 prospects (about a minute); --prospects 100000 is the issue's size. The database
must be one the benchmark may empty (its name contains "bench"): it is migrated and flushed.

Measured, in one run, on one machine:
- import: prospects_import of a CSV built from the shared SEC company names (with a Country
  column, so every prospect carries a custom field);
- generation: ONE RQ worker (a subprocess, `rqworker validate generate`) is started and
  waited for (its start-up, mostly importing Django and the validators, is printed apart: a
  production worker is already running), then from batch_start until the batch is routed;
  DNS answers come from a loopback DNS server; every rule the migrations seed is enabled
  (--core-rules: only the four of the first release, as this benchmark ran before);
- first reviewable: from batch_start until the first chunk's messages are validated;
- where the worker's time went: the RQ jobs' own durations, by job;
- the floor: COPY of the same message rows into core_message itself (under a second batch,
  committed, then removed), so with the table's indexes and its foreign keys, which PostgreSQL
  checks row by row at commit, as it does for the generated messages. Also printed: COPY into
  a table LIKE core_message (same indexes, no foreign keys), the floor this benchmark used
  before, and the ratio against it.
Prints each figure and its ratio to the COPY floor.
"""

import argparse
import csv
import io
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
DOMAINS = [f"bench{n}.com" for n in range(20)]


def setup_django(core_rules: bool = False):
    import django

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres") or "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name contains 'bench'.")
    if not os.environ.get("REDIS_URL"):
        sys.exit("Set REDIS_URL to a Redis database the benchmark may flush.")
    subprocess.run(["psql", url.rsplit("/", 1)[0] + "/postgres", "-qc",
                    f"CREATE DATABASE {url.rsplit('/', 1)[-1]}"], capture_output=True)
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    # flush empties what the migrations seeded: put the benchmark's validation rules back.
    import importlib

    from apps.core.models import ValidationRule

    rules = importlib.import_module(
        "apps.core.migrations.0002_defaults_and_append_only_audit"
    ).DEFAULT_RULES
    if not core_rules:
        rules = (
            rules + importlib.import_module("apps.validation.migrations.0002_more_rules").NEW_RULES
        )
    # flush's post_migrate signal brings every rule spec's row back (apps/validation/apps.py):
    # the benchmark measures the set of rules it names, as before.
    ValidationRule.objects.all().delete()
    for code, severity, description in rules:
        ValidationRule.objects.create(code=code, severity=severity, description=description)


def prospect_csv(count: int) -> bytes:
    with (ROOT / "tests" / "data" / "sec_foreign_issuers_2002.csv").open(encoding="utf-8") as f:
        companies = [(r["name"], r["country"]) for r in csv.DictReader(f, delimiter=";")]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Email", "First Name", "Last Name", "Company", "Country"])
    for i in range(count):
        company, country = companies[i % len(companies)]
        writer.writerow(
            [f"person{i}@{DOMAINS[i % len(DOMAINS)]}", f"first{i}", "Doe", company, country]
        )
    return out.getvalue().encode()


def timed(label, func):
    started = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - started
    print(f"{label:<46} {seconds:8.2f} s")
    return result, seconds


def run_worker(env, log) -> subprocess.Popen:
    # Output to a file: a pipe nobody reads fills up and stalls the worker.
    return subprocess.Popen(
        [sys.executable, "manage.py", "rqworker", "validate", "generate"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
    )


def wait_until_listening(worker, log, connection) -> None:
    from rq import Worker

    while not Worker.all(connection=connection):
        if worker.poll() is not None:
            log.seek(0)
            sys.exit(f"the worker did not start:\n{log.read()[-3000:]}")
        time.sleep(0.05)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and of its children it has waited for (an RQ
    worker waits for each work-horse), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def job_times(connection) -> dict[str, tuple[int, float]]:
    """(jobs, seconds inside them) by job function, from RQ's finished-job registries."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    times: dict[str, tuple[int, float]] = {}
    for queue in ("generate", "validate"):
        ids = FinishedJobRegistry(queue, connection=connection).get_job_ids()
        for job in Job.fetch_many(ids, connection=connection):
            if job is not None and job.func_name and job.started_at and job.ended_at:
                count, seconds = times.get(job.func_name, (0, 0.0))
                times[job.func_name] = (
                    count + 1,
                    seconds + (job.ended_at - job.started_at).total_seconds(),
                )
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--prospects", type=int, default=10_000)
    parser.add_argument("--core-rules", action="store_true",
                        help="enable only the four rules of the first release")
    args = parser.parse_args()
    setup_django(args.core_rules)

    import django_rq
    from django.conf import settings
    from django.db import connection, transaction

    from apps.core.models import (
        Batch,
        BatchStatus,
        Campaign,
        Client,
        Message,
        Prospect,
        ValidationRule,
    )
    from apps.generation.models import ChunkStatus, GenerationChunk
    from apps.generation.prospect_import import prospects_import
    from apps.generation.services import batch_start
    from tests.support.dns_server import DnsServer

    django_rq.get_connection("generate").flushdb()
    client = Client.objects.create(name="Bench")
    campaign = Campaign.objects.create(
        client=client, name="Bench", sender_email="sam@outbound.test", sender_name="Sam",
        subject_template="A question for {{ company|company_name }}",
        body_template=("Hi {{ first_name|name_case|first_name_or }},\n\nI saw that "
                       "{{ company|company_name }} is growing in {{ custom.country }}. We help "
                       "teams review automated outbound before it goes out, so nothing "
                       "embarrassing reaches a prospect.\n\nWould a short call next week be "
                       "useful?\n\n{{ sender_name }}\n"),
    )
    n = args.prospects
    rules = ", ".join(ValidationRule.objects.filter(enabled=True).values_list("code", flat=True))
    print(f"{n} prospects, chunks of {settings.GENERATION_FIRST_CHUNK_SIZE} then "
          f"{settings.GENERATION_CHUNK_SIZE}, one worker, PostgreSQL; rules: {rules}")
    data = prospect_csv(n)
    report, import_s = timed("import (parse, check, store)", lambda: prospects_import(
        client=client, data=data, file_name="bench.csv", actor=None))
    assert report.rows_imported == n, report.rows_with_errors

    zone = {d: {"MX": [f"10 mx.{d}."]} for d in DOMAINS}
    zone.update({f"mx.{d}": {"A": ["192.0.2.25"]} for d in DOMAINS})
    import tempfile

    redis = django_rq.get_connection("generate")
    with DnsServer(zone=zone) as dns, tempfile.TemporaryFile("w+") as log:
        env = {**os.environ, "DNS_NAMESERVERS": dns.nameserver,
               "DNS_CANARY_DOMAIN": "gmail.com", "LOG_LEVEL": "WARNING"}
        prospects = list(Prospect.objects.filter(client=client))
        worker = run_worker(env, log)
        timed("worker start-up (not counted below)",
              lambda: wait_until_listening(worker, log, redis))
        worker_cpu_before = process_cpu_seconds(worker.pid)
        started = time.perf_counter()
        batch = batch_start(campaign=campaign, prospects=prospects, actor=None)
        first_reviewable = None
        while True:
            status = Batch.objects.filter(pk=batch.pk).values_list("status", flat=True).get()
            if first_reviewable is None and GenerationChunk.objects.filter(
                batch=batch, status=ChunkStatus.VALIDATED
            ).exists():
                first_reviewable = time.perf_counter() - started
            if status not in (BatchStatus.GENERATING, BatchStatus.VALIDATING):
                break
            if worker.poll() is not None:
                log.seek(0)
                sys.exit(f"the worker stopped with the batch {status}:\n{log.read()[-3000:]}")
            time.sleep(0.05)
        generate_s = time.perf_counter() - started
        worker_cpu = process_cpu_seconds(worker.pid) - worker_cpu_before
        worker.terminate()  # a warm shutdown: the queues are empty
        worker.wait(timeout=60)
    print(f"{'generate + validate + store (to routed)':<46} {generate_s:8.2f} s   ({status})")
    print(f"{'first chunk reviewable after':<46} {first_reviewable:8.2f} s   (target <= 5 s)")
    print(f"{'  CPU of the worker and its work-horses':<46} {worker_cpu:8.2f} s   (less "
          "noisy than the wall clock on a shared machine)")
    for name, (count, seconds) in sorted(job_times(redis).items()):
        print(f"  {name.rsplit('.', 1)[-1]}: {count} jobs, {seconds:.2f} s inside them")
    assert Message.objects.filter(batch=batch, validated_at__isnull=False).count() == n

    columns = ["batch_id", "prospect_id", "recipient", "subject", "body", "content_hash",
               "worst_severity", "excluded", "exclusion_reason", "approved_hash", "send_status"]
    rows = list(Message.objects.filter(batch=batch).values_list(*columns))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_copy_floor")
        cursor.execute("CREATE TABLE bench_copy_floor (LIKE core_message INCLUDING ALL)")

    def copy_rows():
        sql = f"COPY bench_copy_floor ({', '.join(columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    _, table_copy_s = timed("COPY into a copy of the table (no foreign keys)", copy_rows)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_copy_floor")

    # The same rows into core_message itself, under a second batch: its indexes and its foreign
    # keys (checked at commit, row by row, as for the messages generated above). Removed after.
    floor_batch = Batch.objects.create(client=client, campaign=campaign)
    floor_rows = [(floor_batch.pk, *row[1:]) for row in rows]

    def copy_into_messages():
        sql = f"COPY core_message ({', '.join(columns)}) FROM STDIN"
        with transaction.atomic(), connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in floor_rows:
                copy.write_row(row)

    _, copy_s = timed("COPY into core_message (the floor)", copy_into_messages)
    Message.objects.filter(batch=floor_batch).delete()
    floor_batch.delete()
    print(f"ratio import / COPY floor:               {import_s / copy_s:6.1f}x")
    print(
        f"ratio generate+validate+store / COPY floor: {generate_s / copy_s:6.1f}x   (target <= 10x)"
    )
    print(f"  (against the copy of the table without foreign keys, as measured before: "
          f"{generate_s / table_copy_s:.1f}x)")


if __name__ == "__main__":
    main()
