"""Issue 13: `manage.py validate` on a NUL in a cell, a UTF-16 file and a Shift-JIS file: a
finding or a clear error naming the encoding, never a traceback or a misleading message."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

ROWS = "email,first_name,body\njo@initech.com,Jo,Hi Jo\nann@hooli.com,花子,こんにちは\n"


def validate(path, *args) -> list[dict]:
    out = io.StringIO()
    call_command("validate", str(path), "--no-dns", *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_nul_in_a_cell_is_a_finding_on_its_row(tmp_path):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"email,first_name,body\njo@initech.com,J\x00o,Hi\nann@hooli.com,Ann,Hi\n"
                     b"b\x00b@hooli.com,Bob,Hi\n")  # the address goes to the suppression query
    first, second, third = validate(path)
    assert first["verdict"] == "review"
    assert ("input.encoding", "first_name", 1) in {
        (f["code"], f["field"], f["start"]) for f in first["findings"]
    }
    assert second["verdict"] == "pass"
    assert "input.encoding" in {f["code"] for f in third["findings"] if f["field"] == "email"}


def test_utf16_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes(ROWS.encode("utf-16"))
    lines = validate(path)
    assert [line["verdict"] for line in lines] == ["pass", "pass"]


def test_utf16_without_a_byte_order_mark_is_named(tmp_path):
    path = tmp_path / "u16le.csv"
    path.write_bytes(ROWS.encode("utf-16-le"))
    with pytest.raises(CommandError, match="looks like UTF-16 without a byte-order mark"):
        validate(path)
    assert [line["verdict"] for line in validate(path, "--encoding", "utf-16-le")] == [
        "pass",
        "pass",
    ]


def test_a_shift_jis_file_is_refused_naming_it_and_read_when_named(tmp_path):
    path = tmp_path / "jp.csv"
    path.write_bytes((ROWS + "taro@initech.com,太郎,よろしく\n").encode("shift_jis"))
    with pytest.raises(CommandError, match="is not UTF-8: 2 of its 4 lines .* looks like cp932"):
        validate(path)
    assert [line["verdict"] for line in validate(path, "--encoding", "shift_jis")] == ["pass"] * 3
