"""The embedded default (SQLite, no DATABASE_URL) survives real use: while a 200,000-prospect
file is imported, the sweeper and a worker's small writes go on in another process, none fails
with "database is locked" and none waits long. Each process has its own connection to one
SQLite file in a temporary VAR_DIR, as the web server, the worker and the sweeper do.

The busy timeout is the product's own (SQLITE_BUSY_TIMEOUT_SECONDS, 20 s by default): a
write waits that long in real use too. The import's writes hold the write lock for a part of
it that grows with the machine's load (seconds on a busy machine), so what shows a regression
is the share: a small write must never wait most of the import, as it did when the import
checked its rows inside its transaction and held the lock from start to end."""

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest
from django.conf import settings

from tests.support.worker import PROJECT_ROOT

ROWS = 200_000
BUSY_TIMEOUT = settings.SQLITE_BUSY_TIMEOUT_SECONDS
# The longest small write during the import, as a share of the import: the writes alone are
# under half of it (the rows are checked first, outside the lock); the whole import, over.
MOST_OF_THE_IMPORT = 0.6


def run(env, *args, timeout=180) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=PROJECT_ROOT, env=env, text=True, capture_output=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    """A migrated SQLite database in a VAR_DIR of its own, and the environment that uses it."""
    var_dir = tmp_path_factory.mktemp("embedded")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(var_dir),
        SQLITE_BUSY_TIMEOUT_SECONDS=str(BUSY_TIMEOUT),
        # The sweeper reaches Redis only when it has a batch to enqueue (none here).
        REDIS_URL=settings.REDIS_URL,
    )
    run(env, "manage.py", "migrate", "-v0")
    run(env, "manage.py", "shell", "-v0", "-c",
        "from apps.core.models import Client; Client.objects.create(name='Initech')")
    return var_dir, env


def test_the_database_is_in_wal_mode(embedded):
    _, env = embedded
    out = run(env, "manage.py", "shell", "-v0", "-c",
              "from django.db import connection; c = connection.cursor();"
              "print(c.execute('PRAGMA journal_mode').fetchone()[0]);"
              "print(connection.settings_dict['OPTIONS']['timeout'])")
    assert out.split() == ["wal", str(BUSY_TIMEOUT)]


def test_a_sweep_with_nothing_to_do_never_waits_for_the_writer(embedded):
    """Another process in the middle of a long write (here it holds the lock until we end it):
    the sweep reads (WAL: readers do not wait for the writer) and writes nothing, so it passes
    at once even with a busy timeout of 1 s."""
    var_dir, env = embedded
    holder = sqlite3.connect(var_dir / "outbound.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute(
            "INSERT INTO core_client (name, tier, review_policy, client_may_approve_clean,"
            " created_at) VALUES ('Hooli', 'standard', 'review_all', 0, '2026-01-01')"
        )
        started = time.monotonic()
        out = run({**env, "SQLITE_BUSY_TIMEOUT_SECONDS": "1"}, "manage.py", "shell", "-v0", "-c",
                  "from apps.pipeline.sweeper import sweep; print(sweep())")
        assert "'enqueued': 0" in out
        assert time.monotonic() - started < 60  # a start-up, not a wait for the lock
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def wait_for(path, process, ceiling: float) -> None:
    deadline = time.monotonic() + ceiling
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path.name} did not appear within {ceiling} s"
        time.sleep(0.1)


def test_sweeps_and_writes_go_on_during_a_big_import(embedded):
    var_dir, env = embedded
    csv_file = var_dir / "prospects.csv"
    with csv_file.open("w") as out:
        out.write("email,first_name,last_name,company,title\n")
        for i in range(ROWS):
            out.write(
                f"person{i:06}@example{i % 500}.com,First{i},Last{i},Company {i % 3000},CTO\n"
            )
    ready, stop, report = var_dir / "ready", var_dir / "stop", var_dir / "probe.json"
    probe = subprocess.Popen(
        [sys.executable, "-m", "tests.support.sweep_probe", str(ready), str(stop), str(report)],
        cwd=PROJECT_ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for(ready, probe, ceiling=120)
        began = time.monotonic()
        out = run(env, "manage.py", "import_prospects", "Initech", str(csv_file))
        ended = time.monotonic()
        time.sleep(0.5)
    finally:
        stop.touch()
        output = probe.communicate(timeout=120)[0]
    assert probe.returncode == 0, output
    assert f"{ROWS} rows, {ROWS} imported" in out

    result = json.loads(report.read_text())
    assert result["failures"] == []
    during = [
        (name, start, end) for name, start, end in result["rounds"] if began <= start <= ended
    ]
    assert sum(name == "sweep" for name, _, _ in during) >= 3, (during, ended - began)
    longest = {name: max(end - start for n, start, end in during if n == name)
               for name in ("sweep", "write")}
    print(f"import {ended - began:.1f} s; longest wait during it: {longest}")
    # A sweep with nothing to do reads only: it never queues for the write lock.
    assert longest["sweep"] < BUSY_TIMEOUT / 2, longest
    # Only the import's writes hold the lock, not its check of the rows.
    assert longest["write"] < MOST_OF_THE_IMPORT * (ended - began), (longest, ended - began)
