"""Oscar resolves a batch's unknown sends together: one decision, one note, one transaction,
one audit event per message; all of them or none. Two operators resolving the same message at
once: exactly one wins, the other is told who resolved it and how."""

import pytest

from apps.core.errors import ServiceError, TransitionConflict
from apps.core.models import AuditEvent, Batch, BatchStatus, Message, SendStatus
from apps.sending.unknown_sends import unknown_resolve_many
from tests.conftest import _staff
from tests.review.conftest import race
from tests.sending.conftest import statuses, unknown_batch


def ids_of(batch) -> list[int]:
    return list(Message.objects.filter(batch=batch).order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db
def test_all_resolved_as_sent_with_an_event_each(smtp_server, acme_campaign, oscar):
    batch = unknown_batch(acme_campaign, 4)

    done = unknown_resolve_many(message_ids=ids_of(batch), actor=oscar, decision="sent",
                                note="all four in the MTA log")

    assert done == 4
    assert statuses(batch) == {SendStatus.SENT: 4}
    events = AuditEvent.objects.filter(batch=batch, action="unknown_resolved_sent")
    assert sorted(events.values_list("message_id", flat=True)) == ids_of(batch)
    assert set(events.values_list("actor", "reason", "from_state", "to_state")) == {
        (oscar.pk, "all four in the MTA log", "unknown", "sent")
    }
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT


@pytest.mark.django_db
def test_resend_in_bulk_sends_each_once(
    smtp_server, acme_campaign, oscar, django_capture_on_commit_callbacks
):
    from apps.sending.services import batch_send

    batch = unknown_batch(acme_campaign, 3)
    with django_capture_on_commit_callbacks() as callbacks:
        unknown_resolve_many(
            message_ids=ids_of(batch), actor=oscar, decision="resend", note="not there"
        )
    assert statuses(batch) == {SendStatus.QUEUED: 3}
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENDING
    assert len(callbacks) == 1  # one send job for the batch, not one per message

    batch_send(batch_id=batch.pk)

    assert statuses(batch) == {SendStatus.SENT: 3}
    assert sorted(smtp_server.count_by_message_id().values()) == [1, 1, 1]
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.SENT


@pytest.mark.django_db
def test_one_already_resolved_refuses_them_all(smtp_server, acme_campaign, oscar):
    batch = unknown_batch(acme_campaign, 3)
    olga = _staff("olga", "operator")
    first, *rest = ids_of(batch)
    unknown_resolve_many(message_ids=[first], actor=olga, decision="resend", note="not there")

    with pytest.raises(TransitionConflict) as refused:
        unknown_resolve_many(message_ids=[first, *rest], actor=oscar, decision="sent", note="log")

    assert f"Message {first} (resolved as resend by olga at" in str(refused.value)
    assert "someone else acted on it first" in str(refused.value)
    # Nothing of oscar's decision stands: the others are still unknown, no event of his.
    assert Message.objects.filter(pk__in=rest, send_status=SendStatus.UNKNOWN).count() == 2
    assert not AuditEvent.objects.filter(actor=oscar).exists()


@pytest.mark.django_db
def test_bad_requests_are_refused(smtp_server, acme_campaign, oscar):
    batch = unknown_batch(acme_campaign, 1)
    with pytest.raises(ServiceError, match="sent' or 'resend"):
        unknown_resolve_many(message_ids=ids_of(batch), actor=oscar, decision="maybe")
    with pytest.raises(ServiceError, match="does not exist"):
        unknown_resolve_many(message_ids=[*ids_of(batch), 10**12], actor=oscar, decision="sent")
    with pytest.raises(ServiceError, match="Choose the messages"):
        unknown_resolve_many(message_ids=[], actor=oscar, decision="sent")
    assert statuses(batch) == {SendStatus.UNKNOWN: 1}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(3))
@pytest.mark.parametrize("decisions", [("sent", "sent"), ("sent", "resend")])
def test_two_operators_resolve_the_same_message(postgres_only, smtp_server, acme_campaign, oscar,
                                                decisions, round_):
    batch = unknown_batch(acme_campaign, 2)
    olga = _staff("olga", "operator")
    ids = ids_of(batch)

    outcomes = race(
        lambda: unknown_resolve_many(message_ids=ids, actor=oscar, decision=decisions[0], note="a"),
        lambda: unknown_resolve_many(message_ids=ids, actor=olga, decision=decisions[1], note="b"),
    )

    assert outcomes.count("won") == 1, outcomes
    loser = next(o for o in outcomes if o != "won")
    assert isinstance(loser, TransitionConflict), repr(loser)
    winner, decision = (oscar, decisions[0]) if outcomes[0] == "won" else (olga, decisions[1])
    assert "someone else acted on it first" in str(loser)
    assert f"by {winner.username}" in str(loser)
    events = AuditEvent.objects.filter(batch=batch, action__startswith="unknown_resolved_")
    assert sorted(events.values_list("message_id", "actor", "action")) == [
        (pk, winner.pk, f"unknown_resolved_{decision}") for pk in ids
    ]
    expected = BatchStatus.SENT if decision == "sent" else BatchStatus.SENDING
    assert Batch.objects.get(pk=batch.pk).status == expected
