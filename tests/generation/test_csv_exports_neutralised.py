"""Cells that a spreadsheet would run as formulas are neutralised in every CSV export."""

import csv
import io

import pytest

from apps.core.spreadsheets import safe_cell
from apps.generation.csvfiles import write_csv
from apps.generation.prospect_import import import_report_csv, prospects_import
from tests.generation.conftest import to_csv

pytestmark = pytest.mark.django_db

FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]


def test_formula_cells_in_the_import_report_are_neutralised(acme_client, oscar):
    rows = (
        [["Email", "Company"]] + [[f, "Initech"] for f in FORMULAS] + [["ok@initech.com", "=1+1"]]
    )
    report = prospects_import(client=acme_client, data=to_csv(rows), file_name="f.csv", actor=oscar)

    exported = list(csv.reader(io.StringIO(import_report_csv(report))))

    values = [row[4] for row in exported[1:]]
    # The bad addresses, and the company that is a formula (a not_a_name row warning).
    assert sorted(values) == sorted("'" + f for f in [*FORMULAS, "=1+1"])
    for row in exported:
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row


def test_safe_cell_leaves_ordinary_text_alone():
    assert [safe_cell(v) for v in ("Initech", "", None, 12, "a=b", "-")] == [
        "Initech", "", "", "12", "a=b", "'-",
    ]
    assert write_csv(["=h"], [["@x", "y"]]) == "'=h\r\n'@x,y\r\n"
