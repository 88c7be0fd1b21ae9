"""Sending throughput: two RQ workers sending one approved batch to a loopback SMTP server,
against (a) two plain smtplib loops, each on one persistent connection, in parallel — the
practical ceiling for a Python sender — and, depending on the server, (b) django-post_office's
send_queued (aiosmtpd) or Postfix's own C client, `smtp-source -s 2` (Postfix's smtp-sink).

Two servers (--sink):

- `aiosmtpd` (the default): bench/smtp_counter.py, which counts what it stores per Message-ID.
  It is slower than the senders it measures, so it hides their own cost.
- `postfix`: Postfix's `smtp-sink` (C, one process, takes everything, keeps nothing), the issue's
  server: against it the senders' own overhead shows. Needs only the `smtp-sink` and
  `smtp-source` programs, no mail daemon: `apt-get install postfix` (in /usr/sbin), or
  `apt-get download postfix && dpkg -x postfix_*.deb DIR` and --postfix-dir DIR (or
  POSTFIX_TOOLS=DIR; the package's DIR/usr/lib/postfix goes on LD_LIBRARY_PATH). Measures, in one
  run: the two smtplib loops, our two workers at default settings (SEND_CLAIM_CHUNK, the
  journal), and `smtp-source -d -s 2` (two parallel sessions, each keeping its connection, as the
  others do), with a body (-l) that makes its messages about as long as ours; prints the ratios
  ours / smtplib loops (target >= 0.80) and ours / smtp-source. Default 30,000 messages.
  With --latency-ms 10 every one of them talks to smtp-sink through bench/latency_proxy.py,
  which holds each segment 10 ms each way (a relay 20 ms away), where sending is bound by round
  trips: target ours / smtplib loops >= 3.5; default 2,000 messages.

The ceiling's loops send exactly the envelopes and bytes our workers would send for a batch like
the measured one (written beforehand by apps/sending/compose.py's Composer, untimed), in our
workers' conversation (MAIL, RCPT, DATA through smtplib's own calls), so it measures what the
server can take of our traffic. The old ceiling, smtplib.sendmail of a fixed ~400-byte message
(ours carry MIME headers and a List-Unsubscribe link with a signed token: ~600 bytes; sendmail
adds SIZE to MAIL), is printed beside it for comparison (aiosmtpd only). post_office sends its
own messages, as before.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \\
    REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/send_throughput.py [--full] [--messages N] [--no-post-office] \\
        [--default-only] [--cpu] [--runs N] [--sink aiosmtpd|postfix] [--postfix-dir DIR] \\
        [--latency-ms MS]

aiosmtpd: default 2,000 messages (about a minute); --full sends 10,000. postfix: 30,000 (the
issue's size). --runs N repeats the whole measurement N times and prints, at the end, the median
of each figure and of each ratio (every ratio is taken within one run, then the median).
django-post_office comes from the `bench` extra: pip install -e '.[bench]'. --cpu prints, under
each figure, the CPU seconds of the SMTP server, the senders and PostgreSQL's backends of the
benchmark database (from /proc, sampled: needs PostgreSQL on this machine).
"""

import argparse
import multiprocessing
import os
import smtplib
import statistics
import time

from _common import (
    CountingServer,
    DatabaseCpu,
    Delayed,
    PostfixSink,
    PostfixTools,
    approved_batch,
    cpu_seconds,
    enqueue_send,
    run_smtp_source,
    setup_django,
    start_worker,
    stop_workers,
    wait_for_idle_workers,
    wait_for_jobs,
)

# smtp-source writes its own From, To, Date and Message-Id headers (~135 bytes with these
# addresses) above the -l bytes of body.
SMTP_SOURCE_HEADER_BYTES = 135


class CpuSplit:
    """With --cpu: the CPU seconds the SMTP server, the senders and PostgreSQL (the backends of
    the benchmark's database) spend during one measurement, printed per 10,000 messages."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.last = enabled, ""

    def start(self, server, senders) -> None:
        """`senders`: a function giving the senders' CPU seconds so far."""
        if not self.enabled:
            return
        from django.conf import settings

        self.server, self.senders = server.process.pid, senders
        self.database = DatabaseCpu(settings.DATABASES["default"]["NAME"]).start()
        self.before = cpu_seconds(self.server, reaped_children=False), senders()

    def stop(self, count: int) -> None:
        if not self.enabled:
            return
        spent = (cpu_seconds(self.server, reaped_children=False) - self.before[0],
                 self.senders() - self.before[1], self.database.stop())
        per = 10_000 / count
        self.last = ("  CPU seconds per 10,000 messages: SMTP server {:.2f}, senders {:.2f}, "
                     "PostgreSQL {:.2f}; total {:.2f}".format(*(x * per for x in spent),
                                                              sum(spent) * per))

    def print_last(self) -> None:
        """The figures of the last measurement, under its line."""
        if self.last:
            print(self.last)
            self.last = ""


