"""Reading a prospect file: which column is which, and what is wrong with which row.

Pure functions, no database: `inspect_upload` proposes a column mapping for the operator to
confirm, `check_rows` turns the rows into prospects to create and row-level problems. The
service that stores the outcome is apps/generation/prospect_import.py.

A row problem is an error (the row cannot be imported) or a warning (`not_a_name`: a formula,
markup or a link in a name column): the row could be imported, and is only when the operator
confirms it; the `personal_value` validator then blocks its messages.
"""

import re
from dataclasses import dataclass, field

from django.db import models

from apps.core.models import Prospect
from apps.generation.csvfiles import UnreadableFile, decode_upload, guess_delimiter, read_rows
from apps.validation.checks.address_validity import parse_address
from apps.validation.checks.personal import PERSONAL_FIELDS, not_a_name

STANDARD_FIELDS = ("email", "first_name", "last_name", "company", "title")
CUSTOM_PREFIX = "custom:"

# Header names as CRMs and spreadsheets spell them, compared with everything but letters and
# digits removed ("E-mail Address" -> "emailaddress").
HEADER_SYNONYMS = {
    "email": ["email", "e-mail", "email address", "e-mail address", "email_address", "mail",
              "work email", "business email", "email 1", "primary email"],
    "first_name": ["first name", "first_name", "firstname", "given name", "forename", "first"],
    "last_name": ["last name", "last_name", "lastname", "surname", "family name", "last"],
    "company": ["company", "company name", "organization", "organisation", "organization name",
                "account name", "account", "employer", "business name"],
    "title": ["title", "job title", "position", "role", "job role"],
}


def _header_key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


_FIELD_BY_KEY = {_header_key(s): f for f, synonyms in HEADER_SYNONYMS.items() for s in synonyms}


def custom_key(header: str) -> str:
    """A column nobody recognised becomes a custom field a template can name: custom.<key>."""
    key = re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")
    if not key or key[0].isdigit():
        key = "col_" + key
    return key


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """header -> "email" | "first_name" | … | "custom:<key>"; the first column that claims a
    standard field gets it, a later one with the same meaning becomes a custom field."""
    mapping, taken = {}, set()
    for header in headers:
        target = _FIELD_BY_KEY.get(_header_key(header))
        if target and target not in taken:
            taken.add(target)
            mapping[header] = target
        elif header.strip():
            mapping[header] = CUSTOM_PREFIX + custom_key(header)
        else:
            mapping[header] = ""
    return mapping


@dataclass
class Upload:
    encoding: str
    delimiter: str
    headers: list[str]
    rows: list[list[str]]  # the data rows, header excluded
    mapping: dict[str, str]


def inspect_upload(data: bytes, encoding: str = "") -> Upload:
    """Decode (in `encoding` when the operator named one), split and propose a mapping;
    raises UnreadableFile for a file-level problem."""
    text, encoding = decode_upload(data, encoding)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise UnreadableFile(
            f"The file contains a NUL byte (line {line}): it is damaged or not a text file."
        )
    delimiter = guess_delimiter(text)
    rows = read_rows(text, delimiter)
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise UnreadableFile("The file is empty: the first row must name the columns.")
    headers = [cell.strip() for cell in rows[0]]
    if len(set(headers)) != len(headers):
        twice = sorted({h for h in headers if headers.count(h) > 1})
        raise UnreadableFile(f"Two columns have the same name: {', '.join(twice)}.")
    return Upload(encoding, delimiter, headers, rows[1:], guess_mapping(headers))


def check_mapping(mapping: dict[str, str], headers: list[str]) -> list[str]:
    """What is wrong with a mapping (empty when it can be used)."""
    problems = []
    targets = [t for h, t in mapping.items() if h in headers and t]
    if "email" not in targets:
        problems.append("No column is mapped to email: tell which column holds the address.")
    for target in sorted(set(targets)):
        if targets.count(target) > 1:
            problems.append(f"Several columns are mapped to {target}.")
    for target in targets:
        if target.startswith(CUSTOM_PREFIX):
            if not re.fullmatch(r"[a-z_][a-z0-9_]*", target[len(CUSTOM_PREFIX):]):
                problems.append(
                    f"{target!r}: a custom field name is lower-case letters, digits, _."
                )
        elif target not in STANDARD_FIELDS:
            problems.append(f"{target!r} is not a prospect field.")
    return problems


@dataclass(frozen=True)
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str  # the header as in the file; "" for the whole row
    code: str  # missing, bad_address, duplicate, suppressed, too_long, extra_cells, not_a_name
    message: str
    value: str = ""
    warning: bool = False  # the operator may confirm the row anyway (WARNING_CODES)


WARNING_CODES = ("not_a_name",)


@dataclass
class CheckedRows:
    prospects: list[dict] = field(default_factory=list)  # field -> value, email normalised
    rows_of_prospects: list[int] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # warnings included (e.warning)
    # Rows whose only problems are warnings: imported only when the operator confirms them.
    warned_prospects: list[dict] = field(default_factory=list)
    rows_of_warned: list[int] = field(default_factory=list)
    rows_total: int = 0
    rows_existing: int = 0

    @property
    def rows_with_errors(self) -> int:
        return len({e.row for e in self.errors if not e.warning})

    @property
    def rows_with_warnings(self) -> int:
        return len(self.rows_of_warned)

    def warnings(self) -> list[RowError]:
        """The warnings of the rows the operator decides on (not those of rows with errors)."""
        warned = set(self.rows_of_warned)
        return [e for e in self.errors if e.warning and e.row in warned]


