"""Legal-form accuracy per category on public cases, with cleanco and rigour beside ours.

    .venv/bin/pip install -e '.[bench]'      # cleanco and rigour, the baselines
    .venv/bin/python bench/legal_form_accuracy.py [--show-misses]

The cases: tests/data/legal_form_cases.csv (real names from registries, exchanges and company
sites, each row citing its source), per category of the issue (prefix forms, Baltic, bilingual
and compound, Malaysian, Mexican, professional corporations, the abbreviation dot, ordinary-word
uses, CJK removal); the legal-form rows of the shared tests/data/validator_cases.csv as a line
of their own.

What each contender is asked:
- a company_name row: the name without its legal form. Ours: base_name; cleanco: basename;
  rigour: names.remove_org_types. Compared after trimming spaces and commas at the ends.
- a message row: the text with the stray form removed (or left alone, for an ordinary use).
  Ours: the legal_form check's fixes applied. The baselines clean names, not texts, so they
  are given the whole text as a name, which is what a pipeline without a text check can do
  (cleanco strips the end; rigour replaces the org types it finds anywhere). Compared with runs
  of spaces collapsed, which only helps the baselines.
"""

import argparse
import csv
import re
from collections import defaultdict
from collections.abc import Callable

from _setup import ROOT
from apps.validation.checks.base import MessageFields
from apps.validation.checks.legal_forms import base_name, check_legal_forms

CASES = ROOT / "tests" / "data" / "legal_form_cases.csv"
SHARED = ROOT / "tests" / "data" / "validator_cases.csv"


def own_cases() -> list[dict[str, str]]:
    with CASES.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def shared_cases() -> list[dict[str, str]]:
    """The shared rows about legal forms: every company_name row, and the message rows whose
    note is about a form or an ordinary word (the others are placeholders and greetings)."""
    with SHARED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    legal = [r for r in rows if r["kind"] == "company_name"]
    legal += [
        r for r in rows
        if r["kind"] == "message" and r["verdict"] in ("pass", "block") and r["expected"]
        and "placeholder" not in r["note"]
    ]
    return [{**r, "category": "shared"} for r in legal]


def ours_fixed(company: str, text: str) -> str:
    findings = check_legal_forms(MessageFields(company=company, body=text), "block")
    for finding in sorted(findings, key=lambda f: f.start or 0, reverse=True):
        text = text[: finding.start] + (finding.suggestion or "") + text[finding.end :]
    return text


def contenders() -> dict[str, tuple[Callable[[str], str], Callable[[str, str], str]]]:
    """name -> (what it makes of a company name, what it makes of a text with a company)."""
    from cleanco import basename
    from rigour.names import remove_org_types

    return {
        "ours": (base_name, ours_fixed),
        "cleanco": (basename, lambda company, text: basename(text)),
        "rigour": (remove_org_types, lambda company, text: remove_org_types(text)),
    }


def is_right(row: dict[str, str], name_of, text_of) -> tuple[bool, str]:
    if row["kind"] == "company_name":
        got = " ".join(name_of(row["input"]).split()).strip(" ,")
        return got == row["expected"], got
    got = text_of(row["company"], row["input"])
    return re.sub(" +", " ", got).strip() == re.sub(" +", " ", row["expected"]).strip(), got


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    rows = own_cases() + shared_cases()
    scores: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    misses = []
    for label, (name_of, text_of) in contenders().items():
        for row in rows:
            try:
                right, got = is_right(row, name_of, text_of)
            except Exception as error:  # a baseline that fails on a case has it wrong
                right, got = False, f"error: {error!r}"
            for category in (row["category"], "all (own)" if row["category"] != "shared" else ""):
                if category:
                    scores[label][category][0] += right
                    scores[label][category][1] += 1
            if not right:
                misses.append(f"{label:8s} {row['category']:16s} {row['input']!r} -> {got!r}")
    categories = list(dict.fromkeys(row["category"] for row in rows if row["category"] != "shared"))
    labels = list(scores)
    print(f"{'category':18s}" + "".join(f"{label:>14s}" for label in labels))
    for category in categories + ["all (own)", "shared"]:
        cells = [scores[label][category] for label in labels]
        print(f"{category:18s}" + "".join(f"{right:>8d}/{total:<5d}" for right, total in cells))
    if args.show_misses:
        print("\n".join(misses))


if __name__ == "__main__":
    main()