def own_cpu() -> float:
    return sum(os.times()[:2])


def reaped_children_cpu() -> float:
    return sum(os.times()[2:4])


def fixed_message(i: int) -> tuple[str, list[str], bytes]:
    """The old ceiling's message: a fixed ~400-byte text, smaller than ours (no List-Unsubscribe
    with its signed token, fewer MIME headers)."""
    data = (
        f"From: Sam Sender <sam@outbound.test>\r\nTo: p{i:06}@example.com\r\n"
        f"Subject: A question for P{i}\r\nMessage-ID: <plain-{i}@outbound.test>\r\n"
        f"Date: Fri, 27 Nov 2026 06:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\nHi P{i},\r\n\r\nwould your team like "
        f"fewer bounces? A short note, about 300 bytes long, like a real first touch.\r\n\r\n"
        f"Best,\r\nSam\r\n"
    ).encode()
    return "sam@outbound.test", [f"p{i:06}@example.com"], data


def our_messages(count: int) -> list[tuple[str, tuple[str, ...], bytes]]:
    """Exactly what our workers send for a batch like the one they are measured on (envelope
    and bytes, by apps/sending/compose.py's Composer), written beforehand, untimed."""
    from django.db import transaction

    from apps.core.models import Message, content_hash
    from apps.sending.compose import Composer, Draft

    with transaction.atomic():
        batch = approved_batch(count, label="ceiling")
        composer = Composer(client_id=batch.client_id, sender_name=batch.campaign.sender_name,
                            sender_email=batch.campaign.sender_email)
        rows = Message.objects.filter(batch=batch).order_by("pk").values_list(
            "pk", "batch_id", "recipient", "subject", "body")
        drafts = [Draft(*row, content_hash=content_hash(recipient=row[2], subject=row[3],
                                                        body=row[4])) for row in rows]
        messages = [(o.sender, o.recipients, o.data) for o in map(composer.outgoing, drafts)]
        # Nothing is left behind: an approved batch would be sent by the next sweeper to run
        # on this database (the soak's, say).
        transaction.set_rollback(True)
    return messages


def smtplib_loop(port: int, messages: list, conversation: str) -> None:
    smtp = smtplib.SMTP("127.0.0.1", port)
    smtp.ehlo()
    for sender, recipients, data in messages:
        if conversation == "sendmail":
            smtp.sendmail(sender, recipients, data)
        else:
            # Our workers' conversation (apps/sending/smtp.py): MAIL, RCPT, DATA, nothing more.
            # sendmail would add a SIZE parameter to MAIL (the server supports it), which costs
            # the server more per message than what our workers say (docs/performance.md).
            smtp.mail(sender)
            for recipient in recipients:
                smtp.rcpt(recipient)
            smtp.data(data)
    smtp.quit()


def measure_smtplib(messages: list, cpu: CpuSplit, conversation: str, sink) -> float:
    """Messages/s of two plain smtplib loops, one persistent connection each, in parallel,
    sending `messages` (each loop one half; the processes are forked with them in hand), with
    `conversation` "ours" (MAIL, RCPT, DATA) or "sendmail" (smtplib.sendmail's), to a server
    `sink()` starts."""
    with sink() as server:
        half = len(messages) // 2
        loops = [multiprocessing.Process(
                     target=smtplib_loop,
                     args=(server.port, messages[i * half:(i + 1) * half], conversation))
                 for i in range(2)]
        cpu.start(server, reaped_children_cpu)
        started = time.perf_counter()
        for loop in loops:
            loop.start()
        for loop in loops:
            loop.join()
        elapsed = time.perf_counter() - started
        cpu.stop(2 * half)
    stored = server.stored()
    assert stored == 2 * half, stored
    return stored / elapsed


def measure_ours(count: int, cpu: CpuSplit, sink, **worker_settings
                 ) -> tuple[float, float, float, int | None]:
    """(messages/s from enqueueing the two jobs to both done, with the workers already
    listening; messages/s from the first attempt to the last outcome; the workers' start-up in
    seconds, not counted; messages stored twice, None where the server cannot tell (smtp-sink:
    then the server must have taken exactly one message for each sent))."""
    from django.db.models import Max, Min

    from apps.core.models import DeliveryAttempt, Message

    batch = approved_batch(count, label="ours")
    with sink() as server:
        started = time.perf_counter()
        workers = [start_worker(server.port, burst=False, **worker_settings) for _ in range(2)]
        wait_for_idle_workers(2)
        start_up = time.perf_counter() - started
        cpu.start(server, lambda: sum(cpu_seconds(worker.pid) for worker in workers))
        started = time.perf_counter()
        jobs = [enqueue_send(batch.pk), enqueue_send(batch.pk, "-second")]
        wait_for_jobs(jobs)
        elapsed = time.perf_counter() - started
        time.sleep(0.1)  # the workers reap their work-horses
        cpu.stop(count)
        stop_workers(workers)
    per_id = server.per_id()
    sent = Message.objects.filter(batch=batch, send_status="sent").count()
    assert sent == count, f"only {sent} of {count} sent"
    if per_id is None:
        stored = server.stored()
        assert stored == count, f"the server took {stored} messages for {count} sent"
        duplicates = None
    else:
        duplicates = sum(1 for n in per_id.values() if n > 1)
    span = DeliveryAttempt.objects.filter(message__batch=batch).aggregate(
        first=Min("started_at"), last=Max("finished_at")
    )
    sending = (span["last"] - span["first"]).total_seconds()
    return count / elapsed, count / sending, start_up, duplicates


