"""Writing and selecting many rows at once, the fast way on PostgreSQL, the ORM way elsewhere.

The pipeline writes a chunk's messages and findings (thousands of rows) in its transaction.
On PostgreSQL that is one COPY (several times faster than INSERT ... VALUES, which has to build
and parse one parameter per cell); on SQLite (the embedded default) it is bulk_create. Either
way the caller's transaction holds it: a failure leaves nothing behind, and the table's
constraints (a message once per batch and prospect) still apply.

`among(ids)` is the right-hand side of an `__in` filter for many ids: on PostgreSQL one array
parameter (`IN (SELECT unnest(%s))`) instead of thousands of placeholders, each of which Django
and psycopg build and PostgreSQL parses. The array goes as its text literal, written with
str.join: psycopg would adapt a list element by element in Python, which costs more than the
whole join (figures in docs/performance.md).
"""

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, Protocol

from django.db import connection, models, transaction
from django.db.models.expressions import Combinable, Expression, RawSQL


def uses_copy() -> bool:
    return connection.vendor == "postgresql"


def insert_rows(model: type[models.Model], fields: Sequence[str],
                rows: Iterable[Sequence[object]]) -> int:
    """Insert rows (values in the order of `fields`, ready for the database: text, numbers,
    booleans, datetimes, None); every other column gets its field's default. Returns the number
    of rows written. The caller holds the transaction."""
    rows = list(rows)
    if not rows:
        return 0
    if not uses_copy():
        model._default_manager.bulk_create(
            (model(**dict(zip(fields, row, strict=True))) for row in rows), batch_size=1000
        )
        return len(rows)
    defaults = _defaults(model, fields)
    columns = [_column(model, name)[1] for name in fields] + [c for c, _ in defaults]
    tail = tuple(value for _, value in defaults)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row((*row, *tail))
    return len(rows)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """Primary keys reserved for rows to be written later with insert_rows (the pk among the
    fields), so that work done before (validation naming "message 42") and rows of the same
    transaction (their findings) can use them. Reserved as the database would hand them out:
    PostgreSQL from the table's sequence; SQLite by moving its AUTOINCREMENT counter on, in a
    short transaction of its own. An id reserved and not used is a gap, nothing more."""
    if count <= 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    if uses_copy():
        # The sequence's advance is logged; committed on its own it would wait for the disk
        # (most of the cost). Lost in a crash, it is lost with every later use of these ids
        # (the log is written in order), so nothing can hold an id handed out twice.
        own_transaction = not connection.in_atomic_block  # else the commit is the caller's
        with transaction.atomic(), connection.cursor() as cursor:
            if own_transaction:
                commit_without_waiting_for_disk()
            cursor.execute("SELECT string_agg(nextval(sequence)::text, ',') FROM "
                           "(SELECT pg_get_serial_sequence(%s, %s)::regclass AS sequence) AS s, "
                           "generate_series(1, %s)", [table, column, count])
            return sorted(int(pk) for pk in cursor.fetchone()[0].split(","))
    if connection.vendor != "sqlite":
        raise NotImplementedError(f"allocate_ids on {connection.vendor}")
    with transaction.atomic(), connection.cursor() as cursor:
        # A write first: it takes SQLite's write lock, so nobody inserts until we are done.
        cursor.execute("UPDATE sqlite_sequence SET seq = seq WHERE name = %s", [table])
        if cursor.rowcount == 0:  # nothing was ever inserted into the table
            cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, 0)", [table])
        cursor.execute(f"SELECT MAX({connection.ops.quote_name(column)}) FROM "
                       f"{connection.ops.quote_name(table)}")
        top = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        top = max(top, cursor.fetchone()[0])  # AUTOINCREMENT: never reuse a deleted row's id
        cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [top + count, table])
    return list(range(top + 1, top + 1 + count))


def _column(model: type[models.Model], name: str) -> tuple[str, str]:
    """(attribute name, column) of the field `name`, which must have a column of its own."""
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} has no column of its own.")
    return field.attname, field.column


def _defaults(model: type[models.Model], fields: Sequence[str]) -> list[tuple[str, object]]:
    """(column, database value) of every concrete column the caller does not fill, but the
    primary key (the database numbers the rows)."""
    given = {_column(model, name)[0] for name in fields}
    out = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in given:
            continue
        value = field.get_default()
        if isinstance(value, Enum):
            value = value.value  # a choices member (psycopg would write an Enum's name)
        out.append((field.column, field.get_db_prep_save(value, connection)))
    return out


