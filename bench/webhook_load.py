"""Webhook endpoint under a steady load: Amazon SES events through SNS (each signature checked
against a certificate fetched over HTTPS and cached, each event stored in the webhook inbox)
posted to a real gunicorn on loopback at a fixed arrival rate (default 200 events/s for 30 s),
by a load generator of our own (an open loop: request i is due at start + i / rate, whatever
the answers before it; each latency is counted from when the request was due, so a late start
counts too). Prints p50 / p95 / p99 and the achieved rate; the issue asks for p95 < 50 ms at
200/s. Then applies the inbox as its job does (apps/deliverability/inbox.py) and prints the
applier's rate against the arrival rate (above 1: the applier keeps up).

--relay mailgun drives the Mailgun endpoint (anymail's view, an HMAC signature) instead.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/webhook_load.py [--rate 200] [--seconds 30] [--workers 3] \\
        [--relay ses|mailgun]

Each event is a distinct bounce, complaint or delivery about one of as many sent messages (a
batch already sent, as most late reports are). The SNS signatures are made before the clock
starts (tests/support/sns.py's key, certificate and HTTPS server).
"""

import argparse
import hashlib
import hmac
import http.client
import json
import os
import queue
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid

from _common import ROOT, approved_batch, free_port, setup_django

TOPIC = "arn:aws:sns:eu-west-1:123456789012:outbound-ses-events"
MAILGUN_KEY = "key-bench-mailgun-signing-0123456789"
SECRET = "bench:a-long-webhook-password"
KINDS = ["Bounce"] * 6 + ["Complaint"] + ["Delivery"] * 3


def start_gunicorn(port: int, workers: int, env: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", "4", "--worker-class", "gthread",
               "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def ses_bodies(host, messages) -> list[tuple[str, bytes, dict]]:
    from tests.support.sns import ses_event

    bodies = []
    for i, message in enumerate(messages):
        event = ses_event(KINDS[i % len(KINDS)], recipient=message.recipient,
                          message_id_header=message.message_id_header, source="sam@outbound.test")
        notification = host.notification(event, topic=TOPIC)
        bodies.append(("/webhooks/amazon_ses/tracking/", json.dumps(notification).encode(),
                       {"Content-Type": "text/plain; charset=UTF-8",
                        "x-amz-sns-message-type": "Notification",
                        "x-amz-sns-message-id": notification["MessageId"]}))
    return bodies


def mailgun_bodies(messages) -> list[tuple[str, bytes, dict]]:
    import base64

    auth = "Basic " + base64.b64encode(SECRET.encode()).decode()
    bodies = []
    for i, message in enumerate(messages):
        token, stamp = uuid.uuid4().hex * 2, str(int(time.time()))
        signature = hmac.new(MAILGUN_KEY.encode(), f"{stamp}{token}".encode(),
                             hashlib.sha256).hexdigest()
        event = {"id": uuid.uuid4().hex, "event": ["failed", "complained", "delivered"][i % 3],
                 "severity": "permanent", "timestamp": time.time(),
                 "recipient": message.recipient,
                 "delivery-status": {"code": 550, "message": "5.1.1 user unknown"},
                 "message": {"headers": {"message-id": message.message_id_header.strip("<>")}}}
        body = {"signature": {"timestamp": stamp, "token": token, "signature": signature},
                "event-data": event}
        bodies.append(("/webhooks/mailgun/tracking/", json.dumps(body).encode(),
                       {"Content-Type": "application/json", "Authorization": auth}))
    return bodies


def drive(port: int, bodies: list, rate: float, threads: int = 32) -> tuple[list, list, float]:
    """Post each body at its due time; (latencies in s from the due time, statuses, seconds)."""
    due: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
    latencies, statuses, lock = [], [], threading.Lock()

    def worker():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            item = due.get()
            if item is None:
                return
            at, (path, body, headers) = item
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                connection.request("POST", path, body, headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            with lock:
                latencies.append(time.perf_counter() - at)
                statuses.append(status)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    start = time.perf_counter() + 0.5
    for i, body in enumerate(bodies):
        due.put((start + i / rate, body))
    for _ in pool:
        due.put(None)
    for thread in pool:
        thread.join()
    return latencies, statuses, time.perf_counter() - start


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--relay", choices=("ses", "mailgun"), default="ses")
    args = parser.parse_args()
    setup_django()
    from django.utils import timezone

    from apps.core.models import Batch, Message
    from tests.support.sns import FakeSnsHost

    count = int(args.rate * args.seconds)
    batch = approved_batch(count, label="webhooks")
    Message.objects.filter(batch=batch).update(send_status="sent", sent_at=timezone.now())
    Batch.objects.filter(pk=batch.pk).update(status="sent", sent_at=timezone.now())
    messages = list(Message.objects.filter(batch=batch).order_by("pk"))
    with FakeSnsHost() as host:
        bodies = ses_bodies(host, messages) if args.relay == "ses" else mailgun_bodies(messages)
        port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings_sns",
               "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}", "BENCH_SNS_CA_FILE": host.ca_file,
               "AMAZON_SES_TOPIC_ARNS": TOPIC, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
               "ANYMAIL_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "ERROR"}
        server = start_gunicorn(port, args.workers, env)
        try:
            print(f"{args.relay}: {count:,} events at {args.rate:g}/s to gunicorn "
                  f"({args.workers} gthread workers × 4 threads) on loopback; load "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
            latencies, statuses, elapsed = drive(port, bodies, args.rate)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    ok = sum(1 for s in statuses if s == 200)
    ms = [v * 1000 for v in latencies]
    print(f"answered 200: {ok:,} of {len(statuses):,} (others: "
          f"{sorted(set(s for s in statuses if s != 200))}); certificate fetches: "
          f"{host.cert_fetches}")
    print(f"achieved rate: {len(statuses) / elapsed:.1f} events/s over {elapsed:.1f} s")
    print(f"latency from the due time: p50 {percentile(ms, 50):.1f} ms, p95 "
          f"{percentile(ms, 95):.1f} ms, p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms, "
          f"mean {statistics.mean(ms):.1f} ms (target p95 < 50 ms); load now "
          f"{os.getloadavg()[0]:.2f}")
    from apps.deliverability.inbox import webhook_events_apply

    started = time.perf_counter()
    applied = webhook_events_apply()
    took = time.perf_counter() - started
    print(f"inbox applied: {applied:,} events in {took:.1f} s: {applied / took:,.0f} events/s; "
          f"ratio applier / arrival rate: {applied / took / args.rate:.2f}")
    recorded = Message.objects.filter(batch=batch, bounce_events__isnull=False).distinct().count()
    print(f"messages with an event recorded: {recorded:,} of {count:,}")


if __name__ == "__main__":
    main()
