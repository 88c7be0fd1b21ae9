"""Issue 13: a file that is not UTF-8 is refused with the encoding it looks like (never read
as mojibake), unless the operator names the encoding; then it is read in that encoding."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from apps.core.errors import ServiceError
from apps.core.models import Prospect
from apps.generation.models import ProspectImport
from apps.generation.prospect_import import prospects_import

pytestmark = pytest.mark.django_db

JAPANESE = (
    "Email,First Name,Company\r\n"
    "taro@initech.com,太郎,株式会社テスト\r\n"
    "hanako@hooli.com,花子,トヨタ自動車\r\n"
)


def test_a_shift_jis_file_is_refused_naming_what_it_looks_like(acme_client, oscar):
    with pytest.raises(ServiceError) as refused:
        prospects_import(client=acme_client, data=JAPANESE.encode("shift_jis"),
                         file_name="jp.csv", actor=oscar)
    message = str(refused.value)
    assert "not UTF-8" in message and "it looks like cp932" in message
    assert not Prospect.objects.exists() and not ProspectImport.objects.exists()


def test_a_named_encoding_reads_the_names_as_written(acme_client, oscar):
    report = prospects_import(client=acme_client, data=JAPANESE.encode("shift_jis"),
                              file_name="jp.csv", actor=oscar, encoding="shift_jis")
    assert (report.encoding, report.rows_imported) == ("shift_jis", 2)
    assert sorted(Prospect.objects.values_list("first_name", "company")) == [
        ("太郎", "株式会社テスト"), ("花子", "トヨタ自動車"),
    ]


def test_a_wrongly_named_encoding_is_refused(acme_client, oscar):
    with pytest.raises(ServiceError, match="not utf-8 .*it looks like cp932"):
        prospects_import(client=acme_client, data=JAPANESE.encode("shift_jis"),
                         file_name="jp.csv", actor=oscar, encoding="utf-8")
    with pytest.raises(ServiceError, match="not an encoding this server knows"):
        prospects_import(client=acme_client, data=b"Email\r\n", file_name="x.csv", actor=oscar,
                         encoding="klingon")


def test_utf16_with_a_byte_order_mark_is_read(acme_client, oscar):
    report = prospects_import(client=acme_client, data=JAPANESE.encode("utf-16"),
                              file_name="jp.csv", actor=oscar)
    assert (report.encoding, report.rows_imported) == ("utf-16", 2)
    assert Prospect.objects.filter(company="株式会社テスト").exists()


def test_a_nul_byte_refuses_the_file_with_its_line(acme_client, oscar):
    data = (
        "Email,Name\r\n" + "ann@initech.com,Ann\r\n" * 300 + "bob@initech.com,B\x00b\r\n"
    ).encode()
    with pytest.raises(ServiceError, match=r"NUL byte \(line 302\)"):
        prospects_import(client=acme_client, data=data, file_name="f.csv", actor=oscar)
    assert not Prospect.objects.exists()


def test_the_command_refuses_and_accepts_a_named_encoding(acme_client, tmp_path):
    path = tmp_path / "jp.csv"
    path.write_bytes(JAPANESE.encode("shift_jis"))
    with pytest.raises(CommandError, match="it looks like cp932"):
        call_command("import_prospects", "Acme Outreach", str(path))
    out = io.StringIO()
    call_command(
        "import_prospects", "Acme Outreach", str(path), "--encoding", "shift_jis", stdout=out
    )
    assert "2 imported" in out.getvalue()


def test_the_upload_form_says_what_the_file_looks_like(
    client, oscar, acme_client, settings, tmp_path, generation_perms
):
    settings.VAR_DIR = tmp_path
    client.force_login(oscar)
    file = io.BytesIO(JAPANESE.encode("shift_jis"))
    file.name = "jp.csv"
    url = reverse("admin:generation_prospectimport_add")
    response = client.post(url, {"client": acme_client.pk, "file": file, "mode": "all_or_nothing"})
    assert response.status_code == 200
    assert "it looks like cp932" in response.content.decode()

    file.seek(0)
    response = client.post(url, {"client": acme_client.pk, "file": file, "mode": "all_or_nothing",
                                 "encoding": "shift_jis"})
    assert response.status_code == 302
    mapping = client.get(response["Location"]).content.decode()
    assert "株式会社テスト" in mapping

