"""A client reads why a batch was held in plain words for every rule, not a general sentence:
each rule's wording comes from its spec (apps/validation/specs.py)."""

import pytest

from apps.core.models import Finding
from apps.validation.specs import BY_CODE
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db


def test_findings_of_a_recipient_rule_in_the_clients_words(client, acme_token, acme_batch):
    message = acme_batch.messages.first()
    Finding.objects.create(
        message=message, batch=acme_batch, rule_code="recipient_role", severity="review",
        field="email", explanation="info@ is a role account",
    )

    rows = client.get(f"/api/v1/batches/{acme_batch.pk}/findings", **bearer(acme_token)).json()

    assert rows == [{
        "rule_code": "recipient_role", "severity": "review", "messages": 1,
        "explanation": BY_CODE["recipient_role"].clients,
    }]
    assert "shared team inbox" in rows[0]["explanation"]
