"""Promise 1 at the database: a message is sending or sent only if it was approved exactly as
it is now, and an excluded message is never queued or sent. These writes go around the
services on purpose: the constraint must hold even when code forgets the rule."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.core.models import BatchStatus, Message, SendStatus
from tests.conftest import make_batch

pytestmark = pytest.mark.django_db


@pytest.fixture
def message(acme_campaign, acme_prospects):
    batch = make_batch(acme_campaign, acme_prospects[:1], status=BatchStatus.SENDING)
    return Message.objects.get(batch=batch)


def _store(message, **fields):
    with transaction.atomic():
        Message.objects.filter(pk=message.pk).update(**fields)


@pytest.mark.parametrize("status", [SendStatus.SENDING, SendStatus.SENT])
def test_never_approved_cannot_be_sending_or_sent(message, status):
    with pytest.raises(IntegrityError, match="message_sent_only_if_approved_unchanged"):
        _store(message, send_status=status)
    assert Message.objects.get(pk=message.pk).send_status == SendStatus.NOT_SCHEDULED


@pytest.mark.parametrize("status", [SendStatus.SENDING, SendStatus.SENT])
def test_changed_since_approval_cannot_be_sending_or_sent(message, status):
    _store(message, approved_hash=F("content_hash"), approved_at=timezone.now(),
           send_status=SendStatus.QUEUED)
    _store(message, body="Edited after approval", content_hash="0" * 64)
    with pytest.raises(IntegrityError, match="message_sent_only_if_approved_unchanged"):
        _store(message, send_status=status)


def test_content_cannot_change_under_a_sent_message(message):
    _store(message, approved_hash=F("content_hash"), send_status=SendStatus.SENT)
    with pytest.raises(IntegrityError, match="message_sent_only_if_approved_unchanged"):
        _store(message, body="Rewritten", content_hash="1" * 64)


def test_approved_unchanged_can_be_sent(message):
    _store(message, approved_hash=F("content_hash"), send_status=SendStatus.SENT)
    assert Message.objects.get(pk=message.pk).send_status == SendStatus.SENT


@pytest.mark.parametrize("status", [SendStatus.QUEUED, SendStatus.SENDING, SendStatus.SENT])
def test_excluded_is_never_queued_or_sent(message, status):
    _store(message, approved_hash=F("content_hash"), excluded=True, exclusion_reason="bounced")
    with pytest.raises(IntegrityError, match="message_excluded_never_sent"):
        _store(message, send_status=status)


def test_a_sent_message_cannot_be_excluded(message):
    _store(message, approved_hash=F("content_hash"), send_status=SendStatus.SENT)
    with pytest.raises(IntegrityError, match="message_excluded_never_sent"):
        _store(message, excluded=True)
