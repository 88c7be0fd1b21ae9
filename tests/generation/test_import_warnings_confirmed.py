"""Issue 13: values that are not names are warnings the operator must confirm, in the admin
(step 3 lists the rows, escaped; the import takes them only with the box ticked) and on the
command line (--accept-warnings)."""

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.core.models import Prospect
from apps.generation.models import ProspectImport
from tests.generation.conftest import to_csv

pytestmark = pytest.mark.django_db

ROWS = [
    ["Email", "First Name", "Company"],
    ["ann@initech.com", "Ann", "Initech"],
    ["bob@initech.com", "<script>alert(1)</script>", "Initech"],
    ["cid@hooli.com", "Cid", '=HYPERLINK("http://x","y")'],
]
MAPPING = {"col_0": "email", "col_1": "first_name", "col_2": "company"}


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def upload_and_map(client, acme_client, rows=ROWS):
    file = io.BytesIO(to_csv(rows))
    file.name = "crm.csv"
    client.post(reverse("admin:generation_prospectimport_add"),
                {"client": acme_client.pk, "file": file, "mode": "all_or_nothing"})
    return client.post(reverse("admin:generation_prospectimport_mapping"), MAPPING)


def test_the_warned_rows_are_listed_escaped_and_nothing_is_imported_yet(
        client, oscar, acme_client, generation_perms):
    client.force_login(oscar)
    mapped = upload_and_map(client, acme_client)
    assert mapped.status_code == 302
    assert mapped["Location"] == reverse("admin:generation_prospectimport_confirm")
    assert not Prospect.objects.exists() and not ProspectImport.objects.exists()

    page = client.get(mapped["Location"]).content.decode()
    assert (
        "<td>3</td><td>First Name</td><td><code>&lt;script&gt;alert(1)&lt;/script&gt;</code>"
        in page
    )
    assert "<script>alert(1)" not in page
    assert (
        "<td>4</td><td>Company</td><td><code>=HYPERLINK(&quot;http://x&quot;,&quot;y&quot;)</code>"
        in page
    )
    assert "Import these 2 rows anyway; the validators will block them in messages" in page


def test_without_the_box_the_warned_rows_are_left_out_and_the_report_says_so(
        client, oscar, acme_client, generation_perms):
    client.force_login(oscar)
    upload_and_map(client, acme_client)
    done = client.post(reverse("admin:generation_prospectimport_confirm"), {})
    report = ProspectImport.objects.get()
    assert done["Location"].endswith(f"/{report.pk}/change/")
    assert list(Prospect.objects.values_list("email", flat=True)) == ["ann@initech.com"]
    assert (report.rows_imported, report.rows_with_warnings, report.warnings_accepted) == (
        1,
        2,
        False,
    )
    detail = client.get(done["Location"]).content.decode()
    assert "2 rows with warnings left out (not confirmed)." in detail
    assert "Left out: the operator did not confirm it." in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>alert(1)" not in detail


def test_with_the_box_the_warned_rows_are_imported(client, oscar, acme_client, generation_perms):
    client.force_login(oscar)
    upload_and_map(client, acme_client)
    client.post(reverse("admin:generation_prospectimport_confirm"), {"accept_warnings": "on"})
    report = ProspectImport.objects.get()
    assert (report.rows_imported, report.warnings_accepted) == (3, True)
    assert Prospect.objects.get(email="bob@initech.com").first_name == "<script>alert(1)</script>"


def test_a_file_without_warnings_skips_the_step(client, oscar, acme_client, generation_perms):
    client.force_login(oscar)
    done = upload_and_map(client, acme_client, ROWS[:2])
    assert done["Location"].endswith(f"/{ProspectImport.objects.get().pk}/change/")
    assert Prospect.objects.count() == 1


def test_the_step_needs_an_upload_and_the_permission(client, oscar, rita, generation_perms):
    client.force_login(oscar)
    response = client.get(reverse("admin:generation_prospectimport_confirm"))
    assert response["Location"] == reverse("admin:generation_prospectimport_add")
    client.force_login(rita)
    assert client.get(reverse("admin:generation_prospectimport_confirm")).status_code == 403


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_prospects", *args, stdout=out)
    return out.getvalue()


def test_the_command_leaves_warned_rows_out_unless_accept_warnings(acme_client, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_bytes(to_csv(ROWS))
    out = run("Acme Outreach", str(path))
    assert "1 imported" in out and "2 rows with warnings left out" in out
    assert "row 3, First Name: warning: '<script>alert(1)</script>'" in out
    assert list(Prospect.objects.values_list("email", flat=True)) == ["ann@initech.com"]

    out = run("Acme Outreach", str(path), "--accept-warnings")
    assert "2 imported" in out and "imported (--accept-warnings)" in out
    assert Prospect.objects.count() == 3
