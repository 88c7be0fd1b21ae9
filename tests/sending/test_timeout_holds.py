"""EMAIL_TIMEOUT holds however the socket is read (apps/sending/smtp.py lets the kernel enforce
it on a blocking socket): a server that stops answering costs a send EMAIL_TIMEOUT, not as long
as the server cares to hang, and the attempt says it timed out."""

import time

import pytest

from apps.core.models import DeliveryAttempt, SendStatus
from apps.sending.services import batch_send
from tests.sending.conftest import statuses

pytestmark = pytest.mark.django_db


def test_a_server_that_hangs_longer_costs_only_the_timeout(smtp_server, three_approved, settings):
    settings.EMAIL_TIMEOUT = 1
    smtp_server.fail("hang", times=1, seconds=20)

    started = time.monotonic()
    batch_send(batch_id=three_approved.pk)
    took = time.monotonic() - started

    assert took < 8, f"the send waited {took:.1f} s for a server that hung 20 s"
    assert statuses(three_approved) == {SendStatus.UNKNOWN: 1, SendStatus.SENT: 2}
    detail = DeliveryAttempt.objects.get(outcome=SendStatus.UNKNOWN).detail
    assert "timed out" in detail and "EMAIL_TIMEOUT=1" in detail
