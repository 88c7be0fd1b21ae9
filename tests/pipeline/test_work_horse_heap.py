"""A work-horse runs its job with what it inherited frozen and the collector's thresholds raised
(apps/pipeline/worker.py): checked inside a real worker's horse, through a job's result."""

import gc

import django_rq
import pytest

from apps.pipeline.worker import HORSE_GC_THRESHOLDS
from tests.support.worker import run_worker_burst

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_work_horse_freezes_what_it_inherited_and_collects_less_often():
    queue = django_rq.get_queue("validate", commit_mode="auto")
    job = queue.enqueue("tests.support.jobs.collector_settings")
    run_worker_burst(queues=["validate"])

    frozen, thresholds = job.latest_result().return_value
    assert frozen > 10_000  # Django and the project, at least
    assert tuple(thresholds) == HORSE_GC_THRESHOLDS != gc.get_threshold()
