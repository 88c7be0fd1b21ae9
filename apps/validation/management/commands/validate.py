"""manage.py validate PATH.csv [--no-dns]: one JSON line of findings per CSV row.

Other tools read this output, so its shape is a contract:
    {"row": 1, "verdict": "pass|review|block", "findings": [{"code", "severity", "field",
     "start", "end", "message", "suggestion"}]}
A file that cannot be read at all is an error (non-zero exit); a bad row is findings, never a
crash, so one broken line does not hide the verdicts of the others.
"""

import codecs
import csv
import dataclasses
import gc
import io
import json
import sys
from itertools import islice

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from apps.core.cli import text_argument
from apps.validation.checks.base import FIELDS, REVIEW, CheckFinding, MessageFields, verdict_of

REPLACEMENT_CHAR = "\ufffd"
CHUNK = 2000  # rows per suppression-list query (and per DNS prefetch, per write)
# The collector's thresholds in a validate process, as in a work-horse (apps/pipeline/worker.py):
# it exits when the file is done, so collecting seldom holds little memory for long.
PROCESS_GC_THRESHOLDS = (50_000, 20, 100)


class Command(BaseCommand):
    help = "Validate the messages in a CSV file and print one JSON line of findings per row."
    # A read-only tool over a file: the project's system checks (the admin's, the URLs',
    # settings) guard the web and worker processes, and cost this one as much as thousands of
    # rows. A configuration it needs (the database) fails with its own clear error.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV with a header row: " + ", ".join(FIELDS))
        parser.add_argument("--no-dns", action="store_true", help="skip the DNS checks")
        parser.add_argument("--encoding", default="", metavar="CODEC",
                            help="the file's encoding when it is not UTF-8 (e.g. cp1252, "
                                 "shift_jis); UTF-8 and UTF-16 with a byte-order mark are read "
                                 "without it")

    def run_from_argv(self, argv):
        # manage.py validate, a process of its own: what start-up makes (Django, the models,
        # the checks and their tables) lives until the process exits, so the collector sets it
        # aside and, as the rows' objects are short-lived, runs seldom. Not in call_command,
        # whose process goes on.
        gc.set_threshold(*PROCESS_GC_THRESHOLDS)
        gc.freeze()
        import apps.validation.services  # noqa: F401  (the checks, the legal forms' tables)

        gc.freeze()
        super().run_from_argv(argv)

    def handle(self, *args, path, no_dns, encoding="", **options):
        # Imported here, not at the top: in a process of its own the collector is settled by
        # now (run_from_argv), and the checks' tables (the legal forms') are many objects that
        # a full collection would otherwise walk while they load.
        from apps.validation.dns import DomainResolver
        from apps.validation.rules import active_rules
        from apps.validation.services import suppressed_keys
        from apps.validation.suite import BatchChecks, CheckPlan, recipient_key

        if "\x00" in path:
            raise CommandError("path: the path contains a NUL character.")
        text_argument(encoding, "--encoding")
        present, rows = _read_csv(path, encoding)  # present: the known columns of the header
        try:
            rules = active_rules()
        except DatabaseError as exc:
            raise CommandError(
                f"cannot load the validation rules from the database: {exc}"
            ) from exc
        # One resolver for the whole file: each domain is looked up once.
        resolver = None if no_dns else DomainResolver()
        # Rows are judged one by one (a file may list one address many times, on purpose), so
        # of the batch rules only the global suppression list applies here.
        row_rules = [rule for rule in rules if rule.code != "duplicate_recipient"]
        batch_checks = BatchChecks(row_rules) if "email" in present else None
        check_row = CheckPlan(rules, resolver=resolver)
        numbered = enumerate(rows, start=1)
        while chunk := list(islice(numbered, CHUNK)):
            if resolver is not None:
                resolver.prefetch(fields.email for _, (fields, _, _) in chunk)
            suppressed = set()
            if batch_checks is not None:
                keys = [recipient_key(fields.email) for _, (fields, _, _) in chunk]
                suppressed = suppressed_keys(client_id=None, keys=keys)
            lines = []
            for number, (fields, problems, in_row) in chunk:
                findings = self._row_findings(
                    number, fields, problems, check_row, batch_checks, suppressed, in_row
                )
                lines.append(_row_line(number, findings))
            # One write per chunk: a write per row cost as much as checking the row.
            self.stdout.write("\n".join(lines))

    def _row_findings(self, number, fields, problems, check_row, batch_checks, suppressed, present):
        # problems: the row's own (not valid CSV, short, garbled); check_row: the suite's
        # CheckPlan with the file's rules and resolver.
        label = f"row {number}"
        findings = problems + check_row(fields, label)
        if batch_checks is not None:
            findings += batch_checks.findings(fields.email, label, suppressed)
        # A column the file (or this short row) does not have is not an empty subject or
        # body: a prospect list (email, names, company) is checked for what it holds.
        return [
            f for f in findings
            if not (f.code.startswith("empty_content.") and f.field not in present)
        ]


def _row_line(number: int, findings: list[CheckFinding]) -> str:
    if not findings:  # most rows: the line json.dumps would write, without its walk
        return f'{{"row": {number}, "verdict": "pass", "findings": []}}'
    # ASCII escapes keep the line valid whatever encoding stdout has.
    return json.dumps(_row_output(number, findings))


