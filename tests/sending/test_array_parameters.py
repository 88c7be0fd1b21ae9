"""The send path's statements pass their per-message arrays (ids, hashes, headers, addresses,
replies) as PostgreSQL array literals built in one join (apps/sending/statements.py): whatever
text a message or a server reply holds must read back as itself, or the send-time check would
compare the wrong values and a recorded reply would be wrong."""

import pytest
from django.db import connection

from apps.sending.statements import integer_array, text_array

pytestmark = pytest.mark.django_db

AWKWARD = [
    "", " ", "plain", "NULL", "null", 'a "quoted" word', "back\\slash", "\\", '"', "a,b", "{x}",
    "{", "}", "two  spaces", " lead", "trail ", "tab\there", "line\nbreak", "crlf\r\n", "o'neil",
    "'", "ünïcödé ✉", "$1", "%s", "%(ids)s", "<message-1.batch-2@outbound.localhost>",
    "250 2.0.0 Ok: queued as 4F1A2B; refused: x@y: 550 {no}",
]


def read_back(literal: str, cast: str):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}", [literal])
        return cursor.fetchone()[0]


def test_any_text_reads_back_as_itself(postgres_only):
    assert read_back(text_array(AWKWARD), "text[]") == AWKWARD
    assert read_back(text_array([]), "text[]") == []


def test_integers_and_missing_codes_read_back(postgres_only):
    values = [1, 250, None, 9_007_199_254_740_993, -4]
    assert read_back(integer_array(values), "bigint[]") == values
    assert read_back(integer_array([250, None]), "integer[]") == [250, None]