def _max_length(name: str) -> int:
    field = Prospect._meta.get_field(name)
    if not isinstance(field, models.Field) or field.max_length is None:
        raise ValueError(f"Prospect.{name} has no maximum length.")
    return field.max_length


MAX_LENGTH = {f: _max_length(f) for f in STANDARD_FIELDS}


CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _clean(value: str) -> str:
    # CRM exports carry stray spaces, tabs and line breaks inside cells.
    return " ".join(value.split())


def check_rows(
    upload: Upload,
    mapping: dict[str, str],
    *,
    required: tuple[str, ...] = ("email",),
    existing: set[str],
    suppressed: set[str],
) -> CheckedRows:
    """Every row checked; `existing` and `suppressed` are lower-cased addresses."""
    result = CheckedRows()
    column_of = {t: h for h, t in mapping.items() if t}
    index_of = {h: i for i, h in enumerate(upload.headers)}
    first_row_of: dict[str, int] = {}
    for offset, cells in enumerate(upload.rows):
        row = offset + 2
        if not any(cell.strip() for cell in cells):
            continue  # blank lines at the end of an export are not rows
        result.rows_total += 1
        errors = []
        if len(cells) > len(upload.headers):
            errors.append(RowError(row, "", "extra_cells",
                                   f"The row has {len(cells)} cells; the header has "
                                   f"{len(upload.headers)} columns (a stray delimiter?)."))
        values = {}
        for target, header in column_of.items():
            index = index_of[header]
            values[target] = _clean(cells[index]) if index < len(cells) else ""
        for target in required:
            if target in column_of and not values.get(target):
                errors.append(RowError(row, column_of[target], "missing",
                                       f"{column_of[target]} is empty; it is required."))
        for name in STANDARD_FIELDS:
            if len(values.get(name, "")) > MAX_LENGTH[name]:
                errors.append(RowError(row, column_of[name], "too_long",
                                       f"Longer than {MAX_LENGTH[name]} characters.",
                                       values[name][:300]))
        # A NUL (or another control character) cannot be stored and is never meant.
        for target, value in values.items():
            if target not in PERSONAL_FIELDS and CONTROL_CHARS.search(value):
                errors.append(RowError(row, column_of[target], "control_character",
                                       "The value contains a control character (a NUL byte?).",
                                       CONTROL_CHARS.sub("\ufffd", value)[:300]))
        # A formula, markup or a link in a name column would be written into the greeting.
        for name in PERSONAL_FIELDS:
            reason = not_a_name(values.get(name, ""))
            if reason:
                errors.append(RowError(row, column_of[name], "not_a_name",
                                       f"The value {reason}; it is not a name.",
                                       CONTROL_CHARS.sub("\ufffd", values[name])[:300],
                                       warning=True))
        email = values.get("email", "")
        if email:
            email, email_errors = _check_email(email, row, column_of["email"], first_row_of,
                                               existing, suppressed)
            errors += email_errors
            if email and not email_errors:
                first_row_of.setdefault(email.lower(), row)
        result.errors += errors
        if any(not e.warning for e in errors):
            continue
        if email.lower() in existing:
            result.rows_existing += 1
        elif errors:
            result.warned_prospects.append(_prospect_fields(values, email))
            result.rows_of_warned.append(row)
        else:
            result.prospects.append(_prospect_fields(values, email))
            result.rows_of_prospects.append(row)
    return result


# RFC 5321 allows { } | % * in an address; in a CRM export they are a merge tag nobody filled
# ({{first_name}}, *|FNAME|*, %EMAIL%), and email-validator accepts them.
PLACEHOLDER_IN_ADDRESS = re.compile(r"\{\{|\}\}|\*\||\|\*|%\w+%|\[\w[\w ]*\]")


def _check_email(raw, row, column, first_row_of, existing, suppressed):
    try:
        email = parse_address(raw).address
        if PLACEHOLDER_IN_ADDRESS.search(email):
            raise ValueError("The address contains a merge tag nobody filled in.")
    except ValueError as exc:
        return "", [RowError(row, column, "bad_address", str(exc), raw[:300])]
    key = email.lower()
    if key in first_row_of:
        return email, [RowError(row, column, "duplicate",
                                f"The same address as row {first_row_of[key]}.", raw[:300])]
    if key in suppressed:
        return email, [RowError(row, column, "suppressed",
                                "The address is on the suppression list.", raw[:300])]
    return email, []


def _prospect_fields(values: dict[str, str], email: str) -> dict[str, object]:
    fields: dict[str, object] = {name: values.get(name, "") for name in STANDARD_FIELDS}
    fields["email"] = email
    fields["custom_fields"] = {
        target[len(CUSTOM_PREFIX):]: value
        for target, value in values.items()
        if target.startswith(CUSTOM_PREFIX)
    }
    return fields