def among(values: Iterable[object], db_type: str = "bigint") -> RawSQL | list[object]:
    """The value for `pk__in=` (or any `<field>__in=`) with many values: ids by default, or
    another PostgreSQL type ("text")."""
    listed = list(values)
    if uses_copy():
        return RawSQL(f"SELECT unnest(%s::text::{db_type}[])", [array_literal(listed)])
    return listed


class EqualsAny(Expression):
    """`expression = ANY(array)`, the array one parameter (its text literal) on PostgreSQL:
    unlike among's unnest subquery it lets PostgreSQL look each value up in an index, and
    unlike a list `__in` it is not thousands of placeholders to build and parse. Elsewhere a
    plain IN list. Use in filter()."""

    output_field = models.BooleanField()
    conditional = True

    def __init__(self, expression: Combinable | Expression, values: Iterable[object],
                 db_type: str = "text"):
        super().__init__()
        self.expression, self.values, self.db_type = expression, list(values), db_type

    def get_source_expressions(self) -> list[Combinable | Expression]:
        return [self.expression]

    def set_source_expressions(self, exprs: Sequence[Combinable | Expression]) -> None:
        [self.expression] = exprs

    def as_sql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def]
        sql, params = compiler.compile(self.expression)
        if connection.vendor == "postgresql":
            return (f"{sql} = ANY(%s::text::{self.db_type}[])",
                    (*params, array_literal(self.values)))
        if not self.values:
            return "1 = 0", ()
        return f"{sql} IN ({', '.join(['%s'] * len(self.values))})", (*params, *self.values)


def array_literal(values: Sequence[object]) -> str:
    """PostgreSQL's text form of a one-dimensional array: numbers as they are, None as NULL,
    anything else double-quoted with its backslashes and double quotes escaped (so "NULL",
    commas and braces stay text)."""
    if all(type(value) is int for value in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join(map(_array_element, values)) + "}"


def _array_element(value: object) -> str:
    if value is None:
        return "NULL"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def commit_without_waiting_for_disk() -> None:
    """Let the current transaction's commit return before PostgreSQL has flushed it to disk.
    Only for writes whose loss in a database crash is harmless (the work is simply done again)
    and that nothing outside the database acts on before a later commit that does wait: a
    commit that waits flushes every earlier one with it, as the log is written in order."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def check_constraints_as_rows_arrive() -> None:
    """Check the current transaction's deferred constraints (Django's foreign keys) row by row
    as its statements write, not all at its commit: PostgreSQL then checks a COPY's rows while
    the client is still sending the rest, instead of after, while the client waits."""
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


TEXT_UPDATE_CHUNK = 1000


class TextEdit(Protocol):
    """A message's new texts: a Message, or any row with these attributes."""

    pk: int
    subject: str
    body: str
    content_hash: str


def update_texts_if_unchanged(
    edits: Sequence[tuple[TextEdit, str]], *, worst: dict[int, str] | None = None,
    validated_at: datetime | None = None,
) -> set[int]:
    """Write each message's new subject, body and hash, only if its row still has the hash it
    was read with (`old_hash`: the conditional update). Takes (message, old_hash) pairs;
    returns the ids that were written. With `worst` (message id -> worst severity, as
    validation judged the new texts) and `validated_at`, those too, in the same write (on
    PostgreSQL; elsewhere a second update). On PostgreSQL one statement whose arrays go as
    their text literals (a thousand rows of VALUES placeholders cost more to build and parse
    than the update); elsewhere a thousand rows of VALUES per statement."""
    if not edits:
        return set()
    if uses_copy():
        return _update_texts_postgresql(edits, worst, validated_at)
    won = _update_texts_values(edits)
    if worst is not None:
        from apps.core.models import Message

        by_worst: dict[str, list[int]] = {}
        for pk in won:
            by_worst.setdefault(worst[pk], []).append(pk)
        for severity, ids in by_worst.items():
            Message.objects.filter(pk__in=ids).update(
                worst_severity=severity, validated_at=validated_at
            )
    return won


