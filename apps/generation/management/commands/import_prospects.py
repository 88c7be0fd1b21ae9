"""import_prospects CLIENT FILE.csv: the admin's prospect upload, from the command line."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.core.cli import client_argument, file_argument, text_argument
from apps.core.errors import ServiceError
from apps.generation.models import ImportMode, ImportOutcome
from apps.generation.prospect_file import STANDARD_FIELDS
from apps.generation.prospect_import import prospects_import

SHOWN_ERRORS = 50


class Command(BaseCommand):
    help = "Import prospects for a client from a CSV file (all or nothing unless --valid-rows)."

    def add_arguments(self, parser):
        parser.add_argument("client", help="the client's name or id")
        parser.add_argument("file", type=Path)
        parser.add_argument("--valid-rows", action="store_true",
                            help="import the valid rows even when others have errors")
        parser.add_argument("--accept-warnings", action="store_true",
                            help="import the rows whose only problem is a warning (a name that "
                                 "looks like a formula, markup or a link); the validators then "
                                 "block their messages. Without it those rows are left out")
        parser.add_argument("--require", action="append", default=[], metavar="FIELD",
                            help="a field that must not be empty (email always is); repeatable")
        parser.add_argument("--encoding", default="", metavar="CODEC",
                            help="the file's encoding when it is not UTF-8 (e.g. cp1252, "
                                 "shift_jis); without it such a file is refused")
        parser.add_argument("--map", action="append", default=[], metavar="HEADER=FIELD",
                            help="map a column to a field (email, first_name, last_name, company, "
                                 "title, custom:<key>, or empty to ignore it); repeatable")
        parser.add_argument("--tag", default="", metavar="NAME",
                            help="tag the prospects this import adds (besides the import's own "
                                 "tag); a batch can be started from a tag")

    def handle(self, *args, client, file, valid_rows, require, map, encoding, accept_warnings,
               tag, **options):
        found = client_argument(client)
        data = file_argument(file)
        for field in require:
            if field not in STANDARD_FIELDS:
                raise CommandError(f"--require {field!r}: not a prospect field "
                                   f"({', '.join(STANDARD_FIELDS)}).")
        for option, values in (("--encoding", [encoding]), ("--map", map), ("--tag", [tag])):
            for value in values:
                text_argument(value, option)
        mapping = None
        if map:
            from apps.generation.prospect_file import inspect_upload

            try:
                mapping = dict(inspect_upload(data, encoding).mapping)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            for item in map:
                header, sep, target = item.partition("=")
                if not sep:
                    raise CommandError(f"--map {item!r}: write HEADER=FIELD.")
                mapping[header] = target
        try:
            report = prospects_import(
                client=found, data=data, file_name=file.name, actor=None, mapping=mapping,
                mode=ImportMode.VALID_ROWS if valid_rows else ImportMode.ALL_OR_NOTHING,
                required=tuple(dict.fromkeys(["email", *require])), encoding=encoding,
                accept_warnings=accept_warnings, tag=tag,
            )
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        summary = (
            f"Import {report.pk} ({report.encoding}, '{report.delimiter}'): {report.outcome}; "
            f"{report.rows_total} rows, {report.rows_imported} imported, {report.rows_existing} "
            f"already there, {report.rows_with_errors} with errors."
        )
        if report.rows_with_warnings:
            summary += f" {report.rows_with_warnings} rows with warnings " + (
                "imported (--accept-warnings): the validators block their messages."
                if report.warnings_accepted else
                "not imported." if report.outcome == ImportOutcome.REFUSED else
                "left out: check them, then import again with --accept-warnings."
            )
        self.stdout.write(summary)
        for error in report.errors.all()[:SHOWN_ERRORS]:
            warning = f"warning: {error.value!r} " if error.warning else ""
            self.stdout.write(
                f"  row {error.row}, {error.column or 'row'}: {warning}{error.message}"
            )
        if report.errors.count() > SHOWN_ERRORS:
            self.stdout.write("  … the full report is in the admin (Prospect imports).")
        if report.outcome == ImportOutcome.REFUSED:
            raise CommandError("Nothing was imported: fix the rows above or use --valid-rows.")
