"""Base names of real company names: throughput and accuracy against cleanco and rigour.

    .venv/bin/pip install -e '.[bench]'      # cleanco 2.3 and rigour, for the baselines
    .venv/bin/python bench/base_names.py [--names 100000]

The 1,320 names of tests/data/sec_foreign_issuers_2002.csv, repeated to --names. Baselines, in
the same run: cleanco.basename and rigour.names.remove_org_types. Accuracy: the company_name rows
of tests/data/validator_cases.csv, compared after trimming spaces and commas at the ends.

Caches, so that like is compared with like: base_name keeps an LRU cache (a batch repeats
company names: many prospects per company). rigour 2.6 keeps none per name: remove_org_types
(rigour/names/org_types.py) calls rigour._core.remove_org_types straight, and the Rust side
caches only the compiled matcher, once per (kind, flags, cleanup) (REPLACER_CACHE in
rust/src/names/org_types.rs); unique names run as fast as repeated ones. cleanco caches nothing
per name either. So every name computed: ours uncached against the baselines as they are; and
both cached: ours against rigour behind the same LRU cache.
"""

import argparse
import csv
import time
from functools import lru_cache

from _messages import company_rows
from _setup import ROOT
from apps.validation.checks import legal_forms
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
    rigour = baselines()["rigour remove_org_types"]
    contenders = {
        "ours base_name (uncached)": base_name.__wrapped__,
        **baselines(),
        "ours base_name (cached)": base_name,
        "rigour (same LRU cache)": lru_cache(maxsize=base_name.cache_info().maxsize)(rigour),
    }
    rates = {}
    kept_length = legal_forms.SHORT_TEXT
    for label, function in contenders.items():
        # Uncached means every name scanned anew: the scans kept for short texts are off too.
        legal_forms.SHORT_TEXT = -1 if "uncached" in label else kept_length
        # One pass over the unique names first, untimed: each compiles what it compiles once
        # (ours its terms' regexes on first use, rigour its matcher); the caches start empty.
        for name in unique:
            function(name)
        if hasattr(function, "cache_clear"):
            function.cache_clear()
        legal_forms._kept_candidate_starts.cache_clear()
        rates[label] = throughput(function, names)
        right, total, wrong = accuracy(function)
        print(f"{label:28s} {rates[label]:12,.0f} names/s   accuracy {right}/{total}")
        if args.show_misses:
            for miss in wrong:
                print(f"{'':30s}{miss}")
    pairs = [("ours base_name (uncached)", other) for other in baselines()]
    pairs.append(("ours base_name (cached)", "rigour (same LRU cache)"))
    for ours, other in pairs:
        print(f"ratio {ours} / {other}: {rates[ours] / rates[other]:.2f}x")


if __name__ == "__main__":
    main()
