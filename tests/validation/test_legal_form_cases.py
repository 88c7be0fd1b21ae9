"""Every row of tests/data/legal_form_cases.csv: real names from public sources, per category."""

import csv
from pathlib import Path

import pytest

from apps.validation.checks.base import MessageFields
from apps.validation.checks.legal_forms import base_name, check_legal_forms

from .helpers import apply_suggestions

CASES_FILE = Path(__file__).resolve().parents[1] / "data" / "legal_form_cases.csv"
ROWS = list(csv.DictReader(CASES_FILE.open(encoding="utf-8", newline="")))
CATEGORIES = {
    "prefix", "baltic", "bilingual", "malaysian", "mexican", "professional", "abbreviation_dot",
    "ordinary_word", "cjk_removal",
}


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['category']}:{r['input']}" for r in ROWS])
def test_case(row):
    if row["kind"] == "company_name":
        assert base_name(row["input"]) == row["expected"]
        return
    findings = check_legal_forms(MessageFields(company=row["company"], body=row["input"]), "block")

    assert apply_suggestions(row["input"], findings) == row["expected"]
    if row["expected"] == row["input"]:  # an ordinary use: nothing flagged at all
        assert findings == []


def test_every_category_has_names_and_every_row_cites_its_source():
    assert {row["category"] for row in ROWS} == CATEGORIES
    assert all(row["source"].startswith("https://") for row in ROWS)
    for category in CATEGORIES - {"ordinary_word"}:
        kinds = {row["kind"] for row in ROWS if row["category"] == category}
        assert kinds == {"company_name", "message"}, category
