import pytest

from apps.core.models import BatchStatus, Prospect
from apps.portal.services import token_issue
from tests.conftest import in_review_batch, make_batch, make_campaign


@pytest.fixture
def acme_batch(acme_campaign, acme_prospects):
    return in_review_batch(acme_campaign, acme_prospects)


@pytest.fixture
def globex_batch(globex_client):
    prospect = Prospect.objects.create(
        client=globex_client, email="hank@globex.com", first_name="Hank"
    )
    campaign = make_campaign(globex_client, name="Globex secret launch")
    return make_batch(campaign, [prospect], status=BatchStatus.SENT)


@pytest.fixture
def acme_token(acme_client, oscar):
    """The raw bearer token of a live Acme token."""
    return token_issue(client=acme_client, label="acme crm", actor=oscar)[1]


@pytest.fixture
def globex_token(globex_client, oscar):
    return token_issue(client=globex_client, label="globex crm", actor=oscar)[1]


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
