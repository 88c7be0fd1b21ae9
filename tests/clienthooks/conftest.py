import pytest

from tests.portal.conftest import acme_token, globex_token  # noqa: F401 (shared fixtures)
from tests.support.http_receiver import HttpReceiver


@pytest.fixture
def hooks_allowed(settings):
    """The receivers run on loopback, which production refuses."""
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    return settings


@pytest.fixture
def receiver(hooks_allowed):
    with HttpReceiver() as server:
        yield server
