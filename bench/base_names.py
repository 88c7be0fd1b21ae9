"""Base names of real company names: throughput and accuracy against cleanco and rigour.

    .venv/bin/pip install -e '.[bench]'      # cleanco 2.3 and rigour, for the baselines
    .venv/bin/python bench/base_names.py [--names 100000]

The 1,320 names of tests/data/sec_foreign_issuers_2002.csv, repeated to --names. Baselines, in
the same run: cleanco.basename and rigour.names.remove_org_types. base_name keeps an LRU cache
(a batch repeats company names: many prospects per company), so it is timed twice: as it runs
(cached) and with the cache bypassed (every name computed). Accuracy: the company_name rows of
tests/data/validator_cases.csv, compared after trimming spaces and commas at the ends.
"""

import argparse
import csv
import time

from _messages import company_rows
from _setup import ROOT

from apps.validation.checks.legal_forms import base_name


def baselines():
    from cleanco import basename
    from rigour.names import remove_org_types

    return {"cleanco 2.3 basename": basename, "rigour remove_org_types": remove_org_types}


def throughput(function, names) -> float:
    started = time.perf_counter()
    for name in names:
        function(name)
    return len(names) / (time.perf_counter() - started)


def accuracy(function) -> tuple[int, int, list[str]]:
    path = ROOT / "tests" / "data" / "validator_cases.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        cases = [row for row in csv.DictReader(handle) if row["kind"] == "company_name"]
    wrong = []
    for row in cases:
        got = " ".join(function(row["input"]).split()).strip(" ,")
        if got != row["expected"]:
            wrong.append(f"{row['input']!r} -> {got!r}")
    return len(cases) - len(wrong), len(cases), wrong


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=100000)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    unique = [name for name, _ in company_rows()]
    names = (unique * (args.names // len(unique) + 1))[: args.names]
    print(f"{len(names):,} names ({len(unique):,} unique)")

    base_name.cache_clear()
    contenders = {
        "ours base_name (cached)": base_name,
        "ours base_name (uncached)": base_name.__wrapped__,
        **baselines(),
    }
    rates = {}
    for label, function in contenders.items():
        rates[label] = throughput(function, names)
        right, total, wrong = accuracy(function)
        print(f"{label:28s} {rates[label]:12,.0f} names/s   accuracy {right}/{total}")
        if args.show_misses:
            for miss in wrong:
                print(f"{'':30s}{miss}")
    for ours in ("ours base_name (cached)", "ours base_name (uncached)"):
        for other in baselines():
            print(f"ratio {ours} / {other}: {rates[ours] / rates[other]:.2f}x")


if __name__ == "__main__":
    main()
