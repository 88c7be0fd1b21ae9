"""Bounce processing throughput: N delivery status notifications (default 10,000; the issue asks
for <= 30 s) in a real dovecot mailbox on loopback, read and applied by our job
(apps/deliverability/mailbox.py: IMAP fetch, flufl.bounce, the VERP token, report_apply's
suppression and audit rows, the keyword), against the baseline of parsing the same messages
with flufl.bounce alone (email.message_from_bytes + all_failures) in the same run.

The DSNs are flufl.bounce's own samples (tests/data/bounces: Postfix, Exim, Exchange, qmail,
Yahoo, RFC 3464), each delivered to the VERP return path of one of N messages sent to
distinct recipients, in turn. Filling the mailbox (Maildir files, as a delivery agent writes
them, and dovecot's first look at them) is not timed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/bounce_mailbox.py [--messages N] [--processes P] [--chunk C]

--processes and --chunk set BOUNCE_READ_PROCESSES and BOUNCE_IMAP_FETCH_CHUNK (default: the
settings' own).

Needs Debian's dovecot-imapd (tests/support/imap_server.py starts its own instance).
"""

import argparse
import os
import time
from email import message_from_bytes
from pathlib import Path

from _common import ROOT, approved_batch, setup_django

SAMPLES = ROOT / "tests" / "data" / "bounces"


def dsns(message_ids: list[int]) -> list[bytes]:
    from apps.sending import verp

    samples = sorted(SAMPLES.glob("*.txt"))
    raws = [path.read_bytes() for path in samples]
    return [f"Delivered-To: {verp.return_path(pk)}\r\n".encode() + raws[i % len(raws)]
            for i, pk in enumerate(message_ids)]


def flufl_alone(mails: list[bytes]) -> float:
    from flufl.bounce import all_failures

    started = time.perf_counter()
    for raw in mails:
        all_failures(message_from_bytes(raw))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--processes", type=int)
    parser.add_argument("--chunk", type=int)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    settings.BOUNCE_READ_PROCESSES = args.processes or settings.BOUNCE_READ_PROCESSES
    settings.BOUNCE_IMAP_FETCH_CHUNK = args.chunk or settings.BOUNCE_IMAP_FETCH_CHUNK

    from apps.core.models import Batch, Message
    from apps.deliverability.mailbox import read_bounce_mailbox
    from tests.support.imap_server import ImapServer, available

    if not available():
        raise SystemExit("dovecot is not installed: apt-get install dovecot-imapd")
    settings.BOUNCE_DOMAIN, settings.BOUNCE_LOCAL_PART = "bounce.outbound.test", "bounces"
    batch = approved_batch(args.messages, label="bounces")
    Message.objects.filter(batch=batch).update(send_status="sent", sent_at=time_now())
    Batch.objects.filter(pk=batch.pk).update(status="sent", sent_at=time_now())
    ids = list(Message.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))
    mails = dsns(ids)
    with ImapServer() as server:
        settings.BOUNCE_IMAP_HOST, settings.BOUNCE_IMAP_PORT = server.host, server.port
        settings.BOUNCE_IMAP_SSL, settings.BOUNCE_IMAP_FOLDER = False, "INBOX"
        settings.BOUNCE_IMAP_USER, settings.BOUNCE_IMAP_PASSWORD = server.user, server.password
        started = time.perf_counter()
        server.deliver(mails)
        print(f"mailbox filled with {len(mails):,} DSNs in {time.perf_counter() - started:.1f} s "
              f"(not timed below); load {os.getloadavg()[0]:.2f}", flush=True)
        baseline = flufl_alone(mails)
        print(f"load {os.getloadavg()[0]:.2f}; reading with {settings.BOUNCE_READ_PROCESSES} "
              f"process(es), {settings.BOUNCE_IMAP_FETCH_CHUNK} per fetch", flush=True)
        started = time.perf_counter()
        run = read_bounce_mailbox()
        ours = time.perf_counter() - started
    assert run.read == len(mails) and run.forged == 0, run
    check(batch, mails, run)
    print(f"ours: {run.read:,} read, {run.applied:,} applied {dict(sorted(run.kinds.items()))}, "
          f"{run.not_ours} not ours, in {ours:.1f} s: {run.read / ours:,.0f} DSNs/s "
          f"(target: {len(mails):,} in <= 30 s); load now {os.getloadavg()[0]:.2f}")
    print(f"baseline, flufl.bounce alone on the same bytes (one process): {baseline:.1f} s: "
          f"{len(mails) / baseline:,.0f} DSNs/s")
    print(f"ratio ours / flufl.bounce alone (rate): {baseline / ours:.2f}")


def check(batch, mails: list[bytes], run) -> None:
    """Each message has exactly one event, of the kind reading its DSN alone gives."""
    from collections import Counter

    from apps.deliverability.models import BounceEvent
    from apps.deliverability.reading import classify

    events = BounceEvent.objects.filter(batch=batch)
    assert events.count() == events.values("message").distinct().count() == len(mails)
    kinds = {raw: classify(message_from_bytes(raw))[0] for raw in set(_bodies(mails))}
    expected = Counter(kinds[body] for body in _bodies(mails))
    assert dict(expected) == run.kinds, (dict(expected), run.kinds)
    assert Counter(events.values_list("kind", flat=True)) == expected


def _bodies(mails: list[bytes]) -> list[bytes]:
    return [raw.split(b"\r\n", 1)[1] for raw in mails]  # without the Delivered-To line


def time_now():
    from django.utils import timezone

    return timezone.now()


if __name__ == "__main__":
    Path(ROOT / "var").mkdir(exist_ok=True)
    main()
