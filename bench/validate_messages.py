"""Full non-DNS validation of 1 KB messages, on one core: messages per second.

    .venv/bin/python bench/validate_messages.py [--messages 20000] [--mix clean|messy|both]

Every rule except the DNS one runs (recipient_domain needs the network; see
bench/dns_batch.py), the batch rules (duplicates, suppression) included. Two mixes
(bench/_messages.py): clean (one text in ten keeps the company's legal form) and messy, as a
CRM export (every company has a legal form, one text in three keeps it). Baseline, measured in
the same run: the same suite with the legal-form scan done by the regex alternation alone
(what the foundation shipped). Target: >= 20,000 messages/s on each mix.

Rates are wall-clock; the CPU time of this process is printed beside them, since on a machine
shared with other work the wall clock also counts the time the process waited for a core.
"""

import argparse
import re
import time

import _setup
from _messages import messages
from apps.pipeline.worker import settle_heap_for_one_job
from apps.validation.checks import legal_forms
from apps.validation.suite import BatchChecks, CheckPlan


def validate_all(batch, rules) -> tuple[float, float, int]:
    """(wall-clock seconds, CPU seconds of this process, messages flagged)"""
    started, cpu_started = time.perf_counter(), time.process_time()
    check, batch_checks = CheckPlan(rules, resolver=None), BatchChecks(rules)
    flagged = 0
    for number, fields in enumerate(batch):
        findings = check(fields)
        findings += batch_checks.findings(fields.email, f"message {number}", set())
        flagged += bool(findings)
    return time.perf_counter() - started, time.process_time() - cpu_started, flagged


TARGET = 20000


def measure(mix: str, count: int, rules) -> None:
    batch = messages(count, messy=mix == "messy")
    size = sum(len(m.subject) + len(m.body) for m in batch) / len(batch)
    print(f"{mix} mix: {len(batch):,} messages of {size:,.0f} characters (subject + body), "
          f"{len(rules)} rules")

    validate_all(batch[:500], rules)  # warm the caches the way a running worker has them
    # The collector as it is where batches are validated: an RQ work-horse (and `manage.py
    # validate`) freezes what start-up made and collects seldom. With Python's defaults, the
    # figure moved by ~15 % with whatever ran before (a full collection or two more over the
    # process's ~170,000 objects), not with the checks.
    settle_heap_for_one_job()
    elapsed, cpu, flagged = validate_all(batch, rules)
    rate = len(batch) / elapsed
    print(f"  suite:    {rate:10,.0f} messages/s  ({flagged:,} flagged; "
          f"{len(batch) / cpu:,.0f}/s of CPU time)")

    find = legal_forms.find_legal_forms

    def by_the_alternation(text: str, *, fast: bool = True) -> list[re.Match]:
        return find(text, fast=False)

    legal_forms.find_legal_forms = by_the_alternation
    # The baseline is slow (every position tries every one of ~1,500 terms): a sample tells.
    sample = batch[: max(20, len(batch) // 1000)]
    base_elapsed, base_cpu, _ = validate_all(sample, rules)
    legal_forms.find_legal_forms = find
    base_rate = len(sample) / base_elapsed
    print(f"  baseline: {base_rate:10,.0f} messages/s  (regex alternation for legal forms, "
          f"{len(sample):,}-message sample; {len(sample) / base_cpu:,.0f}/s of CPU time)")
    print(f"  ratio:    {rate / base_rate:10.1f}x   target: >= {TARGET:,} messages/s "
          f"({'met' if rate >= TARGET else 'NOT met'})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--mix", choices=("clean", "messy", "both"), default="both")
    args = parser.parse_args()
    rules = [r for r in _setup.seeded_rules() if r.code != "recipient_domain"]
    for mix in ("clean", "messy") if args.mix == "both" else (args.mix,):
        measure(mix, args.messages, rules)


if __name__ == "__main__":
    main()
