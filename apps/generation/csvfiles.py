"""Reading the CSV files operators upload, and writing CSV that is safe to open in a
spreadsheet.

Uploads come from CRMs and Excel: UTF-8 with or without a byte-order mark, UTF-16 with one
("Unicode text"), or Windows-1252 ("CSV" on a western Windows). Anything else is refused with
a clear message rather than read as mojibake.
"""

import codecs
import csv
import io
from collections.abc import Iterable

DELIMITERS = (",", ";", "\t", "|")
# A spreadsheet treats a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class UnreadableFile(ValueError):
    """The upload cannot be read as text: the message says why, fit for the operator."""


def decode_upload(data: bytes) -> tuple[str, str]:
    """The file's text and the name of the encoding it was read in."""
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8):], "utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16"), "utf-16"
    if b"\x00" in data[:4096]:
        raise UnreadableFile(
            "The file contains NUL bytes: it looks like UTF-16 without a byte-order mark. "
            "Save it again as 'CSV UTF-8' or 'Unicode text'."
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"The file is neither UTF-8 nor Windows-1252 (byte 0x{data[exc.start]:02x} at "
            f"position {exc.start}). Save it again as 'CSV UTF-8'."
        ) from None


def _decode(data: bytes, encoding: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"The file says it is {encoding.upper()} but byte {exc.start} is not: "
            "it is damaged or mislabelled."
        ) from None


def guess_delimiter(text: str) -> str:
    """The delimiter that occurs most in the header line (a comma when there is none)."""
    header = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def read_rows(text: str, delimiter: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UnreadableFile(f"The file is not valid CSV: {exc}") from None


def safe_cell(value) -> str:
    """A cell as text that a spreadsheet shows instead of evaluating: a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    """CSV text with every cell neutralised; use this for every CSV the product exports."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return out.getvalue()
