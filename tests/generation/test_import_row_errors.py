"""A file with every kind of bad row: the report names each row and column; all or nothing by
default, the valid rows only when the operator chooses; nothing half-imported either way."""

import pytest

from apps.core.models import AuditEvent, Prospect, Suppression
from apps.generation.models import ImportMode, ImportOutcome, ProspectImport
from apps.generation.prospect_import import prospects_import
from tests.generation.conftest import prospect_rows, to_csv

pytestmark = pytest.mark.django_db


def bad_file(acme_client) -> bytes:
    """Rows 2-6 are good (real SEC company names); rows 7-13 each have one problem."""
    Suppression.objects.create(client=acme_client, email="optout@initech.com", reason="asked")
    Suppression.objects.create(client=None, email="bounced@hooli.com", reason="hard bounce")
    rows = prospect_rows(5)
    rows += [
        ["not-an-address", "Ann", "Lee", "Initech", "US"],             # 7 bad syntax
        ["", "Bob", "Ray", "Hooli", "US"],                              # 8 missing address
        [rows[2][0].upper(), "Dup", "Row", "Hooli", "US"],              # 9 duplicate of row 3
        ["OptOut@Initech.com", "Opt", "Out", "Initech", "US"],          # 10 suppressed (client)
        ["bounced@hooli.com", "Bo", "Unce", "Hooli", "US"],             # 11 suppressed (global)
        ["{{first_name}}@acme.com", "Tpl", "X", "Acme", "US"],          # 12 a template left in
        ["x@umbrella.com", "A", "B", "C", "US", "extra"],              # 13 a stray delimiter
        ["", "", "", "", ""],                                           # blank: not a row
    ]
    return to_csv(rows)


def report_of(report: ProspectImport) -> set[tuple[int, str, str]]:
    return set(report.errors.values_list("row", "column", "code"))


EXPECTED = {
    (7, "E-mail", "bad_address"),
    (8, "E-mail", "missing"),
    (9, "E-mail", "duplicate"),
    (10, "E-mail", "suppressed"),
    (11, "E-mail", "suppressed"),
    (12, "E-mail", "bad_address"),
    (13, "", "extra_cells"),
}


def test_the_report_names_each_bad_row_and_column_and_nothing_is_imported(acme_client, oscar):
    report = prospects_import(client=acme_client, data=bad_file(acme_client), file_name="bad.csv",
                              actor=oscar)

    assert report_of(report) == EXPECTED
    assert (report.outcome, report.rows_total, report.rows_imported, report.rows_with_errors) == (
        ImportOutcome.REFUSED, 12, 0, 7,
    )
    assert not Prospect.objects.exists()
    duplicate = report.errors.get(row=9)
    assert "row 3" in duplicate.message
    event = AuditEvent.objects.get(action="prospect_import_refused")
    assert (event.actor, event.data["import_id"]) == (oscar, report.pk)


def test_importing_the_valid_rows_reports_the_others(acme_client, oscar):
    report = prospects_import(client=acme_client, data=bad_file(acme_client), file_name="bad.csv",
                              actor=oscar, mode=ImportMode.VALID_ROWS)

    assert report_of(report) == EXPECTED
    assert (report.outcome, report.rows_imported) == (ImportOutcome.IMPORTED, 5)
    assert sorted(Prospect.objects.values_list("email", flat=True)) == sorted(
        r[0] for r in prospect_rows(5)[1:]
    )


def test_a_required_field_the_operator_names_is_checked(acme_client, oscar):
    rows = [["Email", "Given name", "Organization"], ["a@initech.com", "", "Initech"],
            ["b@initech.com", "Bea", ""]]
    report = prospects_import(client=acme_client, data=to_csv(rows), file_name="f.csv",
                              actor=oscar, required=("email", "first_name", "company"))
    assert report_of(report) == {(2, "Given name", "missing"), (3, "Organization", "missing")}
    assert not Prospect.objects.exists()


def test_a_failure_while_storing_leaves_nothing_behind(acme_client, oscar, monkeypatch):
    """One transaction: if storing breaks after some prospects went in, they go too."""
    from apps.generation import prospect_import

    def broken_event(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(prospect_import, "record_event", broken_event)
    with pytest.raises(RuntimeError):
        prospects_import(client=acme_client, data=to_csv(prospect_rows(50)), file_name="f.csv",
                         actor=oscar)
    assert not Prospect.objects.exists()
    assert not ProspectImport.objects.exists()


def test_stray_whitespace_is_cleaned(acme_client, oscar):
    rows = [["Email Address", "First Name", "Company Name"],
            ["  peter@initech.com ", "  Peter\t", " Initech \n Inc. "]]
    prospects_import(client=acme_client, data=to_csv(rows), file_name="f.csv", actor=oscar)
    peter = Prospect.objects.get()
    assert (peter.email, peter.first_name, peter.company) == (
        "peter@initech.com",
        "Peter",
        "Initech Inc.",
    )
