"""Run a real RQ worker (django-rq's rqworker, burst mode) in a subprocess against the test
database, the test Redis and whatever mail and DNS settings the test has put in place."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import django_rq
from django.conf import settings
from django.db import connection

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = connection.settings_dict
    assert db["ENGINE"] == "django.db.backends.postgresql", "the worker needs a shared database"
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    at = f"{credentials}@" if credentials else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"postgres://{at}{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


def worker_env() -> dict[str, str]:
    """The test's settings, as the environment the worker's settings are read from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        EMAIL_BACKEND=settings.EMAIL_BACKEND,
        EMAIL_HOST=str(settings.EMAIL_HOST),
        EMAIL_PORT=str(settings.EMAIL_PORT),
        EMAIL_TIMEOUT=str(settings.EMAIL_TIMEOUT),
        DNS_NAMESERVERS=",".join(settings.DNS_NAMESERVERS),
        DNS_TIMEOUT_SECONDS=str(settings.DNS_TIMEOUT_SECONDS),
        DNS_CANARY_DOMAIN=settings.DNS_CANARY_DOMAIN,
        MESSAGE_ID_DOMAIN=settings.MESSAGE_ID_DOMAIN,
        LOG_LEVEL="INFO",
    )
    return env


def run_worker_burst(
    *, queues=settings.PIPELINE_QUEUES, workers: int = 1, timeout: float = 60
) -> str:
    """Work every queue until empty (with `workers` workers side by side); fail the test if a
    worker or any job failed. Returns the workers' output."""
    command = [sys.executable, "manage.py", "rqworker", *queues, "--burst"]
    processes = [
        subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=worker_env(), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        for _ in range(workers)
    ]
    outputs, codes = [], []
    for process in processes:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
            raise AssertionError(f"rqworker still running after {timeout}s:\n{out}") from None
        outputs.append(out)
        codes.append(process.returncode)
    output = "\n".join(outputs)
    assert codes == [0] * workers, f"rqworker exit codes {codes}:\n{output}"
    failed = {}
    for name in queues:
        queue = django_rq.get_queue(name)
        for job_id in queue.failed_job_registry.get_job_ids():
            job = queue.fetch_job(job_id)
            result = job.latest_result() if job else None
            failed[job_id] = result.exc_string if result else "?"
    assert not failed, f"jobs failed in the worker: {failed}\n{output}"
    return output
