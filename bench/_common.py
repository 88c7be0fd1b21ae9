"""Shared set-up for the sending benchmarks: Django on the benchmark database, a counting SMTP
server in its own process, approved batches, RQ workers in their own processes.

Needs PostgreSQL and Redis: DATABASE_URL (a database the benchmark may fill, e.g.
postgres://postgres@127.0.0.1:5432/outbound_bench) and REDIS_URL (a Redis database it may
flush).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(settings_module: str = "config.settings") -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            sys.exit(f"set {name} (see the docstring of bench/_common.py)")
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def recreate_database(url: str) -> None:
    """Drop and create the benchmark's own PostgreSQL database (never the project's)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CountingServer:
    """`with CountingServer() as server:` … `server.counts()` after the with block. `delay`:
    seconds each reply to DATA is held (a slower server)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    def __enter__(self):
        self.port = free_port()
        self.outfile = tempfile.mktemp(suffix=".json")
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "smtp_counter.py"), str(self.port), self.outfile,
             str(self.delay)],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)

    def counts(self) -> dict:
        with open(self.outfile) as f:
            return json.load(f)

    def stored(self) -> int:
        """How many messages it stored (after the with block)."""
        return sum(self.counts()["per_id"].values())

    def per_id(self) -> dict[str, int]:
        """Messages stored per Message-ID (after the with block)."""
        return self.counts()["per_id"]


class Delayed:
    """`with Delayed(server, 0.01) as delayed:` — `server` (a CountingServer or PostfixSink, not
    yet entered) behind bench/latency_proxy.py, which holds every segment `delay` seconds each
    way: clients connect to `delayed.port`; what the server stored is read as from it."""

    def __init__(self, server, delay: float) -> None:
        self.server, self.delay = server, delay

    def __enter__(self):
        self.server.__enter__()
        self.process = self.server.process  # (for --cpu: the server's own CPU)
        self.port = free_port()
        self.proxy = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "latency_proxy.py"), str(self.port),
             str(self.server.port), str(self.delay)],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proxy.stdout.readline().strip() == "ready"
        return self

    def __exit__(self, *exc):
        self.proxy.terminate()
        self.proxy.wait(timeout=30)
        self.server.__exit__(*exc)

    def stored(self) -> int:
        return self.server.stored()

    def per_id(self):
        return self.server.per_id()


# --- Postfix's smtp-sink and smtp-source ------------------------------------------------------

class PostfixTools:
    """Where Postfix's `smtp-sink` and `smtp-source` are, and the libraries they need.

    `directory` (the --postfix-dir option, or POSTFIX_TOOLS; default /usr/sbin) is either the
    directory holding the two programs or the root of an extracted postfix package, without a
    mail daemon installed or running:

        apt-get install postfix                                  # /usr/sbin, system libraries
        apt-get download postfix && dpkg -x postfix_*.deb DIR    # DIR/usr/sbin, DIR/usr/lib/…

    The programs of an extracted package need its DIR/usr/lib/postfix/*.so: that directory is
    put on LD_LIBRARY_PATH when it exists next to the programs (../lib/postfix)."""

    def __init__(self, directory: str | None = None) -> None:
        base = Path(directory or os.environ.get("POSTFIX_TOOLS") or "/usr/sbin")
        if not (base / "smtp-sink").exists() and (base / "usr" / "sbin" / "smtp-sink").exists():
            base = base / "usr" / "sbin"  # the root of an extracted package
        self.sink, self.source = base / "smtp-sink", base / "smtp-source"
        for program in (self.sink, self.source):
            if not os.access(program, os.X_OK):
                sys.exit(f"{program} not found: give --postfix-dir or POSTFIX_TOOLS (see "
                         f"PostfixTools in bench/_common.py)")
        self.env = dict(os.environ)
        libraries = (base.parent / "lib" / "postfix").resolve()
        if libraries.is_dir():
            self.env["LD_LIBRARY_PATH"] = os.pathsep.join(
                filter(None, [str(libraries), os.environ.get("LD_LIBRARY_PATH")]))


class PostfixSink:
    """`with PostfixSink(tools) as sink:` … `sink.stored()` after the with block: Postfix's
    smtp-sink (C, one process, replies 250 to everything and keeps nothing) on a free loopback
    port. Its running counter (-c) tells how many messages it took (it cannot count per
    Message-ID: senders' duplicates are checked in the database). As root it must drop to an
    unprivileged user once listening (-u nobody)."""

    BACKLOG = "1000"

    def __init__(self, tools: PostfixTools) -> None:
        self.tools = tools

    def __enter__(self):
        import socket

        self.port = free_port()
        self.outfile = tempfile.NamedTemporaryFile(prefix="smtp-sink-", suffix=".out", delete=False)
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [str(self.tools.sink), *user, "-c", f"127.0.0.1:{self.port}", self.BACKLOG],
            stdout=self.outfile, stderr=subprocess.STDOUT, env=self.tools.env,
        )
        deadline = time.monotonic() + 10
        while True:  # listening? (a connection closed at once counts as a session, not a message)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"smtp-sink did not start: {self._output()}") from None
                time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.outfile.close()

    def _output(self) -> str:
        with open(self.outfile.name, errors="replace") as f:
            return f.read()

    def stored(self) -> int:
        """Messages taken (its counter's last "mesg=N"), after the with block."""
        output = self._output()
        os.unlink(self.outfile.name)
        found = output.rsplit("mesg=", 1)
        if len(found) < 2:
            return 0
        return int(found[1].split()[0])

    def per_id(self) -> None:
        return None  # not counted by smtp-sink


def run_smtp_source(tools: PostfixTools, port: int, *, sessions: int, messages: int,
                    length: int) -> float:
    """Seconds smtp-source takes to send `messages` over `sessions` parallel sessions, each
    keeping its connection (-d), with `length` bytes of body (-l) under its own few headers."""
    command = [str(tools.source), "-d", "-s", str(sessions), "-m", str(messages),
               "-l", str(length), "-f", "sam@outbound.test", "-t", "p000000@example.com",
               f"127.0.0.1:{port}"]
    started = time.perf_counter()
    done = subprocess.run(command, env=tools.env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"smtp-source failed: {done.stdout}{done.stderr}")
    return elapsed


def approved_batch(count: int, *, label: str):
    """A fresh client, campaign and `count` approved, queued messages."""
    from django.db.models import F
    from django.utils import timezone

    from apps.core.models import (
        Batch,
        BatchStatus,
        Campaign,
        Client,
        Message,
        Prospect,
        content_hash,
    )

    client = Client.objects.create(name=f"bench {label} {time.time_ns()}")
    campaign = Campaign.objects.create(
        client=client, name="bench", subject_template="Hello", body_template="Hi",
        sender_name="Sam Sender", sender_email="sam@outbound.test",
    )
    Prospect.objects.bulk_create(
        # Addresses of this client's own: a client's history, not every earlier run's, is what
        # the send-time re-contact check looks through (the same 30,000 addresses in every run
        # piled up dozens of sends per address across clients).
        Prospect(client=client, email=f"p{i:06}.c{client.pk}@example.com", first_name=f"P{i}")
        for i in range(count)
    )
    prospects = list(Prospect.objects.filter(client=client).order_by("pk"))
    batch = Batch.objects.create(client=client, campaign=campaign, status=BatchStatus.APPROVED,
                                 decided_at=timezone.now())
    body = "Hi {name},\n\nwould your team like fewer bounces? A short note, about 300 bytes " \
           "long, like a real first touch.\n\nBest,\nSam\n"
    Message.objects.bulk_create(
        Message(
            batch=batch,
            prospect=p,
            recipient=p.email,
            subject=f"A question for {p.first_name}",
            body=body.format(name=p.first_name),
            content_hash=content_hash(
                recipient=p.email,
                subject=f"A question for {p.first_name}",
                body=body.format(name=p.first_name),
            ),
        )
        for p in prospects
    )
    Message.objects.filter(batch=batch).update(
        approved_hash=F("content_hash"), approved_at=timezone.now(), send_status="queued"
    )
    return batch


def worker_env(port: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", EMAIL_HOST="127.0.0.1",
               EMAIL_PORT=str(port), LOG_LEVEL="WARNING", **extra)
    return env


def start_worker(port: int, *, burst: bool = True, **extra) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "rqworker", "send", "--worker-ttl", "30"]
    if burst:
        command.append("--burst")
    return subprocess.Popen(command, cwd=ROOT, env=worker_env(port, **extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def enqueue_send(batch_id: int, suffix: str = ""):
    import django_rq

    from apps.core.queueing import SEND_BATCH

    return django_rq.get_queue(SEND_BATCH.queue, commit_mode="auto").enqueue(
        SEND_BATCH.path, batch_id, job_id=f"{SEND_BATCH.job_id(batch_id)}{suffix}",
        job_timeout=3600,
    )


def wait_for_idle_workers(count: int, timeout: float = 120) -> None:
    """Until `count` workers listen on the send queue (a fresh worker first imports Django and
    the project: seconds, which the baselines, running in processes already set up, do not
    pay)."""
    import django_rq
    from rq import Worker

    redis = django_rq.get_connection("send")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        idle = [w for w in Worker.all(connection=redis) if w.get_state() == "idle"]
        if len(idle) >= count:
            return
        time.sleep(0.05)
    raise RuntimeError(f"{count} workers not listening after {timeout} s")


def wait_for_jobs(jobs, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [job.get_status(refresh=True) for job in jobs]
        states = [getattr(state, "value", state) for state in states]
        if all(state in ("finished", "failed", "stopped", "canceled") for state in states):
            assert all(state == "finished" for state in states), states
            return
        time.sleep(0.05)  # (polling more often costs the measured run CPU)
    raise RuntimeError("jobs still running")


def stop_workers(workers) -> None:
    """Warm shutdown (SIGTERM) of idle workers, and their exit."""
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(timeout=60)


# --- CPU seconds per process (from /proc), for --cpu ----------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()  # the fields after the command name
    except OSError:
        return None


def cpu_seconds(pid: int, *, reaped_children: bool = True) -> float:
    """User + system CPU of a process, with (by default) that of the children it has waited
    for (an RQ worker's work-horses). 0 for a process that is gone."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    ticks = utime + stime + (cutime + cstime if reaped_children else 0)
    return ticks / CLOCK_TICKS


def _database_backends(database: str) -> list[int]:
    """The PostgreSQL backends connected to `database` (their command line names it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    words = cmdline.read().replace(b"\0", b" ").split()
            except OSError:
                continue
            # "postgres: [cluster:] user database host(port) state", as the backend titles itself
            if words[:1] == [b"postgres:"] and database.encode() in words[1:4]:
                found.append(int(entry))
    return found


class DatabaseCpu:
    """CPU seconds spent by the PostgreSQL backends of one database between start() and stop().
    Backends come and go with the work-horses, so a thread samples them every `every` seconds
    and keeps each one's last figure: a backend's last moments before it exits (at most one
    interval) are missed. Needs PostgreSQL on this machine."""

    def __init__(self, database: str, every: float = 0.2) -> None:
        import threading

        self.database, self.every = database, every
        # (pid, start time) → CPU seconds: a pid may be reused by a later backend
        self.before: dict[tuple[int, int], float] = {}
        self.last: dict[tuple[int, int], float] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample_until_done, daemon=True)

    def _sample(self) -> None:
        for pid in _database_backends(self.database):
            fields = _stat(pid)
            if fields is not None:
                key = (pid, int(fields[19]))
                self.last[key] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def _sample_until_done(self) -> None:
        while not self.done.wait(self.every):
            self._sample()

    def start(self) -> "DatabaseCpu":
        self._sample()
        self.before = dict(self.last)
        self.thread.start()
        return self

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        self._sample()
        return sum(seconds - self.before.get(key, 0.0) for key, seconds in self.last.items())
