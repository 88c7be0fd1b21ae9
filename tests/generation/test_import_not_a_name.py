"""Issue 13: a spreadsheet formula, markup or a link in a name column is a row error (row and
column named, the value shown), and a message made from such a prospect is blocked; the
preview says so instead of "nothing flagged"."""

import pytest

from apps.core.models import Prospect
from apps.generation.imports import prospects_import
from apps.generation.models import ImportMode
from apps.generation.preview import preview_message
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


def test_each_value_that_is_not_a_name_is_a_row_error(acme_client, oscar):
    report = prospects_import(client=acme_client, data=to_csv(HOSTILE), file_name="f.csv",
                              actor=oscar)
    errors = set(report.errors.values_list("row", "column", "code"))
    assert errors == {
        (3, "First Name", "not_a_name"), (4, "Company", "not_a_name"),
        (5, "Last Name", "not_a_name"), (6, "Company", "not_a_name"),
        (7, "First Name", "not_a_name"),
    }
    assert report.outcome == "refused" and not Prospect.objects.exists()
    formula = report.errors.get(row=3)
    assert formula.value == '=HYPERLINK("http://x","y")' and "formula" in formula.message


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
    assert {("personal_value", "first_name", "block"), ("personal_value", "company", "block")} <= flagged
