"""Importing a prospect file for a client: the service behind the admin upload and the
`import_prospects` command.

One transaction: the report, its row errors and the new prospects are stored together or not
at all, so a list is never half-imported. Addresses already on the client's list are left as
they are, so importing the same file again adds nothing.

The rows are checked before that transaction, and on SQLite written by one statement the
driver runs per row: SQLite has one write lock, held from BEGIN to COMMIT, and every other
writer (the sweeper, the workers, the web) waits for it at most its busy timeout. With the
check inside and bulk_create (a model instance and its SQL per row) a 200,000-row file held
it for the whole import; now only the writes do (docs/performance.md has the figures).
"""

import hashlib
import json
from dataclasses import replace

from django.db import connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.audit import AuditAction, record_event
from apps.core.errors import ServiceError
from apps.core.models import Client, Prospect, ProspectTag, Suppression, Tag
from apps.generation.csvfiles import UnreadableFile, write_csv
from apps.generation.models import ImportMode, ImportOutcome, ImportRowError, ProspectImport
from apps.generation.prospect_file import (
    CheckedRows,
    Upload,
    check_mapping,
    check_rows,
    inspect_upload,
)

INSERT_BATCH = 2000


def prospects_import(
    *,
    client: Client,
    data: bytes,
    file_name: str,
    actor,
    mode: str = ImportMode.ALL_OR_NOTHING,
    mapping: dict[str, str] | None = None,
    required: tuple[str, ...] = ("email",),
    encoding: str = "",
    accept_warnings: bool = False,
    tag: str = "",
) -> ProspectImport:
    """Check every row and store the outcome. A problem with the file as a whole (unreadable,
    no email column) raises ServiceError and stores nothing; row problems are the report.

    Rows whose only problems are warnings (a name that is not a name) are imported only with
    `accept_warnings` (the operator confirmed them), left out otherwise; either way they do
    not refuse the file, and the report lists them.

    The prospects it adds carry the import's own tag ("import N: file") and `tag`, if given."""
    checked, mapping, upload = import_check(client=client, data=data, mapping=mapping,
                                            required=required, encoding=encoding)
    now = timezone.now()
    refused = bool(checked.rows_with_errors) and mode == ImportMode.ALL_OR_NOTHING
    to_create = [] if refused else checked.prospects
    if accept_warnings and not refused:
        to_create = to_create + checked.warned_prospects
    warned_rows = set(checked.rows_of_warned)
    warning_note = (
        " Imported as the operator confirmed; the personal_value rule blocks its messages."
        if accept_warnings and not refused else
        " Left out: the operator did not confirm it." if not refused else ""
    )
    row_problems = [
        replace(e, message=e.message + warning_note) if e.warning and e.row in warned_rows else e
        for e in checked.errors
    ]
    with transaction.atomic():
        report = ProspectImport.objects.create(
            client=client, file_name=file_name[:300], file_sha256=hashlib.sha256(data).hexdigest(),
            encoding=upload.encoding, delimiter=upload.delimiter, mapping=mapping, mode=mode,
            outcome=ImportOutcome.REFUSED if refused else ImportOutcome.IMPORTED,
            rows_total=checked.rows_total, rows_imported=len(to_create),
            rows_existing=checked.rows_existing, rows_with_errors=checked.rows_with_errors,
            rows_with_warnings=checked.rows_with_warnings,
            warnings_accepted=accept_warnings and not refused and bool(warned_rows),
            created_by=actor, created_at=now,
        )
        _store_row_errors(report, row_problems)
        _store_prospects(client, to_create, now)
        record_event(
            actor=actor,
            action=(AuditAction.PROSPECT_IMPORT_REFUSED if refused
                    else AuditAction.PROSPECTS_IMPORTED),
            at=now, reason=file_name[:200],
            data={"client_id": client.pk, "import_id": report.pk, "rows": checked.rows_total,
                  "imported": len(to_create), "errors": checked.rows_with_errors,
                  "warned": checked.rows_with_warnings, "warnings_accepted": accept_warnings},
        )
    if not refused:
        # Tagging commits on its own: on SQLite one transaction holds the only write lock, and
        # the rows and their tags together kept the worker's small writes waiting past their
        # busy timeout. Prospects that died untagged are still found by every other filter.
        with transaction.atomic():
            _tag_new_prospects(client, report, now, tag.strip()[:100])
    return report


