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
        [--relay ses|mailgun] [--debug]

gunicorn runs as docs/operations.md runs it in production: gthread workers with 4 threads,
DEBUG off, behind a TLS proxy (the requests carry its X-Forwarded-Proto); --debug runs it with
the development settings instead.

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
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid

from _common import (
    ROOT,
    DatabaseCpu,
    _stat,
    approved_batch,
    cpu_seconds,
    free_port,
    setup_django,
)

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


def server_cpu_seconds(master: int) -> float:
    """CPU seconds used so far by gunicorn's master and its workers (from /proc)."""
    workers = [int(entry) for entry in os.listdir("/proc")
               if entry.isdigit() and (_stat(int(entry)) or ["", ""])[1] == str(master)]
    return cpu_seconds(master, reaped_children=False) + sum(map(cpu_seconds, workers))


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
                        "x-amz-sns-message-id": notification["MessageId"],
                        "X-Forwarded-Proto": "https"}))
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
                       {"Content-Type": "application/json", "Authorization": auth,
                        "X-Forwarded-Proto": "https"}))
    return bodies


def drive(port: int, bodies: list[bytes], rate: float, threads: int = 32
          ) -> tuple[list, list, float]:
    """Send each request at its due time; (latencies in s from the due time, statuses, seconds).
    Each request is written out as bytes before (http_request) and sent over a kept-alive
    socket, its answer read just far enough for the status and the body's length: the load
    generator shares the machine's CPU with the server it measures, so it spends little."""
    due: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
    latencies, statuses, lock = [], [], threading.Lock()

    def worker():
        sock = None
        while True:
            item = due.get()
            if item is None:
                return
            at, request = item
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                sock = sock or socket.create_connection(("127.0.0.1", port), timeout=30)
                status = exchange(sock, request)
            except OSError:
                if sock is not None:
                    sock.close()
                sock, status = None, 0
            with lock:
                latencies.append(time.perf_counter() - at)
                statuses.append(status)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    start = time.perf_counter() + 0.5
    for i, request in enumerate(bodies):
        due.put((start + i / rate, request))
    for _ in pool:
        due.put(None)
    for thread in pool:
        thread.join()
    return latencies, statuses, time.perf_counter() - start


def http_request(path: str, body: bytes, headers: dict) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
             *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)", re.IGNORECASE | re.MULTILINE)


def exchange(sock: socket.socket, request: bytes) -> int:
    """Send one request and read its answer; the answer's status."""
    sock.sendall(request)
    received = b""
    while b"\r\n\r\n" not in received:
        received += _more(sock)
    head, body = received.split(b"\r\n\r\n", 1)
    length = CONTENT_LENGTH.search(head)
    while length is not None and len(body) < int(length[1]):
        body += _more(sock)
    return int(head.split(b" ", 2)[1])


def _more(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise OSError("the server closed the connection")
    return chunk


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--relay", choices=("ses", "mailgun"), default="ses")
    parser.add_argument("--debug", dest="production", action="store_false",
                        help="run gunicorn with DEBUG on (the development settings)")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings
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
        requests = [http_request(path, body, headers) for path, body, headers in bodies]
        port = free_port()
        # Production's settings (docs/operations.md): DEBUG off, behind a TLS proxy, which
        # the requests' X-Forwarded-Proto stands for.
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings_sns",
               "PYTHONPATH": f"{ROOT / 'bench'}:{ROOT}", "BENCH_SNS_CA_FILE": host.ca_file,
               "AMAZON_SES_TOPIC_ARNS": TOPIC, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
               "ANYMAIL_WEBHOOK_SECRET": SECRET, "LOG_LEVEL": "ERROR",
               "DEBUG": "false" if args.production else "true",
               "SECRET_KEY": settings.SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1"}
        server = start_gunicorn(port, args.workers, env)
        try:
            print(f"{args.relay}: {count:,} events at {args.rate:g}/s to gunicorn "
                  f"({args.workers} gthread workers × 4 threads, DEBUG "
                  f"{'off' if args.production else 'on'}) on loopback; load "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
            # Sampled seldom: each look reads every process's command line (CPU the server
            # would miss); gunicorn's connections to PostgreSQL live through the run.
            database = DatabaseCpu(settings.DATABASES["default"]["NAME"], every=5).start()
            before = server_cpu_seconds(server.pid), time.process_time()
            latencies, statuses, elapsed = drive(port, requests, args.rate)
            after = server_cpu_seconds(server.pid), time.process_time()
            database_cpu = database.stop()
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    ok = sum(1 for s in statuses if s == 200)
    ms = [v * 1000 for v in latencies]
    print(f"answered 200: {ok:,} of {len(statuses):,} (others: "
          f"{sorted(set(s for s in statuses if s != 200))}); certificate fetches: "
          f"{host.cert_fetches}")
    print(f"achieved rate: {len(statuses) / elapsed:.1f} events/s over {elapsed:.1f} s")
    print(f"CPU per event: gunicorn {1000 * (after[0] - before[0]) / count:.2f} ms, "
          f"PostgreSQL {1000 * database_cpu / count:.2f} ms, this load generator "
          f"{1000 * (after[1] - before[1]) / count:.2f} ms")
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
