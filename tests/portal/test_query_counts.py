"""The dashboard and the API list cost the same number of queries for 3 batches or 60."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.models import BatchStatus
from tests.conftest import make_batch
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200
    return len(captured)


def test_constant_queries_in_the_number_of_batches(
    client, carl, acme_campaign, acme_prospects, acme_token
):
    client.force_login(carl)
    make_batch(acme_campaign, acme_prospects, status=BatchStatus.SENT)
    dashboard = lambda: client.get(reverse("portal:batch-list"))  # noqa: E731
    api_list = lambda: client.get("/api/v1/batches?limit=100", **bearer(acme_token))  # noqa: E731
    few = (_queries(dashboard), _queries(api_list))
    for _ in range(59):
        make_batch(acme_campaign, acme_prospects, status=BatchStatus.SENT)
    many = (_queries(dashboard), _queries(api_list))
    assert many == few
