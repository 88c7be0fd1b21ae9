"""Sending throughput: two RQ workers sending one approved batch to a loopback aiosmtpd
server, against (a) two plain smtplib loops, each on one persistent connection, in parallel —
the practical ceiling — and (b) django-post_office's send_queued on the same server.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/send_throughput.py [--full] [--messages N] [--no-post-office]

Default 2,000 messages (about a minute); --full sends 10,000 as the issue asks.
django-post_office comes from the `bench` extra: pip install -e '.[bench]'.
"""

import argparse
import multiprocessing
import smtplib
import time

from _common import (
    CountingServer, approved_batch, enqueue_send, setup_django, start_worker, stop_workers,
    wait_for_idle_workers, wait_for_jobs,
)


def smtplib_loop(port: int, start: int, count: int) -> None:
    smtp = smtplib.SMTP("127.0.0.1", port)
    for i in range(start, start + count):
        data = (
            f"From: Sam Sender <sam@outbound.test>\r\nTo: p{i:06}@example.com\r\n"
            f"Subject: A question for P{i}\r\nMessage-ID: <plain-{i}@outbound.test>\r\n"
            f"Date: Fri, 27 Nov 2026 06:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\nHi P{i},\r\n\r\nwould your team like "
            f"fewer bounces? A short note, about 300 bytes long, like a real first touch.\r\n\r\n"
            f"Best,\r\nSam\r\n"
        ).encode()
        smtp.sendmail("sam@outbound.test", [f"p{i:06}@example.com"], data)
    smtp.quit()


def measure_smtplib(count: int) -> float:
    with CountingServer() as server:
        half = count // 2
        loops = [multiprocessing.Process(target=smtplib_loop, args=(server.port, i * half, half))
                 for i in range(2)]
        started = time.perf_counter()
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()
        elapsed = time.perf_counter() - started
    stored = sum(server.counts()["per_id"].values())
    assert stored == 2 * half, stored
    return stored / elapsed


def measure_ours(count: int, **worker_settings) -> tuple[float, float, float, int]:
    """(messages/s from enqueueing the two jobs to both done, with the workers already
    listening; messages/s from the first attempt to the last outcome; the workers' start-up in
    seconds, not counted; messages stored twice)."""
    from django.db.models import Max, Min

    from apps.core.models import DeliveryAttempt, Message

    batch = approved_batch(count, label="ours")
    with CountingServer() as server:
        started = time.perf_counter()
        workers = [start_worker(server.port, burst=False, **worker_settings) for _ in range(2)]
        wait_for_idle_workers(2)
        start_up = time.perf_counter() - started
        started = time.perf_counter()
        jobs = [enqueue_send(batch.pk), enqueue_send(batch.pk, "-second")]
        wait_for_jobs(jobs)
        elapsed = time.perf_counter() - started
        stop_workers(workers)
    counts = server.counts()["per_id"]
    sent = Message.objects.filter(batch=batch, send_status="sent").count()
    assert sent == count, f"only {sent} of {count} sent"
    duplicates = sum(1 for n in counts.values() if n > 1)
    span = DeliveryAttempt.objects.filter(message__batch=batch).aggregate(
        first=Min("started_at"), last=Max("finished_at")
    )
    sending = (span["last"] - span["first"]).total_seconds()
    return count / elapsed, count / sending, start_up, duplicates


def measure_post_office(count: int) -> float:
    from django.conf import settings
    from django.utils import timezone
    from post_office.mail import send_queued
    from post_office.models import STATUS, Email

    with CountingServer() as server:
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        Email.objects.all().delete()
        Email.objects.bulk_create(
            Email(from_email="Sam Sender <sam@outbound.test>", to=[f"p{i:06}@example.com"],
                  subject=f"A question for P{i}", message=f"Hi P{i},\n\nwould your team like "
                  "fewer bounces? A short note, about 300 bytes long, like a real first touch.",
                  status=STATUS.queued, created=timezone.now(), last_updated=timezone.now())
            for i in range(count)
        )
        started = time.perf_counter()
        while Email.objects.filter(status=STATUS.queued).exists():
            send_queued(processes=1)  # one batch of POST_OFFICE["BATCH_SIZE"] per call
        elapsed = time.perf_counter() - started
    stored = sum(server.counts()["per_id"].values())
    assert stored == count, stored
    return stored / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="10,000 messages (the issue's size)")
    parser.add_argument("--messages", type=int, help="how many messages (default 2,000)")
    parser.add_argument("--no-post-office", action="store_true", help="skip that baseline")
    parser.add_argument("--default-only", action="store_true",
                        help="skip the attempt-per-message mode")
    args = parser.parse_args()
    count = args.messages or (10_000 if args.full else 2_000)
    setup_django("bench.settings" if not args.no_post_office else "config.settings")
    import django_rq

    django_rq.get_connection("send").flushdb()

    ceiling = measure_smtplib(count)
    print(f"two plain smtplib loops (ceiling): {ceiling:7.0f} messages/s")
    modes = {
        "default (attempts committed per claim)": {},
        "an attempt committed per message": {"SEND_OPEN_ATTEMPTS_PER_CLAIM": "false"},
    }
    if args.default_only:
        del modes["an attempt committed per message"]
    results = {}
    for name, worker_settings in modes.items():
        overall, during, start_up, duplicates = measure_ours(count, **worker_settings)
        results[name] = overall, during
        print(f"two RQ workers, {name}: {overall:6.0f} messages/s from enqueueing to done "
              f"({during:.0f}/s while sending; worker start-up {start_up:.1f} s before, not "
              f"counted), duplicates {duplicates}")
        print(f"  ratio to the ceiling: {overall / ceiling:5.2f} (target >= 0.80); "
              f"while sending {during / ceiling:.2f}")
    if not args.no_post_office:
        post_office = measure_post_office(count)
        print(f"django-post_office send_queued (1 process): {post_office:6.0f} messages/s")
        for name, (overall, during) in results.items():
            print(f"  {name}: ratio {overall / post_office:5.2f} (target >= 1.80); "
                  f"while sending {during / post_office:.2f}")


if __name__ == "__main__":
    main()
