"""Client users get one e-mail when their batch is approved, rejected or sent, unless they
opted out; running the notifier again sends nothing more."""

import pytest
from django.contrib.auth.models import User

from apps.core.models import ClientUser
from apps.portal.notifications import notify_clients
from apps.review.services import batch_approve, batch_reject
from tests.conftest import in_review_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet_colleague(acme_client):
    user = User.objects.create_user("quinn", "quinn@acme.test", "pw")
    ClientUser.objects.create(user=user, client=acme_client, notify_by_email=False)
    return user


def test_approval_notifies_opted_in_users_once(
    smtp_server,
    carl,
    quiet_colleague,
    rita,
    acme_campaign,
    acme_prospects,
    django_capture_on_commit_callbacks,
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    with django_capture_on_commit_callbacks(execute=False):
        batch_approve(batch_id=batch.pk, actor=rita)
    assert notify_clients() == 1
    assert notify_clients() == 0
    received = smtp_server.messages
    assert [m.rcpt_tos for m in received] == [("carl@acme.test",)]
    assert f"Batch #{batch.pk} approved" in received[0].subject


def test_rejection_names_the_reason(smtp_server, carl, rita, acme_campaign, acme_prospects):
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_reject(batch_id=batch.pk, actor=rita, reason="wrong audience")
    notify_clients()
    assert "wrong audience" in smtp_server.messages[0].raw.decode()


def test_opting_out_in_the_portal_stops_them(
    client, smtp_server, carl, rita, acme_campaign, acme_prospects
):
    client.force_login(carl)
    client.post("/portal/settings/", {})
    batch = in_review_batch(acme_campaign, acme_prospects)
    batch_reject(batch_id=batch.pk, actor=rita, reason="no")
    assert notify_clients() == 0
