"""The shared real-name file as a CRM export: every row imported, in any common encoding, and
importing it again adds nothing."""

import pytest

from apps.core.models import Prospect
from apps.generation.models import ImportOutcome
from apps.generation.prospect_import import prospects_import
from tests.generation.conftest import sec_companies, to_csv

pytestmark = pytest.mark.django_db


def fits_cp1252(row) -> bool:
    """Windows-1252 has no "Č": those rows cannot be in an Excel export in that encoding."""
    try:
        "".join(row).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(
    "encoding, bom, delimiter",
    [("utf-8", False, ","), ("utf-8", True, ";"), ("cp1252", False, ";"), ("utf-16", False, "\t")],
)
def test_every_company_is_imported_in_each_encoding(
    acme_client, oscar, sec_rows, encoding, bom, delimiter
):
    rows = [r for r in sec_rows if fits_cp1252(r)]
    data = to_csv(rows, delimiter=delimiter, encoding=encoding, bom=bom)

    # Windows-1252 is read only when the operator names it; UTF-8 and UTF-16 say what they are.
    named = "cp1252" if encoding == "cp1252" else ""
    report = prospects_import(client=acme_client, data=data, file_name="crm.csv", actor=oscar,
                              encoding=named)

    assert (report.outcome, report.rows_with_errors) == (ImportOutcome.IMPORTED, 0)
    assert (
        report.rows_imported == len(rows) - 1 == Prospect.objects.filter(client=acme_client).count()
    )
    assert report.delimiter == delimiter
    stored = dict(Prospect.objects.values_list("email", "company"))
    for email, _first, _last, company, _country in rows[1:]:
        assert stored[email] == company  # accents and legal forms exactly as in the file
    one = Prospect.objects.get(email=rows[1][0])
    assert (one.first_name, one.last_name, one.custom_fields) == (
        rows[1][1],
        "Doe",
        {"country": rows[1][4]},
    )


def test_accented_names_survive_windows_1252(acme_client, oscar):
    # Excel's "CSV" on a western Windows: é, ü, ñ and the curly apostrophe (0x92) in cp1252.
    companies = ["Société Générale S.A.", "Müller GmbH", "Ñandú S.L.", "O’Neill’s Bar Ltd"]
    rows = [["Email", "Company"]] + [[f"p{i}@example{i}.com", c] for i, c in enumerate(companies)]
    report = prospects_import(client=acme_client, data=to_csv(rows, encoding="cp1252"),
                              file_name="excel.csv", actor=oscar, encoding="cp1252")
    assert (report.encoding, report.rows_imported) == ("cp1252", 4)
    assert sorted(Prospect.objects.values_list("company", flat=True)) == sorted(companies)


def test_reimporting_the_same_file_adds_nothing(acme_client, oscar, sec_rows):
    data = to_csv(sec_rows, bom=True)
    first = prospects_import(client=acme_client, data=data, file_name="crm.csv", actor=oscar)
    before = sorted(Prospect.objects.values_list("pk", "email", "company", "custom_fields"))

    again = prospects_import(client=acme_client, data=data, file_name="crm.csv", actor=oscar)

    assert first.rows_imported == len(sec_companies())
    assert (again.outcome, again.rows_imported, again.rows_existing) == (
        ImportOutcome.IMPORTED, 0, len(sec_companies()),
    )
    assert sorted(Prospect.objects.values_list("pk", "email", "company", "custom_fields")) == before


def test_the_same_addresses_for_another_client_are_theirs(
    acme_client, globex_client, oscar, sec_rows
):
    data = to_csv(sec_rows[:20])
    prospects_import(client=acme_client, data=data, file_name="a.csv", actor=oscar)
    report = prospects_import(client=globex_client, data=data, file_name="a.csv", actor=oscar)
    assert report.rows_imported == 19
    assert Prospect.objects.filter(client=globex_client).count() == 19
