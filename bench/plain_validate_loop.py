"""The baseline of bench/validate_command.py, run as its own process: a plain loop of cleanco's
basename over each row's company and email-validator's syntax check over its address.

    .venv/bin/python bench/plain_validate_loop.py ROWS.csv

Prints the rows it read and the seconds its loop took (the process's start-up aside).
"""

import csv
import sys
import time

from cleanco import basename
from email_validator import EmailNotValidError, validate_email


def main(path: str) -> None:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    started = time.perf_counter()
    valid = 0
    for row in rows:
        basename(row["company"])
        try:
            validate_email(row["email"], check_deliverability=False)
        except EmailNotValidError:
            continue
        valid += 1
    print(len(rows), valid, time.perf_counter() - started)


if __name__ == "__main__":
    main(sys.argv[1])
