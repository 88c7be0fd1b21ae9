"""Issue 13: a spreadsheet formula, markup or a link in a name column is a row warning (row and
column named, the value shown) that the operator must confirm: without it the row is left out
(the file is not refused for it), with it the row is imported and a message made from it is
blocked by the personal_value rule; the preview says so instead of "nothing flagged"."""

import pytest

from apps.core.models import Prospect
from apps.generation.models import ImportMode
from apps.generation.preview import preview_message
from apps.generation.prospect_import import prospects_import
from apps.validation.checks.personal import not_a_name
from tests.generation.conftest import to_csv

pytestmark = pytest.mark.django_db

HOSTILE = [
    ["Email", "First Name", "Last Name", "Company"],
    ["ann@initech.com", "Ann", "Lee", "Initech"],
    ["bob@initech.com", '=HYPERLINK("http://x","y")', "Ray", "Initech"],
    ["cid@hooli.com", "Cid", "Moe", "=1+2"],
    ["dee@hooli.com", "Dee", "<script>alert(1)</script>", "Hooli"],
    ["eve@umbrella.com", "Eve", "Fox", "https://evil.example/x"],
    ["fay@umbrella.com", "@SUM(A1)", "Kay", "Umbrella"],
]


WARNED = {
    (3, "First Name", "not_a_name"), (4, "Company", "not_a_name"),
    (5, "Last Name", "not_a_name"), (6, "Company", "not_a_name"),
    (7, "First Name", "not_a_name"),
}


def test_each_value_that_is_not_a_name_is_a_warning_and_left_out_unconfirmed(acme_client, oscar):
    report = prospects_import(client=acme_client, data=to_csv(HOSTILE), file_name="f.csv",
                              actor=oscar)
    assert set(report.errors.values_list("row", "column", "code")) == WARNED
    assert set(report.errors.values_list("warning", flat=True)) == {True}
    # Warnings do not refuse the file: the good row is imported, the warned rows are not.
    assert (report.outcome, report.rows_with_errors, report.rows_with_warnings) == (
        "imported",
        0,
        5,
    )
    assert not report.warnings_accepted
    assert list(Prospect.objects.values_list("email", flat=True)) == ["ann@initech.com"]
    formula = report.errors.get(row=3)
    assert formula.value == '=HYPERLINK("http://x","y")' and "formula" in formula.message
    assert "Left out: the operator did not confirm it." in formula.message


def test_confirmed_warnings_are_imported_and_blocked_in_messages(acme_client, acme_campaign,
                                                                 oscar):
    report = prospects_import(client=acme_client, data=to_csv(HOSTILE), file_name="f.csv",
                              actor=oscar, accept_warnings=True)
    assert (report.rows_imported, report.rows_with_warnings, report.warnings_accepted) == (
        6,
        5,
        True,
    )
    assert "Imported as the operator confirmed" in report.errors.get(row=4).message
    cid = Prospect.objects.get(email="cid@hooli.com")
    assert cid.company == "=1+2"
    findings = preview_message(campaign=acme_campaign, prospect=cid).findings
    assert ("personal_value", "company", "block") in {
        (f.code, f.field, f.severity) for f in findings
    }


def test_a_row_with_an_error_and_a_warning_is_an_error_row(acme_client, oscar):
    rows = [["Email", "Company"], ["ok@initech.com", "Initech"], ["nope", "=1+2"]]
    report = prospects_import(client=acme_client, data=to_csv(rows), file_name="f.csv",
                              actor=oscar, accept_warnings=True)
    assert (report.outcome, report.rows_with_errors, report.rows_with_warnings) == ("refused", 1, 0)
    assert not Prospect.objects.exists()  # all or nothing: still one transaction, nothing half-done


def test_valid_rows_mode_imports_only_the_names(acme_client, oscar):
    prospects_import(client=acme_client, data=to_csv(HOSTILE), file_name="f.csv", actor=oscar,
                     mode=ImportMode.VALID_ROWS)
    assert list(Prospect.objects.values_list("email", flat=True)) == ["ann@initech.com"]


@pytest.mark.parametrize("name", [
    "O'Brien", "Jean-Luc", "AT&T", "Procter & Gamble", "Yahoo!", "E*TRADE", "1-800-Flowers",
    "Booking.com", "(RED)", "Zoë", "株式会社テスト", "Smith + Sons",
])
def test_real_names_pass(name):
    assert not_a_name(name) == ""


def test_the_preview_flags_a_formula_a_prospect_already_has(acme_campaign, acme_client):
    # A prospect added by hand (or before this rule) still cannot reach a message unnoticed.
    bob = Prospect.objects.create(client=acme_client, email="bob@initech.com",
                                  first_name='=HYPERLINK("http://x","y")', company="=1+2")
    preview = preview_message(campaign=acme_campaign, prospect=bob)
    assert 'Hi =HYPERLINK("http://x","y"),' in preview.body
    flagged = {(f.code, f.field, f.severity) for f in preview.findings}
    assert {
        ("personal_value", "first_name", "block"),
        ("personal_value", "company", "block"),
    } <= flagged
