"""A message left in "sending" past its lease was claimed by a worker that died or hung. If it
never reached the server (no open attempt) it goes back to the queue and is sent once; if it
did, it becomes unknown and is never sent again without a person. A worker whose claim was
taken back meanwhile leaves the message alone."""

import pytest

from apps.core.models import AuditEvent, DeliveryAttempt, Message, SendStatus
from apps.sending.leases import expire_leases
from apps.sending.services import _begin_attempt, _claim_next, _start_sending, batch_send
from tests.sending.conftest import age_claims, statuses

pytestmark = pytest.mark.django_db


def claim_all(batch):
    from django.utils import timezone

    assert _start_sending(batch.pk, timezone.now())
    return _claim_next(batch.pk)


def test_a_live_claim_is_left_alone(three_approved):
    claim_all(three_approved)

    assert expire_leases() == {"requeued": 0, "unknown": 0, "answered": 0}
    assert statuses(three_approved) == {SendStatus.SENDING: 3}


def test_claimed_but_never_handed_over_is_queued_again_and_sent_once(smtp_server, three_approved):
    claim_all(three_approved)  # ... and the worker died here
    age_claims(three_approved)

    assert expire_leases() == {"requeued": 3, "unknown": 0, "answered": 0}
    assert statuses(three_approved) == {SendStatus.QUEUED: 3}
    assert AuditEvent.objects.filter(action="message_claim_expired").count() == 3

    batch_send(batch_id=three_approved.pk)
    assert statuses(three_approved) == {SendStatus.SENT: 3}
    assert set(smtp_server.count_by_message_id().values()) == {1}


def test_handed_over_without_an_outcome_becomes_unknown_and_is_not_resent(
    smtp_server, three_approved
):
    token, claimed = claim_all(three_approved)
    _begin_attempt(claimed[0], token)  # handed over, then the worker died
    age_claims(three_approved)

    assert expire_leases() == {"requeued": 2, "unknown": 1, "answered": 0}
    unknown = Message.objects.get(pk=claimed[0].pk)
    assert unknown.send_status == SendStatus.UNKNOWN
    attempt = DeliveryAttempt.objects.get(message=unknown)
    assert attempt.outcome == SendStatus.UNKNOWN
    assert unknown.message_id_header in attempt.detail  # what to look for in the server's log
    assert AuditEvent.objects.filter(message=unknown, action="message_unknown").exists()

    batch_send(batch_id=three_approved.pk)
    batch_send(batch_id=three_approved.pk)
    assert unknown.message_id_header not in smtp_server.message_ids()
    assert statuses(three_approved) == {SendStatus.UNKNOWN: 1, SendStatus.SENT: 2}


def test_a_slow_worker_whose_claim_was_taken_back_does_not_send(smtp_server, three_approved):
    token, claimed = claim_all(three_approved)
    age_claims(three_approved)
    expire_leases()  # the sweeper thought the worker dead
    batch_send(batch_id=three_approved.pk)  # another worker sent them
    assert len(smtp_server.messages) == 3

    # The slow worker wakes up with its old claim.
    assert [_begin_attempt(m, token) for m in claimed] == [None, None, None]
    assert DeliveryAttempt.objects.count() == 3


def test_the_lease_must_outlast_the_smtp_timeout():
    from tests.core.test_settings_checks import manage

    result = manage("check", SEND_LEASE_SECONDS="30", EMAIL_TIMEOUT="20")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "config.E001" in output, output
    assert "SEND_LEASE_SECONDS must be more than twice EMAIL_TIMEOUT" in output, output


def sweeping_at(deliveries: set[int], monkeypatch, *, ahead: float = 0.0) -> list[dict]:
    """Runs the sweeper's lease rule just before the given deliveries (1 = the first), `ahead`
    seconds in the future; returns what it did each time."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.sending import services

    real_handing_over, count, swept = services._handing_over, [0], []

    def handing_over(journal, token, message_id):
        count[0] += 1
        if count[0] in deliveries:
            swept.append(expire_leases(now=timezone.now() + timedelta(seconds=ahead)))
        return real_handing_over(journal, token, message_id)

    # (A group this small goes over one connection, in this thread: the sweeper may query.)
    monkeypatch.setattr(services, "_handing_over", handing_over)
    return swept


def test_a_live_worker_renews_an_old_claim_before_handing_it_over(smtp_server, three_approved,
                                                                   monkeypatch, settings):
    """A claim that waited (for the rate limit, say) almost a lease: renewed before the
    hand-over, so the sweeper does not take the live worker for dead."""
    from datetime import timedelta

    import apps.sending.services as services

    real_claim = services._claim_next
    waited = timedelta(seconds=settings.SEND_LEASE_SECONDS - 1)

    def claim_long_ago(batch_id, journal):
        token, drafts = real_claim(batch_id, journal)
        Message.objects.filter(pk__in=[d.pk for d in drafts]).update(send_claimed_at=token - waited)
        return token - waited, drafts

    monkeypatch.setattr(services, "_claim_next", claim_long_ago)
    swept = sweeping_at({1}, monkeypatch, ahead=2)

    batch_send(batch_id=three_approved.pk)

    assert swept == [{"requeued": 0, "unknown": 0, "answered": 0}]
    assert statuses(three_approved) == {SendStatus.SENT: 3}
    assert len(smtp_server.messages) == 3


def test_a_slow_server_does_not_make_a_live_claim_look_dead(smtp_server, acme_campaign,
                                                            monkeypatch, settings):
    from tests.sending.conftest import approved_batch

    settings.SEND_LEASE_SECONDS = 3
    batch = approved_batch(acme_campaign, 6)
    smtp_server.delay(0.7)  # the six take longer than the lease
    swept = sweeping_at({5, 6}, monkeypatch)

    batch_send(batch_id=batch.pk)

    assert swept == [{"requeued": 0, "unknown": 0, "answered": 0}] * 2
    assert statuses(batch) == {SendStatus.SENT: 6}
