"""manage.py validate, run as a process of its own, sets what start-up made aside from the cyclic
collector and raises its thresholds (the work-horse's way); call_command leaves the collector
of the process it runs in alone."""

import gc
import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from apps.validation.management.commands.validate import PROCESS_GC_THRESHOLDS
from tests.support.worker import PROJECT_ROOT, worker_env

pytestmark = pytest.mark.django_db

CSV = "email,company,subject,body\njo@acme.com,Acme,Hello,Hi Acme Inc. team\n"
# manage.py's own entry point, then the collector's state as the command left it.
RUN_AND_REPORT = (
    "import gc, sys\n"
    "from django.core.management import execute_from_command_line\n"
    "execute_from_command_line(['manage.py', 'validate', sys.argv[1], '--no-dns'])\n"
    "print(json.dumps([gc.get_freeze_count(), gc.get_threshold()]))\n"
)


def test_a_validate_process_freezes_its_start_up_and_collects_less_often(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(CSV, encoding="utf-8")

    result = subprocess.run(
        [sys.executable, "-c", "import json\n" + RUN_AND_REPORT, str(path)],
        cwd=PROJECT_ROOT, env=worker_env(), capture_output=True, text=True, check=True,
        timeout=120,
    )

    row, collector = result.stdout.splitlines()
    assert json.loads(row)["verdict"] == "block"  # the legal form: the checks ran
    frozen, thresholds = json.loads(collector)
    assert frozen > 10_000  # Django, the project and the checks' tables, at least
    assert tuple(thresholds) == PROCESS_GC_THRESHOLDS


def test_call_command_leaves_the_collector_alone(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(CSV, encoding="utf-8")
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()

    call_command("validate", str(path), "--no-dns", stdout=StringIO())

    assert (gc.get_freeze_count(), gc.get_threshold()) == (frozen, thresholds)
    assert thresholds != PROCESS_GC_THRESHOLDS