def _row_output(number: int, findings: list[CheckFinding]) -> dict:
    """The row's line (the contract in the module's docstring). The finding's fields by hand:
    dataclasses.asdict deep-copies each value, for strings and numbers that need none."""
    return {
        "row": number,
        "verdict": verdict_of(findings),
        "findings": [
            {"code": f.code, "severity": f.severity, "field": f.field, "start": f.start,
             "end": f.end, "message": f.message, "suggestion": f.suggestion}
            for f in findings
        ],
    }


def _read_csv(path: str, encoding: str = ""):
    """The known columns present, and an iterator of (MessageFields, row problems, fields the
    row has), one per data row."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    text = _decode(path, raw, encoding)
    # PostgreSQL cannot hold a NUL (the suppression lookup would fail): it becomes U+FFFD and
    # an input.encoding finding on its row, like any other unreadable byte.
    text = text.replace("\x00", REPLACEMENT_CHAR)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CommandError(f"{path}: the header row is not valid CSV ({exc})") from exc
    if not header:
        raise CommandError(f"{path} is empty: expected a header row naming {', '.join(FIELDS)}")
    columns = [name.strip().lower() for name in header]
    if not set(columns) & set(FIELDS):
        raise CommandError(
            f"{path}: the header names none of the known columns ({', '.join(FIELDS)})"
        )
    rows = _rows(reader, columns, may_be_garbled=REPLACEMENT_CHAR in text)
    return set(columns) & set(FIELDS), rows


# More rows than this share with bytes that are not UTF-8, and the file is in another
# encoding altogether: refused, rather than a finding on (nearly) every row.
FOREIGN_ENCODING_SHARE = 0.2


def _decode(path: str, raw: bytes, encoding: str) -> str:
    """The text: in the named encoding, else UTF-8 (or UTF-16 by its byte-order mark). A stray
    byte that is not UTF-8 becomes U+FFFD and a finding on its row; a file that is mostly not
    UTF-8 is refused with the encoding charset-normalizer takes it for."""
    from apps.generation.csvfiles import UnreadableFile, decode_upload, detect_encoding

    if encoding or raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return decode_upload(raw, encoding)[0]
        except UnreadableFile as exc:
            raise CommandError(f"{path}: {exc}") from exc
    if b"\x00\x00" in raw[:4096] or raw[:4096].count(b"\x00") > 4:
        raise CommandError(
            f"{path}: the file is full of NUL bytes: it looks like UTF-16 without a byte-order "
            "mark. Pass --encoding utf-16-le (or utf-16-be), or save it as 'CSV UTF-8'."
        )
    text = raw.decode("utf-8-sig", errors="replace")
    if REPLACEMENT_CHAR in text:
        lines = text.splitlines() or [""]
        garbled = sum(1 for line in lines if REPLACEMENT_CHAR in line)
        if garbled > 1 and garbled / len(lines) > FOREIGN_ENCODING_SHARE:
            detected = detect_encoding(raw) or "an encoding that could not be told"
            raise CommandError(
                f"{path} is not UTF-8: {garbled} of its {len(lines)} lines have bytes that are "
                f"not; it looks like {detected}. Pass --encoding {detected} to read it so, or "
                "save it as 'CSV UTF-8'."
            )
    return text


# A column index no row reaches: a field the header does not name is read as "".
ABSENT = sys.maxsize


def _rows(reader, columns, *, may_be_garbled: bool):
    # Where each field of MessageFields is, in its own order: the first column of its name, so
    # that if the header repeats a column its first occurrence wins. Worked out once, not per
    # row. may_be_garbled: the text has a U+FFFD somewhere, so each row is looked at for one.
    position: dict[str, int] = {}
    for index, column in enumerate(columns):
        if column in FIELDS:
            position.setdefault(column, index)
    indexes = [position.get(f.name, ABSENT) for f in dataclasses.fields(MessageFields)]
    in_full_row = set(position)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield (
                MessageFields(),
                [_input_finding(f"The row is not valid CSV ({exc}).")],
                set(),
            )
            continue
        if not row:
            continue  # a blank line is not a data row
        problems = []
        width = len(row)
        if width != len(columns):
            problems.append(
                _input_finding(
                    f"The row has {width} of the header's {len(columns)} columns; "
                    "a value may be in the wrong field."
                )
            )
        fields = MessageFields(*[row[index] if index < width else "" for index in indexes])
        if may_be_garbled:
            problems += _encoding_findings(fields)
        # The fields this row has a value for (a short row lacks its last columns).
        present = in_full_row if width >= len(columns) else {
            field for field, index in position.items() if index < width
        }
        yield fields, problems, present


def _input_finding(message: str) -> CheckFinding:
    return CheckFinding("input", REVIEW, "", None, None, message)


def _encoding_findings(fields: MessageFields) -> list[CheckFinding]:
    findings = []
    for field in FIELDS:
        position = getattr(fields, field).find(REPLACEMENT_CHAR)
        if position >= 0:
            findings.append(
                CheckFinding(
                    "input.encoding",
                    REVIEW,
                    field,
                    position,
                    position + 1,
                    "The text has bytes that are not valid UTF-8 (or a replacement "
                    "character): it may be garbled.",
                )
            )
    return findings
