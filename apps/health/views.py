"""/healthz: is the database up, does Redis answer, is a worker listening on every queue?"""

from datetime import datetime, timezone

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


def _redis_and_workers() -> tuple[tuple[bool, str], dict[str, dict]]:
    import django_rq
    from rq import Worker

    try:
        redis = django_rq.get_connection(settings.PIPELINE_QUEUES[0])
        redis.ping()
        workers = Worker.all(connection=redis)
    except Exception as exc:
        down = {"ok": False, "detail": "unknown: Redis is unreachable"}
        return (False, f"unreachable: {exc.__class__.__name__}"), {q: down for q in settings.PIPELINE_QUEUES}
    now = datetime.now(timezone.utc)
    queues = {}
    for name in settings.PIPELINE_QUEUES:
        beats = [
            w.last_heartbeat.replace(tzinfo=timezone.utc)
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
    return (True, "ok"), queues


@never_cache
@require_GET
def healthz(request):
    db_ok, db_detail = _database()
    (redis_ok, redis_detail), queues = _redis_and_workers()
    failing = [name for name, ok in (("database", db_ok), ("redis", redis_ok)) if not ok]
    failing += [f"worker:{name}" for name, state in queues.items() if not state["ok"]]
    body = {
        "status": "ok" if not failing else "unhealthy",
        "failing": failing,
        "database": {"ok": db_ok, "detail": db_detail},
        "redis": {"ok": redis_ok, "detail": redis_detail},
        "queues": queues,
    }
    return JsonResponse(body, status=200 if not failing else 503)
