"""`manage.py validate` as a whole process over a CRM export, against a plain loop.

    .venv/bin/pip install -e '.[bench]'      # cleanco, for the baseline
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbound_bench \
    REDIS_URL=redis://127.0.0.1:6379/9 .venv/bin/python bench/validate_command.py [--rows 20000]

The rows: the messy mix of bench/_messages.py (every company with a legal form, one text in
three keeps it), as a CSV with the validate command's columns. Measured, each as a whole
process (interpreter start-up, imports and reading the file included), alternating, --runs
times each, medians:

- ours: `manage.py validate ROWS.csv --no-dns`, every rule but DNS, one JSON line per row
  written to a file;
- baseline: bench/plain_validate_loop.py, a plain loop of cleanco's `basename` over each
  company and email-validator's syntax check over each address (far less than the command
  checks, and it writes nothing).

Both start from byte-compiled modules (the script compiles the project's first, as pip did
the baseline's). Ratio: the baseline's seconds over ours (above 1: ours is faster). Target:
>= 1.0x. The ratio of CPU seconds is printed beside it: on a machine shared with other work the
wall clock also counts the time each process waited for a core.
"""

import argparse
import compileall
import csv
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, setup_django

TARGET = 1.0
COLUMNS = ("email", "first_name", "last_name", "company", "subject", "body")


def write_rows(path: str, count: int) -> None:
    from _messages import messages

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for fields in messages(count, messy=True):
            writer.writerow([getattr(fields, column) for column in COLUMNS])


def timed(command: list[str], output: str) -> tuple[float, float]:
    """(wall-clock seconds, CPU seconds) of one process run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(output, "w") as out:
        subprocess.run(command, cwd=ROOT, stdout=out, check=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    setup_django()  # migrates the benchmark database: the command reads the rules from it
    # Both sides start from byte-compiled modules, as a deployment does: pip compiled the
    # baseline's (site-packages), but an editable install leaves the project's as source, and
    # where PYTHONDONTWRITEBYTECODE is set (this machine) every process compiled them again.
    for package in ("apps", "config", "bench"):
        compileall.compile_dir(ROOT / package, quiet=1)

    with tempfile.TemporaryDirectory() as directory:
        rows, output = os.path.join(directory, "rows.csv"), os.path.join(directory, "out")
        write_rows(rows, args.rows)
        ours = [sys.executable, "manage.py", "validate", rows, "--no-dns"]
        baseline = [sys.executable, str(ROOT / "bench" / "plain_validate_loop.py"), rows]
        results: dict[str, list[tuple[float, float]]] = {"ours": [], "baseline": []}
        for _ in range(args.runs):
            results["ours"].append(timed(ours, output))
            with open(output) as lines:
                written = sum(1 for _ in lines)
            assert written == args.rows, f"validate wrote {written} lines for {args.rows} rows"
            results["baseline"].append(timed(baseline, output))
            with open(output) as printed:
                loop_seconds = float(printed.read().split()[2])

    print(f"{args.rows:,} rows (messy mix), {args.runs} runs each, medians")
    medians, cpu_medians = {}, {}
    for label, runs in results.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        medians[label], cpu_medians[label] = wall, cpu
        print(f"  {label:9} {wall:6.2f} s  ({args.rows / wall:,.0f} rows/s; CPU {cpu:.2f} s; "
              f"runs {' / '.join(f'{w:.2f}' for w, _ in runs)})")
    print(f"  (the baseline's loop alone, last run: {loop_seconds:.2f} s)")
    ratio = medians["baseline"] / medians["ours"]
    print(f"  ratio     {ratio:6.2f}x  target: >= {TARGET}x "
          f"({'met' if ratio >= TARGET else 'NOT met'}); by CPU time "
          f"{cpu_medians['baseline'] / cpu_medians['ours']:.2f}x")


if __name__ == "__main__":
    main()
