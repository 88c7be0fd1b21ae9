"""apps/core/bulk.py: ids reserved ahead are never handed out again, and rows written with them
(and with their columns' defaults) read back as the ORM would have written them."""

import pytest

from apps.core.bulk import allocate_ids, among, insert_rows
from apps.core.models import BatchStatus, Message, SendStatus, content_hash
from tests.conftest import make_batch

pytestmark = pytest.mark.django_db


def test_reserved_ids_are_not_handed_out_again(acme_campaign, acme_prospects):
    batch = make_batch(acme_campaign, acme_prospects[:1], status=BatchStatus.GENERATING)
    reserved = allocate_ids(Message, 3)
    assert len(set(reserved)) == 3
    assert min(reserved) > Message.objects.order_by("-pk").values_list("pk", flat=True).first()

    later = Message.objects.create(  # the database numbers this one itself
        batch=batch, prospect=acme_prospects[1], recipient="r@hooli.com", subject="s", body="b",
        content_hash=content_hash(recipient="r@hooli.com", subject="s", body="b"),
    )
    assert later.pk > max(reserved)
    assert set(allocate_ids(Message, 2)).isdisjoint(reserved + [later.pk])


def test_rows_written_with_reserved_ids_get_the_defaults(acme_campaign, acme_prospects):
    batch = make_batch(acme_campaign, [], status=BatchStatus.GENERATING)
    [pk] = allocate_ids(Message, 1)
    prospect = acme_prospects[2]
    insert_rows(Message, ("id", "batch_id", "prospect_id", "recipient", "subject", "body",
                          "content_hash"),
                [(pk, batch.pk, prospect.pk, prospect.email, "s", "b", "h")])

    message = Message.objects.get(pk=pk)
    assert (message.batch_id, message.prospect_id, message.recipient) == (
        batch.pk,
        prospect.pk,
        prospect.email,
    )
    assert message.send_status == SendStatus.NOT_SCHEDULED and message.excluded is False
    assert message.worst_severity == "" and message.validated_at is None
    assert list(
        Message.objects.filter(pk__in=among([pk, 10**12])).values_list("pk", flat=True)
    ) == [pk]


def test_among_finds_exactly_the_values_given_whatever_characters_they_hold(acme_client):
    from apps.core.models import Suppression

    awkward = ['a"b@x.com', "back\\slash@x.com", "com,ma@x.com", "{brace}@x.com", "NULL",
               "' quote@x.com", "späße@x.com", " spaced @x.com", ""]
    Suppression.objects.bulk_create(Suppression(client=acme_client, email=e, reason="t")
                                    for e in [*awkward, "other@x.com"])
    found = Suppression.objects.filter(email__in=among(awkward, "text")).values_list(
        "email", flat=True
    )
    assert sorted(found) == sorted(awkward)
    assert not Suppression.objects.filter(email__in=among([], "text")).exists()


AWKWARD_TEXT = [
    "",
    " ",
    "plain",
    "NULL",
    "null",
    'a "quoted" word',
    "back\\slash",
    "\\",
    '"',
    "a,b",
    "{x}",
    "{",
    "}",
    "tab\there",
    "line\nbreak",
    "crlf\r\n",
    "o'neil",
    "ünïcödé ✉",
    "%s",
    "%(ids)s",
    "<message-1.batch-2@outbound.localhost>",
    "250 2.0.0 Ok: queued as 4F1A; refused: x@y: 550 {no}",
]


def read_back(literal: str, cast: str):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::text::{cast}", [literal])
        return cursor.fetchone()[0]


def test_array_literals_read_back_as_the_values_given(postgres_only):
    """The send path passes hashes, headers, addresses and the server's replies this way: any
    text reads back as itself, and a missing reply code as NULL."""
    from apps.core.bulk import array_literal

    assert read_back(array_literal(AWKWARD_TEXT), "text[]") == AWKWARD_TEXT
    assert read_back(array_literal([]), "text[]") == []
    codes = [250, None, 9_007_199_254_740_993, -4]
    assert read_back(array_literal(codes), "bigint[]") == codes


def test_constraints_checked_as_rows_arrive_fail_the_statement_not_the_commit(acme_campaign):
    from django.db import transaction
    from psycopg.errors import ForeignKeyViolation

    from apps.core.bulk import check_constraints_as_rows_arrive

    batch = make_batch(acme_campaign, [], status=BatchStatus.GENERATING)
    row = (batch.pk, 10**12, "r@hooli.com", "s", "b", "h")  # no such prospect
    fields = ("batch_id", "prospect_id", "recipient", "subject", "body", "content_hash")
    with pytest.raises(ForeignKeyViolation), transaction.atomic():
        check_constraints_as_rows_arrive()
        insert_rows(Message, fields, [row])
        pytest.fail("the COPY was taken: its rows would be checked only at the commit")
