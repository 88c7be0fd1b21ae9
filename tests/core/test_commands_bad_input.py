"""Issue 13, item 2 for the command line: every management command of ours, given bad input
(a file that is not there, a directory, bytes that are not UTF-8, garbage dates, unknown or
out-of-range client ids, negative numbers), ends with a clear message and a non-zero exit
code, never a traceback. Each runs in a subprocess, as an operator runs it.

A NUL cannot reach a process through argv (execve ends the string there), so NUL arguments
go through call_command, as a script would pass them.

Long-running commands (run, worker, smtp_sink, rqworker, rqcron) are only given argument
errors that end them before they start anything."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.core.models import Client
from tests.support.worker import PROJECT_ROOT, worker_env

pytestmark = pytest.mark.django_db

NOT_UTF8 = b"caf\xe9"  # Latin-1 bytes in argv: Python sees a lone surrogate (\udce9)
PAST_BIGINT = "99999999999999999999999"


def cases(tmp: Path):
    """(argv after manage.py, a piece of the message the operator must see)."""
    csv = tmp / "ok.csv"  # written by the test
    missing = str(tmp / "missing.csv")
    return {
        # import_prospects
        "import: no such file": (
            ["import_prospects", "Acme", missing],
            "Cannot read " + missing + ": No such file or directory.",
        ),
        "import: a directory": (["import_prospects", "Acme", str(tmp)], "Is a directory"),
        "import: unknown client": (
            ["import_prospects", "Nobody", str(csv)],
            "no client with that name or id",
        ),
        "import: client id past bigint": (
            ["import_prospects", PAST_BIGINT, str(csv)],
            "no client with that name or id",
        ),
        "import: negative client id": (
            ["import_prospects", "-1", str(csv)],
            "no client with that name or id",
        ),
        "import: client not UTF-8": (
            ["import_prospects", NOT_UTF8, str(csv)],
            "is not valid UTF-8",
        ),
        "import: path not UTF-8": (
            ["import_prospects", "Acme", str(tmp).encode() + b"/" + NOT_UTF8],
            "No such file or directory",
        ),
        "import: unknown encoding": (
            ["import_prospects", "Acme", str(csv), "--encoding", "klingon"],
            "klingon",
        ),
        "import: unknown field": (
            ["import_prospects", "Acme", str(csv), "--require", "shoe_size"],
            "shoe_size",
        ),
        "import: bad map": (
            ["import_prospects", "Acme", str(csv), "--map", "Email"],
            "write HEADER=FIELD",
        ),
        # validate
        "validate: no such file": (
            ["validate", missing, "--no-dns"],
            f"cannot read {missing}: No such file or directory",
        ),
        "validate: a directory": (["validate", str(tmp), "--no-dns"], "Is a directory"),
        "validate: unknown encoding": (
            ["validate", str(csv), "--no-dns", "--encoding", "klingon"],
            "klingon",
        ),
        "validate: not UTF-8": (["validate", str(tmp / "cp1252.csv"), "--no-dns"], "is not UTF-8"),
        # review_stats
        "stats: garbage date": (
            ["review_stats", "--since", "yesterdayish"],
            "--since 'yesterdayish': give an ISO date",
        ),
        "stats: negative span": (
            ["review_stats", "--since=-7d"],
            "--since '-7d': give an ISO date",
        ),
        "stats: a span before year 1": (
            ["review_stats", "--since", "99999999999d"],
            "a span reaches back before year 1",
        ),
        "stats: year 0": (["review_stats", "--since", "0000-01-01"], "--since '0000-01-01'"),
        "stats: unknown client": (
            ["review_stats", "--client", "Nobody"],
            "no client with that name or id",
        ),
        "stats: client id past bigint": (
            ["review_stats", "--client", PAST_BIGINT],
            "no client with that name or id",
        ),
        "stats: client not UTF-8": (["review_stats", "--client", NOT_UTF8], "is not valid UTF-8"),
        # create_api_token
        "token: unknown client": (["create_api_token", "Nobody"], "no client with that name or id"),
        "token: client id past bigint": (
            ["create_api_token", PAST_BIGINT],
            "no client with that name or id",
        ),
        "token: negative client id": (["create_api_token", "-5"], "no client with that name or id"),
        "token: label too long": (
            ["create_api_token", "Acme", "--label", "x" * 500],
            "--label: at most 100 characters",
        ),
        "token: label not UTF-8": (
            ["create_api_token", "Acme", "--label", NOT_UTF8],
            "is not valid UTF-8",
        ),
        # long-running commands: only what ends them before they start
        "worker: unknown queue": (
            ["worker", "nosuchqueue", "--burst"],
            "unknown queue(s): nosuchqueue",
        ),
        "run: port not a number": (["run", "--port", "eighty"], "invalid int value: 'eighty'"),
        "run: negative port": (["run", "--port", "-1"], "--port -1: a port is from 1 to 65535"),
        "smtp_sink: port out of range": (
            ["smtp_sink", "--port", "70000"],
            "--port 70000: a port is from 1 to 65535",
        ),
        # commands without arguments refuse stray ones
        "notify: stray argument": (["review_notify_at_risk", "now"], "unrecognized arguments: now"),
        "seed_demo: unknown option": (["seed_demo", "--batches", "-3"], "unrecognized arguments"),
    }


CASE_NAMES = list(cases(Path("/nonexistent")))


@pytest.fixture(scope="module")
def acme(django_db_setup, django_db_blocker):
    """Acme, committed once for the module: the commands run in subprocesses, which see only
    committed rows. Each test's own transaction leaves it alone (no command here writes), so
    the tests need no flush of every table after each, as transactional tests would."""
    with django_db_blocker.unblock():
        client = Client.objects.create(name="Acme")
    yield client
    with django_db_blocker.unblock():
        client.delete()


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_input_ends_with_a_message_not_a_traceback(acme, tmp_path, name):
    (tmp_path / "ok.csv").write_text("Email,Company\nann@initech.com,Initech\n")
    (tmp_path / "cp1252.csv").write_bytes(
        b"email,company\n" + "zoë@café.fr,Café\n".encode("cp1252") * 20
    )
    argv, message = cases(tmp_path)[name]
    done = subprocess.run([sys.executable, "manage.py", *argv], cwd=PROJECT_ROOT, env=worker_env(),
                          capture_output=True, timeout=60)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode != 0, (done.stdout, stderr)
    assert "Traceback" not in stderr, stderr
    assert message in stderr, stderr


@pytest.mark.parametrize("command, args", [
    ("import_prospects", ["Ac\x00me", "f.csv"]),
    ("import_prospects", ["Acme", "f\x00.csv"]),
    ("validate", ["f\x00.csv"]),
    ("review_stats", ["--client", "Ac\x00me"]),
    ("review_stats", ["--since", "2026-11-01\x00"]),
    ("create_api_token", ["Ac\x00me"]),
    ("create_api_token", ["Acme", "--label", "a\x00b"]),
    ("worker", ["send\x00", "--burst"]),
])
def test_a_nul_in_an_argument_is_refused_by_name(acme, command, args):
    with pytest.raises(CommandError, match="NUL"):
        call_command(command, *args)