def import_check(
    *,
    client: Client,
    data: bytes,
    mapping: dict[str, str] | None = None,
    required: tuple[str, ...] = ("email",),
    encoding: str = "",
) -> tuple[CheckedRows, dict[str, str], Upload]:
    """What an import would do, writing nothing: the preview the admin shows before the
    operator confirms. ServiceError for a problem with the file as a whole."""
    try:
        upload = inspect_upload(data, encoding)
    except UnreadableFile as exc:
        raise ServiceError(str(exc)) from exc
    mapping = {h: (mapping or upload.mapping).get(h, "") for h in upload.headers}
    problems = check_mapping(mapping, upload.headers)
    if problems:
        raise ServiceError(" ".join(problems))
    # Outside the transaction (seconds of CPU for a big file). An import of the same addresses
    # committing meanwhile keeps its rows (ignore_conflicts below); a suppression added
    # meanwhile is caught again by validation and at sending, which check it too.
    checked = check_rows(
        upload, mapping, required=required,
        existing=_existing_addresses(client), suppressed=_suppressed_addresses(client),
    )
    return checked, mapping, upload


PROSPECT_COLUMNS = ("email", "first_name", "last_name", "company", "title", "custom_fields")
ERROR_COLUMNS = ("row", "column", "code", "warning", "message", "value")


def _store_prospects(client: Client, to_create: list[dict], now) -> None:
    # ignore_conflicts: an import of the same addresses committing meanwhile keeps its rows.
    if connection.vendor != "sqlite":
        Prospect.objects.bulk_create(
            (Prospect(client=client, created_at=now, **fields) for fields in to_create),
            batch_size=INSERT_BATCH, ignore_conflicts=True,
        )
        return
    stamp = connection.ops.adapt_datetimefield_value(now)
    rows = (
        (client.pk, stamp, *(f[c] for c in PROSPECT_COLUMNS[:-1]), json.dumps(f["custom_fields"]))
        for f in to_create
    )
    _executemany(Prospect, ("client_id", "created_at", *PROSPECT_COLUMNS), rows,
                 ignore_conflicts=True)


def _tag_new_prospects(client: Client, report: ProspectImport, now, tag: str) -> None:
    """The import's own tag, and the operator's, on the rows this import added: those stamped
    with its time (a row already on the list keeps its older stamp). One INSERT ... SELECT a
    tag, not a row per prospect through Python."""
    own = Tag.objects.create(client=client, name=f"import {report.pk}: {report.file_name}"[:100],
                             created_at=now)
    ProspectImport.objects.filter(pk=report.pk).update(tag=own)
    report.tag = own
    tags = [own]
    if tag:
        tags.append(Tag.objects.get_or_create(client=client, name=tag,
                                              defaults={"created_at": now})[0])
    added = Prospect.objects.filter(client=client, created_at=now).values_list("pk")
    sql, params = added.query.sql_with_params()
    table = connection.ops.quote_name(ProspectTag._meta.db_table)
    with connection.cursor() as cursor:
        for each in tags:
            # "WHERE true": SQLite reads ON CONFLICT after a bare FROM as a join's ON clause.
            cursor.execute(
                f"INSERT INTO {table} (tag_id, prospect_id) SELECT %s, added.* FROM ({sql}) added"
                " WHERE true ON CONFLICT DO NOTHING", [each.pk, *params],
            )


def _store_row_errors(report: ProspectImport, errors) -> None:
    values = ((e.row, e.column[:300], e.code, e.warning, e.message, e.value[:300]) for e in errors)
    if connection.vendor != "sqlite":
        ImportRowError.objects.bulk_create(
            (ImportRowError(prospect_import=report, **dict(zip(ERROR_COLUMNS, v, strict=True)))
             for v in values),
            batch_size=INSERT_BATCH,
        )
        return
    _executemany(ImportRowError, ("prospect_import_id", *ERROR_COLUMNS),
                 ((report.pk, *v) for v in values))


def _executemany(model, columns, rows, *, ignore_conflicts: bool = False) -> None:
    """One INSERT run per row by the sqlite3 module (its C loop), for the rows given (values
    ready for the database, in the order of `columns`)."""
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(c).column) for c in columns)
    places = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({names}) VALUES ({places})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _existing_addresses(client: Client) -> set[str]:
    return set(
        Prospect.objects.filter(client=client).annotate(key=Lower("email"))
        .values_list("key", flat=True)
    )


def _suppressed_addresses(client: Client) -> set[str]:
    return set(
        Suppression.objects.filter(Q(client=client) | Q(client__isnull=True))
        .values_list("email", flat=True)
    )


def import_report_csv(prospect_import: ProspectImport) -> str:
    """The row errors and warnings as CSV for a spreadsheet (cells that would be formulas
    neutralised)."""
    rows = (
        (row, column, code, message, value, "warning" if warning else "error")
        for row, column, code, warning, message, value in prospect_import.errors.values_list(
            "row", "column", "code", "warning", "message", "value").iterator()
    )
    return write_csv(["row", "column", "problem", "message", "value", "severity"], rows)
