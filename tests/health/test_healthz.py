"""/healthz names what is down: 200 with a database, Redis and a live worker per queue."""

import pytest
from rq import Worker

pytestmark = pytest.mark.django_db


def test_no_worker_is_503_naming_the_queues(client, redis_queues):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] and body["redis"]["ok"]
    assert set(body["failing"]) == {"worker:generate", "worker:validate", "worker:send"}


def test_live_worker_on_every_queue_is_200(client, redis_queues, settings):
    import django_rq

    queues = [django_rq.get_queue(name) for name in settings.PIPELINE_QUEUES]
    worker = Worker(queues, connection=redis_queues)
    worker.register_birth()
    worker.heartbeat()
    try:
        response = client.get("/healthz")
    finally:
        worker.register_death()
    assert response.status_code == 200, response.json()
    assert response.json()["failing"] == []


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
    assert set(body["failing"]) == {"worker:validate", "worker:send"}


def test_redis_down_is_503(client, settings):
    # Nothing listens on port 1 of loopback: a Redis that is down.
    settings.RQ_QUEUES = {
        name: {"URL": "redis://127.0.0.1:1/0"} for name in settings.PIPELINE_QUEUES
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "redis" in response.json()["failing"]
