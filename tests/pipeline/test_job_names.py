"""Every job the stages enqueue resolves to its function in apps/pipeline/jobs.py, and so does
the dotted path it had before its rename: a job queued, scheduled or retried under the old
name when a new version is deployed still runs, under the same job id."""

import pytest
from rq.utils import import_attribute

from apps.core import queueing
from apps.pipeline import jobs

REGISTRY = [
    queueing.GENERATE_BATCH, queueing.GENERATE_CHUNK, queueing.VALIDATE_BATCH,
    queueing.VALIDATE_CHUNK, queueing.SEND_BATCH,
]


@pytest.mark.parametrize("job", REGISTRY, ids=lambda job: job.key)
def test_the_registered_path_is_the_job(job):
    function = import_attribute(job.path)
    assert function.__module__ == jobs.__name__
    assert function.__name__.endswith("_job")


@pytest.mark.parametrize("job", REGISTRY, ids=lambda job: job.key)
def test_the_path_before_the_rename_still_runs_the_job(job):
    assert import_attribute(f"apps.pipeline.jobs.{job.key}") is import_attribute(job.path)


def test_job_ids_keep_the_prefix_they_had():
    assert queueing.SEND_BATCH.job_id(42) == "send_batch-42"
    assert queueing.GENERATE_CHUNK.job_id(7) == "generate_chunk-7"
