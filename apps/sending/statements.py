"""The sending hot path on PostgreSQL: each of a chunk's three writes (claim, send-time check
with the attempts, sent outcomes) in one statement, one round trip, instead of the several
queries the ORM needs. apps/sending/services.py keeps the ORM way for other databases (the
SQLite of a local set-up); the tests run both against the same expectations.

Per-message values go as one array literal each (apps.core.bulk.array_literal, cast in the
statement): psycopg would adapt a list element by element in Python, which was most of the
worker's own work per chunk.
"""

from datetime import datetime

from django.db import connection

from apps.core.bulk import array_literal
from apps.core.models import Batch, Client, DeliveryAttempt, Message, Suppression
from apps.sending.models import LastContact, SendDeferral


def _tables() -> dict[str, str]:
    return {"message": Message._meta.db_table, "batch": Batch._meta.db_table,
            "attempt": DeliveryAttempt._meta.db_table, "deferral": SendDeferral._meta.db_table,
            "suppression": Suppression._meta.db_table, "client": Client._meta.db_table,
            "contact": LastContact._meta.db_table}


# Queued → sending for up to `limit` sendable messages of the batch, skipping rows another
# worker has locked, returning what the messages are built from. The conditions are those of
# the ORM claim (services._claim_portably). The choice is materialized once: as an IN (…)
# subquery PostgreSQL may run it again for the update and claim more than the limit.
CLAIM = """
WITH chosen AS MATERIALIZED (
    SELECT m.id FROM {message} AS m
    WHERE m.batch_id = %(batch)s AND m.send_status = 'queued' AND NOT m.excluded
      AND m.approved_hash = m.content_hash AND m.sent_at IS NULL
      AND EXISTS (SELECT 1 FROM {batch} AS b WHERE b.id = m.batch_id AND b.status = 'sending')
      AND NOT EXISTS (SELECT 1 FROM {deferral} AS d
                      WHERE d.message_id = m.id AND d.not_before > %(token)s)
    ORDER BY m.id LIMIT %(limit)s
    FOR UPDATE OF m SKIP LOCKED
)
UPDATE {message} AS m SET send_status = 'sending', send_claimed_at = %(token)s
FROM chosen
WHERE m.id = chosen.id AND m.send_status = 'queued' AND m.approved_hash = m.content_hash
RETURNING m.id, m.batch_id, m.recipient, m.subject, m.body
"""


def claim(batch_id: int, token: datetime, limit: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            CLAIM.format(**_tables()), {"batch": batch_id, "token": token, "limit": limit}
        )
        return sorted(cursor.fetchall())


# The send-time check and the attempts, for messages given as parallel arrays (id, the hash of
# the text about to be sent, Message-ID header, normalized address). Only a message still
# claimed with `token`, in a batch still sending, approved as exactly that text and not
# suppressed for the client (or everyone), nor mailed by this client from another batch since it
# was approved and within the client's re-contact cap (LastContact, one lookup by its unique
# (client, address) index; services._recontacted is the same rule) gets an attempt. Its row
# stays locked until the
# commit, so the sweeper (expire_leases, which locks the rows it looks at) either sees the
# attempt or has taken the claim back before the check, which then fails.
OPEN_ATTEMPTS = """
WITH passed AS (
    SELECT m.id, v.header
    FROM {message} AS m
    JOIN unnest(%(ids)s::bigint[], %(hashes)s::text[], %(headers)s::text[],
                %(addresses)s::text[])
        AS v(id, hash, header, address) ON m.id = v.id
    WHERE m.send_status = 'sending' AND m.send_claimed_at = %(token)s
      AND m.approved_hash = v.hash AND m.content_hash = v.hash
      AND EXISTS (SELECT 1 FROM {batch} AS b WHERE b.id = m.batch_id AND b.status = 'sending')
      AND NOT EXISTS (SELECT 1 FROM {suppression} AS s WHERE s.email = v.address
                      AND (s.client_id = %(client)s OR s.client_id IS NULL))
      AND NOT EXISTS (SELECT 1 FROM {contact} AS c JOIN {client} AS cl ON cl.id = c.client_id
                      WHERE c.client_id = %(client)s AND c.address = lower(btrim(m.recipient))
                        AND c.batch_id <> m.batch_id AND cl.recontact_days > 0
                        AND c.sent_at >= GREATEST(m.approved_at, %(now)s
                                                  - make_interval(days => cl.recontact_days)))
    FOR NO KEY UPDATE OF m
)
INSERT INTO {attempt} (message_id, message_id_header, started_at, outcome, detail)
SELECT id, header, %(now)s, '', '' FROM passed
RETURNING message_id, id
"""


def open_attempts(*, ids, hashes, headers, addresses, token: datetime, now: datetime,
                  client_id: int) -> dict[int, int]:
    """message id → attempt id, for those that passed."""
    with connection.cursor() as cursor:
        cursor.execute(OPEN_ATTEMPTS.format(**_tables()), {
            "ids": array_literal(ids), "hashes": array_literal(hashes),
            "headers": array_literal(headers), "addresses": array_literal(addresses),
            "token": token, "now": now, "client": client_id,
        })
        return dict(cursor.fetchall())


# Sent: the messages (if still claimed with the token of their attempts: if the lease ran out
# meanwhile, the sweeper's verdict, unknown, stands), each attempt with its reply, and the
# client's last contact with each recipient (for the re-contact check).
RECORD_SENT = """
WITH sent AS (
    UPDATE {message} SET send_status = 'sent', sent_at = %(now)s
    WHERE id = ANY(%(ids)s::bigint[]) AND send_status = 'sending' AND send_claimed_at = %(token)s
    RETURNING id, batch_id, recipient
), contacted AS (
    INSERT INTO {contact} (client_id, address, sent_at, batch_id)
    SELECT DISTINCT ON (lower(btrim(s.recipient))) b.client_id, lower(btrim(s.recipient)),
           %(now)s, s.batch_id
    FROM sent AS s JOIN {batch} AS b ON b.id = s.batch_id
    ON CONFLICT (client_id, address)
        DO UPDATE SET sent_at = EXCLUDED.sent_at, batch_id = EXCLUDED.batch_id
)
UPDATE {attempt} AS a SET finished_at = %(now)s, outcome = 'sent', smtp_code = v.code,
    detail = v.detail
FROM unnest(%(attempts)s::bigint[], %(codes)s::integer[], %(details)s::text[])
    AS v(id, code, detail)
WHERE a.id = v.id
"""


def record_sent(*, ids, token: datetime, attempts, codes, details, now: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(RECORD_SENT.format(**_tables()), {
            "now": now, "ids": array_literal(ids), "token": token,
            "attempts": array_literal(attempts), "codes": array_literal(codes),
            "details": array_literal(details),
        })
