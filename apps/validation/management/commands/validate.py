"""manage.py validate PATH.csv [--no-dns]: one JSON line of findings per CSV row.

Other tools read this output, so its shape is a contract:
    {"row": 1, "verdict": "pass|review|block", "findings": [{"code", "severity", "field",
     "start", "end", "message", "suggestion"}]}
A file that cannot be read at all is an error (non-zero exit); a bad row is findings, never a
crash, so one broken line does not hide the verdicts of the others.
"""

import csv
import io
import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from apps.validation.checks.base import FIELDS, REVIEW, CheckFinding, MessageFields, verdict_of
from apps.validation.dns import DomainResolver
from apps.validation.rules import active_rules
from apps.validation.suite import run_checks

REPLACEMENT_CHAR = "\ufffd"


class Command(BaseCommand):
    help = "Validate the messages in a CSV file and print one JSON line of findings per row."

    def add_arguments(self, parser):
        parser.add_argument("path", help="CSV with a header row: " + ", ".join(FIELDS))
        parser.add_argument("--no-dns", action="store_true", help="skip the DNS checks")

    def handle(self, *args, path, no_dns, **options):
        rows = _read_csv(path)
        try:
            rules = active_rules()
        except DatabaseError as exc:
            raise CommandError(f"cannot load the validation rules from the database: {exc}")
        # One resolver for the whole file: each domain is looked up once.
        resolver = None if no_dns else DomainResolver()
        for number, (values, problems) in enumerate(rows, start=1):
            fields = MessageFields(**values)
            findings = problems + _encoding_findings(fields)
            findings += run_checks(fields, rules, resolver=resolver)
            line = {
                "row": number,
                "verdict": verdict_of(findings),
                "findings": [asdict(finding) for finding in findings],
            }
            # ASCII escapes keep the line valid whatever encoding stdout has.
            self.stdout.write(json.dumps(line))


def _read_csv(path: str):
    """An iterator of (field values, row problems), one per data row."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    # Bytes that are not UTF-8 become U+FFFD and a finding on their row, not a crash.
    text = raw.decode("utf-8-sig", errors="replace")
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
    return _rows(reader, columns)


def _rows(reader, columns):
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield dict.fromkeys(FIELDS, ""), [_input_finding(f"The row is not valid CSV ({exc}).")]
            continue
        if not row:
            continue  # a blank line is not a data row
        problems = []
        if len(row) != len(columns):
            problems.append(
                _input_finding(
                    f"The row has {len(row)} of the header's {len(columns)} columns; "
                    "a value may be in the wrong field."
                )
            )
        values = dict.fromkeys(FIELDS, "")
        # Reversed, so that if the header repeats a column its first occurrence wins.
        for column, value in reversed(list(zip(columns, row))):
            if column in values:
                values[column] = value
        yield values, problems


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
