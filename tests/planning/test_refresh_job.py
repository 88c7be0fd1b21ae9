"""The worker runs the quote refresh: a real RQ worker on the test Redis stores the quotes."""

import django_rq
import pytest

from apps.planning.models import BatchQuote, Shift
from tests.planning.conftest import entered_review
from tests.support.worker import run_worker_burst

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_refresh_job_stores_every_waiting_batch_quote(redis_queues, seeded, acme_client, rita):
    for weekday in range(7):  # every hour of every day: the test may run at any time
        Shift.objects.create(reviewer=rita, weekday=weekday, start_hour=0, end_hour=24)
    batches = [entered_review(acme_client, 3, f"b{i}") for i in range(2)]
    django_rq.get_queue("validate", commit_mode="auto").enqueue("apps.planning.jobs.refresh_quotes")
    run_worker_burst(queues=("validate",))
    quotes = {q.batch_id: q for q in BatchQuote.objects.all()}
    assert set(quotes) == {b.pk for b in batches}
    assert [quotes[b.pk].position for b in batches] == [1, 2]
