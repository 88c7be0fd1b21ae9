"""Soak: random SIGKILLs of the sending workers (work-horse and parent together) during one
batch, the sweeper running as the cron scheduler would, until the batch is done. Some messages
are changed after approval and must never go out.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/send_soak.py [--full] [--messages N] [--kills K]

Default 2,000 messages and 6 kills (about a minute); --full is the issue's 10,000 and 20.
Prints: messages stored twice (must be 0), unapproved stored (must be 0), approved neither sent
nor unknown at the end (must be 0), and how many ended unknown (for a person).
"""

import argparse
import os
import random
import signal
import time

from _common import CountingServer, approved_batch, enqueue_send, setup_django, start_worker

# A short lease and SMTP timeout so that dead workers' claims come back within seconds, and a
# sweeper that takes a job whose heartbeat is 5 s old for dead (a live one then runs twice,
# which the claims make harmless: that is part of what this soak checks).
FAST = {"SEND_LEASE_SECONDS": "5", "EMAIL_TIMEOUT": "2", "SWEEP_GRACE_SECONDS": "0",
        "SWEEP_STALE_JOB_SECONDS": "5", "SEND_CLAIM_CHUNK": "10"}
# The server holds each reply to DATA this long, so that a batch lasts long enough for every
# kill to land while it is sending (at full speed 10,000 messages can be sent before 20 kills,
# each followed by a worker's restart, have happened).
SERVER_DELAY_SECONDS = 0.005


def children_of(pid: int) -> list[int]:
    """Direct children, from /proc (RQ's work-horse runs in a session of its own, so killing
    the worker's process group would spare it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry))
    return found


def kill_worker(process) -> None:
    """SIGKILL the work-horse and the worker at once, as a machine dying would."""
    for pid in [*children_of(process.pid), process.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()


def busy_worker(workers: list, sweep, timeout: float = 60.0) -> int | None:
    """The index of a worker running a job (it has a work-horse child), waiting for one; the
    sweeper runs meanwhile, so work a killed worker held comes back to the queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = [i for i, worker in enumerate(workers) if children_of(worker.pid)]
        if busy:
            return random.choice(busy)
        sweep()
        time.sleep(0.5)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="10,000 messages, 20 kills")
    parser.add_argument("--messages", type=int)
    parser.add_argument("--kills", type=int)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    count = args.messages or (10_000 if args.full else 2_000)
    kills = args.kills if args.kills is not None else (20 if args.full else 6)
    random.seed(args.seed)
    os.environ.update(FAST)
    setup_django()
    import django_rq
    from django.db.models import F

    from apps.core.models import Batch, Message, content_hash
    from apps.pipeline.sweeper import sweep

    django_rq.get_connection("send").flushdb()
    batch = approved_batch(count, label="soak")
    changed = list(Message.objects.filter(batch=batch).order_by("?")[: max(1, count // 33)])
    for message in changed:  # changed after approval: the send-time check must catch them
        body = message.body + "\nP.S. added after approval"
        Message.objects.filter(pk=message.pk).update(
            body=body, content_hash=content_hash(recipient=message.recipient,
                                                 subject=message.subject, body=body))

    started = time.monotonic()
    with CountingServer(delay=SERVER_DELAY_SECONDS) as server:
        enqueue_send(batch.pk)
        enqueue_send(batch.pk, "-second")  # both workers send side by side
        workers = [start_worker(server.port, burst=False, **FAST) for _ in range(2)]
        last_sweep = 0.0
        mid_job = done = 0
        for _ in range(kills):
            # Kill a worker that is running a send job (it has a work-horse), a random moment
            # into it: a kill that lands on a worker still starting up tests nothing.
            victim = busy_worker(workers, sweep)
            if victim is None:
                print(f"no worker busy after {done} kills (the batch is done?)")
                break
            time.sleep(random.uniform(0.05, 0.6))
            mid_job += bool(children_of(workers[victim].pid))
            kill_worker(workers[victim])
            done += 1
            workers[victim] = start_worker(server.port, burst=False, **FAST)
            if time.monotonic() - last_sweep > 1:
                sweep()
                last_sweep = time.monotonic()
        print(f"{done} kills ({mid_job} with a send job running) after "
              f"{time.monotonic() - started:.0f} s; finishing")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if Batch.objects.get(pk=batch.pk).status == "sent":
                break
            sweep()
            time.sleep(1)
        for worker in workers:
            kill_worker(worker)
    elapsed = time.monotonic() - started

    per_id = server.counts()["per_id"]
    messages = {m.message_id_header: m for m in Message.objects.filter(batch=batch)}
    twice = sum(1 for n in per_id.values() if n > 1)
    unapproved = sum(1 for mid in per_id if mid in messages
                     and messages[mid].approved_hash != messages[mid].content_hash)
    approved = Message.objects.filter(batch=batch, approved_hash=F("content_hash"))
    stranded = approved.exclude(send_status__in=["sent", "unknown"]).count()
    unknown = approved.filter(send_status="unknown").count()
    print(f"messages {count}, kills {done}, elapsed {elapsed:.0f} s, batch "
          f"{Batch.objects.get(pk=batch.pk).status}")
    print(f"stored twice:                          {twice}   (must be 0)")
    print(f"unapproved stored:                     {unapproved}   (must be 0; {len(changed)} changed)")
    print(f"approved neither sent nor unknown:     {stranded}   (must be 0)")
    print(f"unknown (for a person to resolve):     {unknown}")
    print(f"stored in all:                         {sum(per_id.values())}")


if __name__ == "__main__":
    main()