def measure_post_office(count: int, cpu: CpuSplit) -> float:
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
        cpu.start(server, own_cpu)
        started = time.perf_counter()
        while Email.objects.filter(status=STATUS.queued).exists():
            send_queued(processes=1)  # one batch of POST_OFFICE["BATCH_SIZE"] per call
        elapsed = time.perf_counter() - started
        cpu.stop(count)
    stored = server.stored()
    assert stored == count, stored
    return stored / elapsed


def measure_smtp_source(tools: PostfixTools, count: int, length: int, cpu: CpuSplit,
                        sink) -> float:
    """Messages/s of Postfix's smtp-source, two parallel sessions keeping their connections, to
    a server `sink()` starts."""
    with sink() as server:
        cpu.start(server, reaped_children_cpu)
        elapsed = run_smtp_source(tools, server.port, sessions=2, messages=count, length=length)
        cpu.stop(count)
    stored = server.stored()
    assert stored == count, stored
    return count / elapsed


def vacuum_the_sending_tables() -> None:
    """Every run leaves 30,000 messages updated twice; before autovacuum reaches them, the
    claim's index scan wades through the dead rows (2 million of them took ours from 0.84 of
    the loops to 0.50). A production database is vacuumed as it goes: measure one that is."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE core_message, core_deliveryattempt")


def run_aiosmtpd(args, cpu: CpuSplit, count: int) -> dict[str, float]:
    """One measurement against aiosmtpd; its figures and ratios, by name."""
    figures = {}
    ceiling = measure_smtplib(our_messages(count), cpu, "ours", CountingServer)
    figures["smtplib loops, our bytes (ceiling)"] = ceiling
    print(f"two plain smtplib loops, our messages' bytes (ceiling): {ceiling:7.0f} messages/s")
    cpu.print_last()
    fixed = measure_smtplib([fixed_message(i) for i in range(count)], cpu, "sendmail",
                            CountingServer)
    figures["smtplib loops, fixed ~400 bytes (old ceiling)"] = fixed
    print(f"two plain smtplib loops, a fixed ~400-byte message (the old ceiling, for comparison): "
          f"{fixed:7.0f} messages/s")
    cpu.print_last()
    modes: dict[str, dict[str, str]] = {"default": {}}
    results = {}
    for name, worker_settings in modes.items():
        overall, during, start_up, duplicates = measure_ours(count, cpu, CountingServer,
                                                             **worker_settings)
        results[name] = overall, during
        figures[f"ours, {name}"] = overall
        figures[f"ratio ours / ceiling, {name}"] = overall / ceiling
        print(f"two RQ workers, {name}: {overall:6.0f} messages/s from enqueueing to done "
              f"({during:.0f}/s while sending; worker start-up {start_up:.1f} s before, not "
              f"counted), duplicates {duplicates}")
        cpu.print_last()
        print(f"  ratio to the ceiling: {overall / ceiling:5.2f} (target >= 0.80); "
              f"while sending {during / ceiling:.2f}; to the old ceiling {overall / fixed:.2f}")
    if not args.no_post_office:
        post_office = measure_post_office(count, cpu)
        figures["django-post_office"] = post_office
        print(f"django-post_office send_queued (1 process): {post_office:6.0f} messages/s")
        cpu.print_last()
        for name, (overall, during) in results.items():
            figures[f"ratio ours / post_office, {name}"] = overall / post_office
            print(f"  {name}: ratio {overall / post_office:5.2f} (target >= 1.80); "
                  f"while sending {during / post_office:.2f}")
    return figures


def run_postfix(args, cpu: CpuSplit, count: int, tools: PostfixTools) -> dict[str, float]:
    """One measurement against Postfix's smtp-sink (behind the latency proxy with
    --latency-ms); its figures and ratios, by name."""
    def sink():
        if args.latency_ms:
            return Delayed(PostfixSink(tools), args.latency_ms / 1000)
        return PostfixSink(tools)

    target = 3.5 if args.latency_ms else 0.80
    if args.latency_ms:
        print(f"through bench/latency_proxy.py, each segment held {args.latency_ms:g} ms each "
              f"way (a server {2 * args.latency_ms:g} ms away)")

    messages = our_messages(count)
    size = sum(len(data) for _, _, data in messages) / len(messages)
    loops = measure_smtplib(messages, cpu, "ours", sink)
    del messages
    print(f"two plain smtplib loops, our messages' bytes (~{size:.0f} bytes each): "
          f"{loops:7.0f} messages/s")
    cpu.print_last()
    ours, during, start_up, _ = measure_ours(count, cpu, sink)
    print(f"two RQ workers, default settings: {ours:7.0f} messages/s from enqueueing to done "
          f"({during:.0f}/s while sending; worker start-up {start_up:.1f} s before, not counted); "
          f"smtp-sink took exactly one message per message sent")
    cpu.print_last()
    length = max(1, round(size) - SMTP_SOURCE_HEADER_BYTES)
    source = measure_smtp_source(tools, count, length, cpu, sink)
    print(f"smtp-source -d -s 2 -l {length} (C client, ~{length + SMTP_SOURCE_HEADER_BYTES} "
          f"bytes each): {source:7.0f} messages/s")
    cpu.print_last()
    print(f"  ratio ours / smtplib loops: {ours / loops:5.2f} (target >= {target:.2f}); "
          f"while sending {during / loops:.2f}")
    print(f"  ratio ours / smtp-source:   {ours / source:5.2f}; smtplib loops / smtp-source "
          f"{loops / source:.2f}")
    return {
        "smtplib loops, our bytes": loops,
        "ours (two RQ workers, default settings)": ours,
        "ours while sending": during,
        "smtp-source -d -s 2": source,
        "ratio ours / smtplib loops": ours / loops,
        "ratio ours while sending / smtplib loops": during / loops,
        "ratio ours / smtp-source": ours / source,
        "ratio smtplib loops / smtp-source": loops / source,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sink", choices=("aiosmtpd", "postfix"), default="aiosmtpd",
                        help="the SMTP server: bench/smtp_counter.py (aiosmtpd) or Postfix's "
                             "smtp-sink")
    parser.add_argument("--postfix-dir",
                        help="where smtp-sink and smtp-source are, or the root of an extracted "
                             "postfix package (default: $POSTFIX_TOOLS, else /usr/sbin)")
    parser.add_argument("--full", action="store_true",
                        help="aiosmtpd: 10,000 messages (the issue's size)")
    parser.add_argument("--messages", type=int,
                        help="how many messages (default 2,000 with aiosmtpd, 30,000 with postfix)")
    parser.add_argument("--latency-ms", type=float, default=0,
                        help="postfix: every client talks to smtp-sink through "
                             "bench/latency_proxy.py, which holds each segment this long each "
                             "way (the issue's relay 20 ms away: 10); default 2,000 messages")
    parser.add_argument("--runs", type=int, default=1,
                        help="repeat the whole measurement; print the medians at the end")
    parser.add_argument("--no-post-office", action="store_true",
                        help="skip that baseline (aiosmtpd)")
    parser.add_argument("--default-only", action="store_true",
                        help="skip the attempt-per-message mode (aiosmtpd)")
    parser.add_argument("--cpu", action="store_true",
                        help="print the CPU seconds of the server, the senders and PostgreSQL")
    args = parser.parse_args()
    cpu = CpuSplit(args.cpu)
    postfix = args.sink == "postfix"
    tools = PostfixTools(args.postfix_dir) if postfix else None
    if postfix:
        args.no_post_office = True
        count = args.messages or (2_000 if args.latency_ms else 30_000)
    else:
        count = args.messages or (10_000 if args.full else 2_000)
    setup_django("bench.settings" if not args.no_post_office else "config.settings")
    import django_rq

    django_rq.get_connection("send").flushdb()
    vacuum_the_sending_tables()

    multiprocessing.set_start_method("fork")  # the loops take their messages in hand
    runs = []
    for run in range(args.runs):
        if args.runs > 1:
            print(f"--- run {run + 1} of {args.runs} ({count:,} messages, load "
                  f"{os.getloadavg()[0]:.2f})", flush=True)
        runs.append(run_postfix(args, cpu, count, tools) if tools is not None
                    else run_aiosmtpd(args, cpu, count))
    if args.runs > 1:
        print(f"--- medians of {args.runs} runs ({count:,} messages; load now "
              f"{os.getloadavg()[0]:.2f})")
        for name in runs[0]:
            values = [figures[name] for figures in runs]
            fmt = "{:.2f}" if name.startswith("ratio") else "{:.0f}"
            print(f"{name}: {fmt.format(statistics.median(values))}  "
                  f"(runs: {', '.join(fmt.format(v) for v in values)})")


if __name__ == "__main__":
    main()
