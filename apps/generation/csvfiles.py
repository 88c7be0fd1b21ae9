"""Reading the CSV files operators upload, and writing CSV that is safe to open in a
spreadsheet.

Uploads come from CRMs and Excel: UTF-8 with or without a byte-order mark and UTF-16 with one
("Unicode text") are read as they are; any other encoding (Windows-1252, Shift-JIS, …) only
when the operator names it. Otherwise the file is refused with the encoding charset-normalizer
detects, rather than read as mojibake.
"""

import codecs
import csv
import io
from collections.abc import Iterable

from apps.core.spreadsheets import safe_cell

DELIMITERS = (",", ";", "\t", "|")


class UnreadableFile(ValueError):
    """The upload cannot be read as text: the message says why, fit for the operator."""


# Encodings an operator may name for a file that is not UTF-8 (the upload form's choices).
NAMED_ENCODINGS = {
    "cp1252": "Windows-1252 (Excel 'CSV' on a western Windows)",
    "utf-16": "UTF-16 (Excel 'Unicode text')",
    "latin-1": "ISO-8859-1 (Latin-1)",
    "iso-8859-15": "ISO-8859-15 (Latin-9)",
    "cp1250": "Windows-1250 (central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "shift_jis": "Shift-JIS (Japanese)",
    "cp932": "Windows-31J (Japanese, Microsoft's Shift-JIS)",
    "euc-jp": "EUC-JP (Japanese)",
    "gb18030": "GB18030 (Chinese)",
    "big5": "Big5 (traditional Chinese)",
    "euc-kr": "EUC-KR (Korean)",
}


def decode_upload(data: bytes, encoding: str = "") -> tuple[str, str]:
    """The file's text and the name of the encoding it was read in.

    UTF-8 (with or without a byte-order mark) is read as it is, and so is a file whose
    byte-order mark says it is UTF-16. Anything else is refused, with the encoding it looks
    like, unless the operator names the encoding: a guess that is wrong turns every name into
    mojibake without a word (a Shift-JIS file reads "fine" as Windows-1252)."""
    if encoding:
        return _decode_named(data, encoding)
    if data.startswith(codecs.BOM_UTF8):
        return _decode(data[len(codecs.BOM_UTF8):], "utf-8"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode(data, "utf-16"), "utf-16"
    if b"\x00" in data[:4096]:
        raise UnreadableFile(
            "The file contains NUL bytes: it looks like UTF-16 without a byte-order mark. "
            "Save it again as 'CSV UTF-8' or 'Unicode text', or name its encoding (utf-16)."
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        position = exc.start
    detected = detect_encoding(data)
    looks = f"it looks like {detected}" if detected else "its encoding could not be told"
    raise UnreadableFile(
        f"The file is not UTF-8 (byte 0x{data[position]:02x} at position {position}); {looks}. "
        "Save it again as 'CSV UTF-8', or name the file's encoding to read it as such."
    )


def detect_encoding(data: bytes) -> str:
    """charset-normalizer's best guess, as a Python codec name ("" when it cannot tell)."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    return best.encoding if best is not None else ""


def _decode_named(data: bytes, encoding: str) -> tuple[str, str]:
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise UnreadableFile(f"{encoding!r} is not an encoding this server knows.") from None
    name = codec.name
    if name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        data, name = data[len(codecs.BOM_UTF8):], "utf-8-sig"
    try:
        text = data.decode(codec.name)
    except UnicodeDecodeError as exc:
        detected = detect_encoding(data)
        hint = f"; it looks like {detected}" if detected else ""
        raise UnreadableFile(
            f"The file is not {encoding} (byte 0x{data[exc.start]:02x} at position "
            f"{exc.start} cannot be read in it){hint}."
        ) from None
    return text.lstrip("\ufeff"), name


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


def write_csv(header: Iterable[str], rows: Iterable[Iterable]) -> str:
    """CSV text with every cell neutralised; use this for every CSV the product exports."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return out.getvalue()
