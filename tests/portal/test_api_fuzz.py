"""Schemathesis drives the API from its served OpenAPI schema: no 500s, and every response
matches the schema (status codes, content types, bodies)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings

from apps.portal.services import token_issue
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def wsgi_app():
    # Django closes the database connection when a request finishes; inside a test's
    # transaction that would close the test's own connection (Django's test client
    # disconnects this handler too).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def live_token(acme_client, acme_campaign, acme_prospects, oscar):
    in_review_batch(acme_campaign, acme_prospects)
    return token_issue(client=acme_client, label="fuzz", actor=oscar)[1]


# Schemathesis tries bad tokens on purpose; the login throttle (tests/security) would lock
# its address after five of them.
@override_settings(API_RATE_LIMIT_PER_MINUTE=100_000, AXES_FAILURE_LIMIT=100_000)
def test_api_honours_its_schema(wsgi_app, live_token):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    headers = {"Authorization": f"Bearer {live_token}", "Host": "localhost"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6  # batches list, create, detail, findings, withdraw; commitment
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            case.call_and_validate(headers=headers)

        fuzz()