def _update_texts_postgresql(edits: Sequence[tuple[TextEdit, str]], worst: dict[int, str] | None,
                             validated_at: datetime | None) -> set[int]:
    ids = [m.pk for m, _ in edits]
    arrays: list[Sequence[object]] = [
        ids, [old_hash for _, old_hash in edits], [m.subject for m, _ in edits],
        [m.body for m, _ in edits], [m.content_hash for m, _ in edits],
    ]
    names, types = "id, old_hash, subject, body, new_hash", ["bigint"] + ["text"] * 4
    validation, params = "", list[datetime | None]()
    if worst is not None:
        arrays.append([worst[pk] for pk in ids])
        names, types = names + ", worst", types + ["text"]
        validation, params = ", worst_severity = v.worst, validated_at = %s", [validated_at]
    unnest = ", ".join(f"%s::text::{db_type}[]" for db_type in types)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE core_message
                SET subject = v.subject, body = v.body, content_hash = v.new_hash{validation}
                FROM unnest({unnest}) AS v({names})
                WHERE core_message.id = v.id AND core_message.content_hash = v.old_hash
                RETURNING core_message.id""",
            [*params, *(array_literal(values) for values in arrays)],
        )
        return {row[0] for row in cursor.fetchall()}


def _update_texts_values(edits: Sequence[tuple[TextEdit, str]]) -> set[int]:
    won: set[int] = set()
    for start in range(0, len(edits), TEXT_UPDATE_CHUNK):
        chunk = edits[start : start + TEXT_UPDATE_CHUNK]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params = [
            p for m, old_hash in chunk for p in (m.pk, old_hash, m.subject, m.body, m.content_hash)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""WITH v(id, old_hash, subject, body, new_hash) AS (VALUES {values})
                    UPDATE core_message
                    SET subject = v.subject, body = v.body, content_hash = v.new_hash
                    FROM v
                    WHERE core_message.id = CAST(v.id AS bigint)
                      AND core_message.content_hash = v.old_hash
                    RETURNING core_message.id""",
                params,
            )
            won.update(row[0] for row in cursor.fetchall())
    return won


def insert_returning(model: type[models.Model], columns: Sequence[str],
                     rows: Sequence[Sequence[Any]], *, returning: Sequence[str],
                     skip_conflicts: bool = True) -> list[tuple[Any, ...]]:
    """Insert rows (values in the order of `columns`, the model's column names: text, numbers,
    None, aware datetimes, dicts for JSON) in one statement, rows that would break a unique
    constraint skipped (ON CONFLICT DO NOTHING), and return `returning` of the rows written.
    No model instances (a bulk_create builds one per row and prepares each value through its
    field). On PostgreSQL each column goes as one array parameter (INSERT … SELECT FROM
    unnest: psycopg parses a query with thousands of placeholders, and adapts each, slower
    than the rest of the work); elsewhere as a multi-row VALUES. The caller holds the
    transaction."""
    if not rows:
        return []
    quote = connection.ops.quote_name
    head = (f"INSERT INTO {quote(model._meta.db_table)} "
            f"({', '.join(quote(c) for c in columns)}) ")
    tail = (" ON CONFLICT DO NOTHING" if skip_conflicts else "") + " RETURNING " + ", ".join(
        quote(c) for c in returning)
    with connection.cursor() as cursor:
        if uses_copy():
            types = _array_types(model, tuple(columns))
            arrays = ", ".join(f"%s::{kind}[]" for kind in types)
            cursor.execute(head + f"SELECT * FROM unnest({arrays})" + tail, [
                array_literal([_plain(row[i]) for row in rows]) for i in range(len(columns))])
            return list(cursor.fetchall())
        written: list[tuple[Any, ...]] = []
        limit = connection.features.max_query_params or 65_535
        per_statement = max(1, min(1000, limit // len(columns)))
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), per_statement):
            part = rows[start:start + per_statement]
            cursor.execute(head + "VALUES " + ", ".join([row_sql] * len(part)) + tail,
                           [_adapted(value) for row in part for value in row])
            written += cursor.fetchall()
        return written


@cache
def _array_types(model: type[models.Model], columns: tuple[str, ...]) -> list[str]:
    """Each column's type for its array: text for the string types (a varchar column takes
    text by assignment; an explicit cast to varchar(n) would cut a longer value short instead
    of refusing it), else the column's own type."""
    fields = {field.column: field for field in model._meta.concrete_fields}
    types = []
    for column in columns:
        kind = str(fields[column].db_type(connection))
        types.append("text" if kind.startswith("varchar") or kind == "text" else kind)
    return types


def _plain(value: object) -> object:
    # An element of an array literal: its text, as PostgreSQL reads it for the column's type.
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _adapted(value: object) -> Any:
    if isinstance(value, dict):
        return connection.ops.adapt_json_value(value, None)
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value
