"""/healthz: is the database up, does Redis answer, is a worker listening on every queue, is
RQ's scheduler alive (it moves the jobs scheduled for later, e.g. a send at the end of its
grace window), and has the sweeper run lately (apps/pipeline/sweeper.py)?"""

import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True, "ok"
    except Exception as exc:  # any failure to reach it is the answer
        return False, f"unreachable: {exc.__class__.__name__}"


# RQ's scheduler beats every second (its `interval`); its hash and locks outlive a killed
# holder by 60 s, so a holder silent this long is taken for dead.
SCHEDULER_HEARTBEAT_MAX_AGE_SECONDS = 15


def _redis_and_workers() -> tuple[tuple[bool, str], dict[str, dict], dict, dict]:
    """Redis, the workers on each queue, the scheduler, the sweeper."""
    import django_rq
    from rq import Worker

    try:
        redis = django_rq.get_connection(settings.PIPELINE_QUEUES[0])
        redis.ping()
        workers = Worker.all(connection=redis)
        scheduler, sweeper = _scheduler(redis), _sweeper(redis, workers)
    except Exception as exc:
        down = {"ok": False, "detail": "unknown: Redis is unreachable"}
        return (
            (False, f"unreachable: {exc.__class__.__name__}"),
            {q: down for q in settings.PIPELINE_QUEUES}, down, down,
        )
    now = datetime.now(UTC)
    queues = {}
    for name in settings.PIPELINE_QUEUES:
        beats = [
            w.last_heartbeat.replace(tzinfo=UTC)
            for w in workers
            if name in w.queue_names() and w.last_heartbeat
        ]
        age = min(((now - beat).total_seconds() for beat in beats), default=None)
        ok = age is not None and age <= settings.WORKER_HEARTBEAT_MAX_AGE_SECONDS
        queues[name] = {
            "ok": ok,
            "workers": len(beats),
            "last_heartbeat_age_s": None if age is None else round(age, 1),
            "detail": "ok" if ok else ("no worker" if age is None else "heartbeat too old"),
        }
    return (True, "ok"), queues, scheduler, sweeper


def _scheduler(redis) -> dict:
    """Every queue's scheduler lock held, by a scheduler whose heartbeat is recent."""
    from rq.scheduler import RQScheduler
    from rq.utils import utcparse

    now = datetime.now(UTC)
    ages, orphaned = [], []
    for name in settings.PIPELINE_QUEUES:
        holder = redis.get(RQScheduler.get_locking_key(name))
        beat = holder and redis.hget(f"rq:scheduler:{holder.decode()}", "last_heartbeat")
        if not beat:
            orphaned.append(name)
            continue
        ages.append((now - utcparse(beat.decode()).replace(tzinfo=UTC)).total_seconds())
    age = max(ages, default=None)
    ok = not orphaned and age is not None and age <= SCHEDULER_HEARTBEAT_MAX_AGE_SECONDS
    if orphaned:
        detail = f"no scheduler for {', '.join(orphaned)}"
    else:
        detail = "ok" if ok else "heartbeat too old"
    return {
        "ok": ok,
        "last_heartbeat_age_s": None if age is None else round(age, 1),
        "detail": detail,
    }


def _sweeper(redis, workers) -> dict:
    """The last successful sweep is younger than SWEEP_STALE_SECONDS. Before the first one,
    the oldest worker's birth stands in for it: a fresh start (`./run`, a deploy) has a sweep
    interval or two before the cron's first sweep has run, and is not unhealthy for that."""
    from apps.pipeline.sweeper import LAST_SWEEP_KEY

    last = redis.get(LAST_SWEEP_KEY)
    now = time.time()
    if last is not None:
        age = now - float(last)
        ok = age <= settings.SWEEP_STALE_SECONDS
        return {
            "ok": ok,
            "last_success_age_s": round(age, 1),
            "detail": "ok" if ok else "last sweep too old",
        }
    births = [w.birth_date.replace(tzinfo=UTC).timestamp() for w in workers if w.birth_date]
    ok = bool(births) and now - min(births) <= settings.SWEEP_STALE_SECONDS
    return {"ok": ok, "last_success_age_s": None, "detail": "no sweep yet" if ok else "never ran"}


@never_cache
@require_GET
def healthz(request):
    db_ok, db_detail = _database()
    (redis_ok, redis_detail), queues, scheduler, sweeper = _redis_and_workers()
    failing = [name for name, ok in (("database", db_ok), ("redis", redis_ok)) if not ok]
    failing += [f"worker:{name}" for name, state in queues.items() if not state["ok"]]
    failing += [
        name for name, state in (("scheduler", scheduler), ("sweeper", sweeper)) if not state["ok"]
    ]
    body = {
        "status": "ok" if not failing else "unhealthy",
        "failing": failing,
        "database": {"ok": db_ok, "detail": db_detail},
        "redis": {"ok": redis_ok, "detail": redis_detail},
        "queues": queues,
        "scheduler": scheduler,
        "sweeper": sweeper,
    }
    return JsonResponse(body, status=200 if not failing else 503)
