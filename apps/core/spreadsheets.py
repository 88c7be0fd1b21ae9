"""Cells for the CSV files the product exports: text a spreadsheet shows, never runs."""

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell as text that a spreadsheet shows instead of evaluating: a leading = + - @ (or
    tab, CR) gets a quote in front."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
