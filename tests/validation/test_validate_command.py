"""manage.py validate: the JSON-lines contract other tools read."""

import dataclasses
import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.validation.checks.base import CheckFinding

from .helpers import apply_suggestions

FINDING_KEYS = {"code", "severity", "field", "start", "end", "message", "suggestion"}
HEADER = "email,first_name,last_name,company,subject,body\n"


def write(tmp_path, text: str | bytes, name="messages.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def validate(path, *args) -> list[dict]:
    out = StringIO()
    call_command("validate", str(path), *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.django_db
def test_one_json_line_per_row_in_order_with_exact_keys(tmp_path):
    path = write(
        tmp_path,
        HEADER
        + 'jo@acme.com,Jo,Doe,Acme Inc.,Quick question,"Hi Acme Inc. team, how are you?"\n'
        + "{{email}},Jo,Doe,Acme,Hello,Hi Jo\n"
        + "jo@acme.com,Jo,Doe,Acme,Hello,Hi Jo\n",
    )

    lines = validate(path, "--no-dns")

    assert [(line["row"], line["verdict"]) for line in lines] == [
        (1, "block"),
        (2, "block"),
        (3, "pass"),
    ]
    assert all(set(line) == {"row", "verdict", "findings"} for line in lines)
    assert all(set(f) == FINDING_KEYS for line in lines for f in line["findings"])
    assert lines[2]["findings"] == []


@pytest.mark.django_db
def test_offsets_point_into_the_field_and_the_suggestion_fixes_it(tmp_path):
    body = "Hi Acme Inc. team, we met at the Acme GmbH booth."
    path = write(tmp_path, f'email,company,body\njo@acme.com,Acme Inc.,"{body}"\n')

    [line] = validate(path, "--no-dns")

    flagged = [body[f["start"] : f["end"]] for f in line["findings"]]
    assert flagged == [" Inc.", " GmbH"]
    assert all(f["field"] == "body" and f["code"] == "legal_form" for f in line["findings"])

    class Finding:  # the JSON object, read the way apply_suggestions reads a CheckFinding
        def __init__(self, data):
            self.__dict__.update(data)

    fixed = apply_suggestions(body, [Finding(f) for f in line["findings"]])
    assert fixed == "Hi Acme team, we met at the Acme booth."


@pytest.mark.django_db
def test_missing_columns_are_empty_and_extra_columns_ignored(tmp_path):
    # No company, subject or names; the notes column holds a placeholder nobody sends.
    path = write(tmp_path, "\ufeffnotes,Email,body\n{{ignored}},jo@acme.com,Hi Jo\n")

    [line] = validate(path, "--no-dns")

    assert line == {"row": 1, "verdict": "pass", "findings": []}


@pytest.mark.django_db
def test_a_repeated_column_is_read_from_its_first_occurrence(tmp_path):
    path = write(tmp_path, "email,body,body\njo@acme.com,Hi Jo,Hi {{first_name}}\n")

    [line] = validate(path, "--no-dns")

    assert line == {"row": 1, "verdict": "pass", "findings": []}


@pytest.mark.django_db
def test_a_clean_row_is_written_as_json_dumps_writes_it(tmp_path):
    path = write(tmp_path, HEADER + "jo@acme.com,Jo,Doe,Acme,Hello,Hi Jo\n")
    out = StringIO()

    call_command("validate", str(path), "--no-dns", stdout=out)

    assert out.getvalue() == json.dumps({"row": 1, "verdict": "pass", "findings": []}) + "\n"


def test_the_lines_name_every_field_of_a_finding():
    # The command writes a finding's fields by name (not dataclasses.asdict): a field added to
    # CheckFinding must be added to the output, and to this contract, too.
    assert {field.name for field in dataclasses.fields(CheckFinding)} == FINDING_KEYS


@pytest.mark.django_db
def test_bad_rows_give_findings_and_the_next_rows_still_run(tmp_path):
    path = write(
        tmp_path,
        b"email,body\n"
        b"jo@acme.com\n"  # short row
        b"jo@acme.com,caf\xe9 au lait\n"  # Latin-1, not UTF-8
        b"jo@acme.com,Hi Jo\n",
    )

    lines = validate(path, "--no-dns")

    assert [line["verdict"] for line in lines] == ["review", "review", "pass"]
    assert lines[0]["findings"][0]["code"] == "input"
    [encoding] = lines[1]["findings"]
    assert (encoding["code"], encoding["field"], encoding["start"]) == ("input.encoding", "body", 3)


@pytest.mark.parametrize(
    "content, problem",
    [
        (None, "cannot read"),
        ("", "empty"),
        ("name,notes\nJo,hi\n", "none of the known columns"),
    ],
)
def test_an_unusable_file_is_a_command_error(tmp_path, content, problem):
    path = tmp_path / "messages.csv" if content is None else write(tmp_path, content)

    with pytest.raises(CommandError, match=problem):
        call_command("validate", str(path))


def test_the_error_is_one_line_on_stderr_and_a_non_zero_exit(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "validate", str(tmp_path / "missing.csv")],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode != 0
    assert result.stdout == ""
    assert result.stderr.strip().count("\n") == 0
    assert "missing.csv" in result.stderr


@pytest.mark.django_db
def test_dns_uses_the_configured_nameservers_once_per_domain(
    tmp_path, make_dns_server, settings, allow_test_tld
):
    server = make_dns_server(
        {"acme.test": {"MX": ["10 mail.acme.test."]}, "nullmx.test": {"MX": ["0 ."]}},
        drop={"silent.test"},
    )
    settings.DNS_NAMESERVERS = [server.nameserver]
    settings.DNS_TIMEOUT_SECONDS = 1
    rows = ["jo@acme.test,Hi Jo", "jo@nullmx.test,Hi Jo"] + ["x@silent.test,Hi"] * 20
    path = write(tmp_path, "email,body\n" + "\n".join(rows) + "\n")

    lines = validate(path)

    assert [line["verdict"] for line in lines[:3]] == ["pass", "block", "review"]
    assert lines[1]["findings"][0]["code"] == "recipient_domain.null_mx"
    assert {line["verdict"] for line in lines[2:]} == {"review"}
    assert len(server.queries_for("silent.test")) == 1
    assert server.queries_for("acme.test") == ["MX"]


@pytest.mark.django_db
def test_no_dns_asks_no_nameserver(tmp_path, make_dns_server, settings, allow_test_tld):
    server = make_dns_server({"nullmx.test": {"MX": ["0 ."]}})
    settings.DNS_NAMESERVERS = [server.nameserver]
    path = write(tmp_path, "email,body\njo@nullmx.test,Hi Jo\n")

    [line] = validate(path, "--no-dns")

    assert line["verdict"] == "pass"
    assert server.queries == []
