"""A batch is what its messages are: sending that ends with unknown outcomes leaves the batch
"needs attention", never "sent", until a person has resolved every one; sending one again
makes the batch sending again, and it ends sent (or needs attention again)."""

import importlib

import pytest
from django.apps import apps

from apps.core.models import AuditEvent, Batch, BatchStatus, Message, SendStatus
from apps.sending.services import batch_send
from apps.sending.unknown_sends import unknown_resolve
from tests.conftest import make_batch
from tests.sending.conftest import statuses, unknown_batch

pytestmark = pytest.mark.django_db


def status_of(batch) -> str:
    return Batch.objects.get(pk=batch.pk).status


def batch_events(batch) -> list[tuple[str, str, str]]:
    return list(
        AuditEvent.objects.filter(batch=batch, message__isnull=True, action__startswith="batch_")
        .order_by("pk").values_list("action", "from_state", "to_state")
    )


def test_sending_that_ends_with_an_unknown_needs_attention(smtp_server, three_approved):
    smtp_server.fail("drop", times=1)  # stored, then the connection cut before the reply

    batch_send(batch_id=three_approved.pk)

    assert statuses(three_approved) == {SendStatus.UNKNOWN: 1, SendStatus.SENT: 2}
    batch = Batch.objects.get(pk=three_approved.pk)
    assert batch.status == BatchStatus.NEEDS_ATTENTION and batch.sent_at is None
    event = AuditEvent.objects.get(batch=batch, action="batch_needs_attention")
    assert (event.from_state, event.to_state, event.actor_label) == (
        "sending",
        "needs_attention",
        "system",
    )
    assert event.data == {"sent": 2, "failed": 0, "unknown": 1}
    assert "1 message whose delivery could not be confirmed" in event.reason
    assert not AuditEvent.objects.filter(batch=batch, action="batch_sent").exists()


def test_sending_with_no_unknown_is_sent(smtp_server, three_approved):
    batch_send(batch_id=three_approved.pk)

    assert status_of(three_approved) == BatchStatus.SENT
    assert [a for a, _, _ in batch_events(three_approved)] == ["batch_sending", "batch_sent"]


def test_resolving_the_last_unknown_as_sent_makes_the_batch_sent(smtp_server, acme_campaign, oscar):
    batch = unknown_batch(acme_campaign, 2)
    first, second = Message.objects.filter(batch=batch).order_by("pk")

    unknown_resolve(message_id=first.pk, actor=oscar, decision="sent", note="in the MTA log")
    assert status_of(batch) == BatchStatus.NEEDS_ATTENTION  # one is still in doubt

    unknown_resolve(message_id=second.pk, actor=oscar, decision="sent", note="in the MTA log")

    batch.refresh_from_db()
    assert batch.status == BatchStatus.SENT and batch.sent_at is not None
    assert batch_events(batch)[-2:] == [
        ("batch_needs_attention", "sending", "needs_attention"),
        ("batch_sent", "needs_attention", "sent"),
    ]
    assert AuditEvent.objects.get(batch=batch, action="batch_sent").actor == oscar
    assert smtp_server.messages == []  # resolving as sent sends nothing


def test_resend_makes_the_batch_sending_then_sent(smtp_server, acme_campaign, oscar,
                                                  django_capture_on_commit_callbacks):
    batch = unknown_batch(acme_campaign, 1)
    message = Message.objects.get(batch=batch)

    with django_capture_on_commit_callbacks() as callbacks:
        unknown_resolve(
            message_id=message.pk, actor=oscar, decision="resend", note="not in the log"
        )
    assert status_of(batch) == BatchStatus.SENDING
    assert len(callbacks) == 1  # the send job, after commit

    batch_send(batch_id=batch.pk)

    assert status_of(batch) == BatchStatus.SENT
    assert statuses(batch) == {SendStatus.SENT: 1}
    assert smtp_server.count_by_message_id()[message.message_id_header] == 1
    assert batch_events(batch)[-3:] == [
        ("batch_needs_attention", "sending", "needs_attention"),
        ("batch_sending", "needs_attention", "sending"),
        ("batch_sent", "sending", "sent"),
    ]


def test_resend_of_one_while_another_is_unknown_needs_attention_again(
    smtp_server, acme_campaign, oscar
):
    batch = unknown_batch(acme_campaign, 2)
    first, second = Message.objects.filter(batch=batch).order_by("pk")

    unknown_resolve(message_id=first.pk, actor=oscar, decision="resend", note="not in the log")
    batch_send(batch_id=batch.pk)

    assert statuses(batch) == {SendStatus.SENT: 1, SendStatus.UNKNOWN: 1}
    assert status_of(batch) == BatchStatus.NEEDS_ATTENTION  # never "sent" with one in doubt

    unknown_resolve(message_id=second.pk, actor=oscar, decision="sent", note="in the log")
    assert status_of(batch) == BatchStatus.SENT


def test_the_migration_moves_sent_batches_with_unknowns(acme_campaign, acme_prospects):
    migration = importlib.import_module("apps.core.migrations.0012_batch_needs_attention")
    doubtful = make_batch(acme_campaign, acme_prospects[:1], status=BatchStatus.SENT)
    Message.objects.filter(batch=doubtful).update(send_status=SendStatus.UNKNOWN)
    clean = make_batch(acme_campaign, acme_prospects[1:], status=BatchStatus.SENT)

    migration.sent_with_unknown_needs_attention(apps, None)

    assert status_of(doubtful) == BatchStatus.NEEDS_ATTENTION
    assert status_of(clean) == BatchStatus.SENT
    assert batch_events(doubtful) == [("batch_needs_attention", "sent", "needs_attention")]


def test_the_sweeper_leaves_it_to_a_person(redis_queues, smtp_server, acme_campaign):
    import django_rq

    from apps.pipeline.sweeper import sweep

    batch = unknown_batch(acme_campaign, 1)
    Batch.objects.filter(pk=batch.pk).update(created_at=batch.created_at.replace(year=2000))

    counts = sweep()

    assert counts["enqueued"] == 0
    assert django_rq.get_queue("send").get_job_ids() == []
    assert status_of(batch) == BatchStatus.NEEDS_ATTENTION
