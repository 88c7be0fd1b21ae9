"""/healthz names what is down: 200 with a database, Redis, a live worker per queue, a live RQ
scheduler and a sweeper that ran lately (or, on a fresh start, has not had the time yet)."""

import time

import pytest
from rq import Worker
from rq.scheduler import RQScheduler

from apps.pipeline.sweeper import LAST_SWEEP_KEY, sweep

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_scheduler(redis_queues, settings):
    """An RQ scheduler holding every queue's lock, as a worker's scheduler process does."""
    scheduler = RQScheduler(settings.PIPELINE_QUEUES, connection=redis_queues)
    scheduler.acquire_locks()
    scheduler.register_birth()
    yield scheduler
    scheduler.release_locks()
    scheduler.register_death()


@pytest.fixture
def live_worker(redis_queues, settings):
    import django_rq

    worker = Worker(
        [django_rq.get_queue(name) for name in settings.PIPELINE_QUEUES], connection=redis_queues
    )
    worker.register_birth()
    worker.heartbeat()
    yield worker
    worker.register_death()


def test_no_worker_is_503_naming_the_queues(client, redis_queues):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert set(body["failing"]) == {
        "worker:generate", "worker:validate", "worker:send", "scheduler", "sweeper"
    }
    assert body["scheduler"]["detail"] == "no scheduler for generate, validate, send"
    assert body["sweeper"]["detail"] == "never ran"


def test_live_worker_and_scheduler_on_a_fresh_start_are_200(client, live_worker, live_scheduler):
    """No sweep yet, but the first worker was born less than SWEEP_STALE_SECONDS ago."""
    response = client.get("/healthz")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["failing"] == []
    assert body["scheduler"]["ok"] and body["scheduler"]["last_heartbeat_age_s"] < 15
    assert body["sweeper"] == {"ok": True, "last_success_age_s": None, "detail": "no sweep yet"}


def test_a_sweeper_that_stopped_is_503_until_it_sweeps_again(
    client, live_worker, live_scheduler, settings
):
    stale = settings.SWEEP_STALE_SECONDS + 1
    live_scheduler.connection.set(LAST_SWEEP_KEY, time.time() - stale)  # the cron died long ago

    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["sweeper"]
    assert response.json()["sweeper"]["detail"] == "last sweep too old"

    sweep()  # what the cron's job runs
    body = client.get("/healthz").json()
    assert body["failing"] == [] and body["sweeper"]["last_success_age_s"] < 5


def test_a_killed_scheduler_holder_is_503(client, live_worker, live_scheduler):
    """A SIGKILLed holder leaves its lock and its hash for 60 s, its heartbeat stopped."""
    live_scheduler.connection.hset(
        live_scheduler.key, "last_heartbeat", "2020-01-01T00:00:00.000000Z"
    )

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["scheduler"]
    assert response.json()["scheduler"]["detail"] == "heartbeat too old"


def test_worker_on_some_queues_only(client, redis_queues):
    import django_rq

    worker = Worker([django_rq.get_queue("generate")], connection=redis_queues)
    worker.register_birth()
    worker.heartbeat()
    try:
        body = client.get("/healthz").json()
    finally:
        worker.register_death()
    assert body["queues"]["generate"]["ok"] is True
    assert set(body["failing"]) == {"worker:validate", "worker:send", "scheduler"}


def test_redis_down_is_503(client, settings):
    # Nothing listens on port 1 of loopback: a Redis that is down.
    settings.RQ_QUEUES = {
        name: {"URL": "redis://127.0.0.1:1/0"} for name in settings.PIPELINE_QUEUES
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "redis" in response.json()["failing"]
    assert response.json()["scheduler"]["ok"] is False
