"""Long-running `manage.py` processes for tests of workers' lives (the worker with the
scheduler, the cron scheduler), and what RQ's scheduler has in Redis."""

import subprocess
import sys
from pathlib import Path

from rq.scheduler import RQScheduler

from tests.support.worker import PROJECT_ROOT, worker_env


def start_manage(log: Path, *args: str, **env: str) -> subprocess.Popen:
    """`manage.py *args` with the test's settings (and `env`), its output in `log`: a pipe
    nobody reads would fill and stop it."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env={**worker_env(), **env},
            stdout=out, stderr=subprocess.STDOUT,
        )


def stop(*processes: subprocess.Popen) -> None:
    """A warm shutdown (SIGTERM: the worker stops its scheduler process and waits for it), a
    kill only if that fails. Killed, a worker's scheduler lingers a moment (until its
    parent-death signal is handled) with a copy of the worker's Redis socket, blocked in BLPOP:
    a job the next test enqueues then could go to that dead reader and be lost."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def scheduler_holder(redis, queue: str = "send") -> tuple[str, int] | None:
    """(name, pid) of the RQ scheduler holding `queue`'s lock, None when nobody holds it."""
    name = redis.get(RQScheduler.get_locking_key(queue))
    if name is None:
        return None
    pid = redis.hget(f"rq:scheduler:{name.decode()}", "pid")
    return name.decode(), int(pid) if pid else 0
