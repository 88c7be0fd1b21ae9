"""Bounce processing throughput: N delivery status notifications (default 10,000; the issue asks
for <= 30 s) in a real dovecot mailbox on loopback, read and applied by our job
(apps/deliverability/mailbox.py: IMAP fetch, flufl.bounce, the VERP token, report_apply's
suppression and audit rows, the keyword), against the baseline of parsing the same messages
with flufl.bounce alone (email.message_from_bytes + all_failures) in the same run.

The DSNs are flufl.bounce's own samples (tests/data/bounces: Postfix, Exim, Exchange, qmail,
Yahoo, RFC 3464), each delivered to the VERP return path of one of N messages sent to
distinct recipients, in turn. Filling the mailbox (IMAP APPEND) is not timed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/bounce_mailbox.py [--messages N]

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


def fill(server, mails: list[bytes]) -> None:
    with server.mailbox() as box:
        for raw in mails:
            box.append(raw, "INBOX")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

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
        fill(server, mails)
        print(f"mailbox filled with {len(mails):,} DSNs over IMAP in "
              f"{time.perf_counter() - started:.1f} s (not timed below); load "
              f"{os.getloadavg()[0]:.2f}", flush=True)
        baseline = flufl_alone(mails)
        started = time.perf_counter()
        run = read_bounce_mailbox()
        ours = time.perf_counter() - started
    assert run.read == len(mails) and run.forged == 0, run
    print(f"ours: {run.read:,} read, {run.applied:,} applied {dict(sorted(run.kinds.items()))}, "
          f"{run.not_ours} not ours, in {ours:.1f} s: {run.read / ours:,.0f} DSNs/s "
          f"(target: {len(mails):,} in <= 30 s)")
    print(f"baseline, flufl.bounce alone on the same bytes: {baseline:.1f} s: "
          f"{len(mails) / baseline:,.0f} DSNs/s")
    print(f"ratio ours / flufl.bounce alone (rate): {baseline / ours:.2f}")


def time_now():
    from django.utils import timezone

    return timezone.now()


if __name__ == "__main__":
    Path(ROOT / "var").mkdir(exist_ok=True)
    main()
