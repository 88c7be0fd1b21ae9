"""Operators in the admin: upload a prospect file, confirm the columns, read the report and
download it; preview a message for a prospect; watch a batch's progress. Reviewers watch only."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.models import Prospect
from apps.generation.models import ProspectImport, WriterConfig
from tests.generation.conftest import make_prospects, prospect_rows, to_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # pending uploads are kept under VAR_DIR/uploads


def upload(client, acme_client, data: bytes, **extra):
    file = io.BytesIO(data)
    file.name = "crm.csv"
    return client.post(reverse("admin:generation_prospectimport_add"),
                       {"client": acme_client.pk, "file": file, "mode": "all_or_nothing", **extra})


def test_upload_map_columns_and_read_the_report(client, oscar, acme_client, generation_perms):
    client.force_login(oscar)
    rows = prospect_rows(3) + [["m@mueller.de", "Jörg", "Müller", "Müller GmbH", "DE"],
                               ["=cmd|' /C calc'!A0", "Eve", "X", "Evil", "US"]]
    response = upload(client, acme_client, to_csv(rows, delimiter=";", encoding="cp1252"),
                      encoding="cp1252")
    assert response.status_code == 302
    mapping_page = client.get(response["Location"])
    page = mapping_page.content.decode()
    assert "read as cp1252" in page and "360Networks Inc." in page
    form = mapping_page.context["form"]
    assert [form[f"col_{i}"].initial for i in range(5)] == [
        "email", "first_name", "last_name", "company", "custom:country",
    ]
    assert not Prospect.objects.exists()  # nothing until the operator confirms

    posted = {f"col_{i}": form[f"col_{i}"].initial for i in range(5)}
    posted["col_4"] = ""  # the operator drops the country column
    done = client.post(reverse("admin:generation_prospectimport_mapping"), posted)

    report = ProspectImport.objects.get()
    assert done.status_code == 302 and done["Location"].endswith(f"/{report.pk}/change/")
    assert (report.outcome, report.rows_with_errors, report.created_by) == ("refused", 1, oscar)
    shown = client.get(done["Location"])
    detail = shown.content.decode()
    # A refused import is an error (a red banner), not a success.
    assert [m.level_tag for m in shown.context["messages"]] == ["error"]
    assert '<li class="error">Import' in detail
    assert "<td>6</td><td>E-mail</td><td>bad_address</td>" in detail
    assert "<td><code>=cmd|&#x27; /C calc&#x27;!A0</code></td>" in detail  # shown escaped
    exported = client.get(reverse("admin:generation_prospectimport_report", args=[report.pk]))
    cells = list(csv.reader(io.StringIO(exported.content.decode())))
    assert cells[1][:3] == ["6", "E-mail", "bad_address"]  # the header is row 1
    assert cells[1][4].startswith("'=")
    assert not Prospect.objects.exists()


def test_an_unreadable_file_is_refused_at_the_first_step(
    client, oscar, acme_client, generation_perms
):
    client.force_login(oscar)
    response = upload(client, acme_client, b"Email\r\n\x81\x8d\r\n")
    assert response.status_code == 200
    assert "The file is not UTF-8" in response.content.decode()


def test_valid_rows_mode_from_the_admin(client, oscar, acme_client, generation_perms):
    client.force_login(oscar)
    rows = prospect_rows(3) + [["broken", "A", "B", "C", "D"]]
    upload(client, acme_client, to_csv(rows), mode="valid_rows")
    posted = {"col_0": "email", "col_1": "first_name", "col_2": "last_name", "col_3": "company",
              "col_4": "custom:country"}
    client.post(reverse("admin:generation_prospectimport_mapping"), posted)
    assert Prospect.objects.count() == 3
    assert Prospect.objects.first().custom_fields["country"]


def test_an_unconfirmed_upload_is_replaced_not_kept(
    client, oscar, acme_client, generation_perms, tmp_path
):
    client.force_login(oscar)
    upload(client, acme_client, to_csv(prospect_rows(2)))
    upload(client, acme_client, to_csv(prospect_rows(3)))
    assert len(list((tmp_path / "uploads").iterdir())) == 1
    client.post(reverse("admin:generation_prospectimport_mapping"),
                {"col_0": "email", "col_1": "first_name", "col_2": "last_name", "col_3": "company",
                 "col_4": ""})
    assert Prospect.objects.count() == 3
    assert not list((tmp_path / "uploads").iterdir())


def test_a_reviewer_cannot_import(client, rita, acme_client, generation_perms):
    client.force_login(rita)
    assert upload(client, acme_client, to_csv(prospect_rows(2))).status_code == 403
    assert client.get(reverse("admin:generation_prospectimport_mapping")).status_code == 403


def test_preview_renders_escaped_with_findings(
    client, oscar, acme_campaign, acme_client, generation_perms
):
    prospect = Prospect.objects.create(client=acme_client, email="peter@initech.com",
                                       first_name="<script>x</script>", company="Initech Inc.")
    client.force_login(oscar)
    page = client.get(reverse("admin:generation_preview"),
                      {"campaign": acme_campaign.pk, "prospect": prospect.email})
    html = page.content.decode()
    assert "A question for &lt;script&gt;x&lt;/script&gt;" in html
    assert "<script>x</script>" not in html
    assert "legal_form" in html  # "would Initech Inc. like fewer bounces?"
    other = client.get(reverse("admin:generation_preview"),
                       {"campaign": acme_campaign.pk, "prospect": "nobody@x.com"})
    assert "has no such prospect" in other.content.decode()


def test_writer_settings_refuse_a_stored_key(client, oscar, acme_campaign, generation_perms):
    client.force_login(oscar)
    url = reverse("admin:generation_writerconfig_add")
    response = client.post(
        url,
        {
            "campaign": acme_campaign.pk,
            "writer": "chat_completions",
            "settings": '{"url": "http://127.0.0.1:1/v1", "model": "m", "api_key": "sk-1"}',
        },
    )
    assert response.status_code == 200 and "never store a key" in response.content.decode()
    assert not WriterConfig.objects.exists()
    client.post(
        url,
        {
            "campaign": acme_campaign.pk,
            "writer": "chat_completions",
            "settings": '{"url": "http://127.0.0.1:1/v1", "model": "m", "api_key_env": "LLM_KEY"}',
        },
    )
    assert WriterConfig.objects.get().settings["api_key_env"] == "LLM_KEY"


def test_progress_list_shows_writer_and_done_over_total(
    client, rita, acme_client, acme_campaign, oscar, generation_perms, small_chunks,
    django_capture_on_commit_callbacks,
):
    from apps.generation.models import GenerationChunk
    from apps.generation.services import batch_start, chunk_generate

    with django_capture_on_commit_callbacks(execute=False):
        batches = [
            batch_start(
                campaign=acme_campaign,
                prospects=make_prospects(acme_client, 8, f"d{n}.com"),
                actor=oscar,
            )
            for n in range(3)
        ]
    chunk_generate(chunk_id=GenerationChunk.objects.filter(batch=batches[0]).order_by("index").first().pk)
    client.force_login(rita)
    url = reverse("admin:generation_batchgeneration_changelist")
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url).content.decode()
    assert "3/8 written, 0/8 validated" in html
    assert html.count("0/8 written") == 2
    assert "template" in html
    few = len(queries)
    with django_capture_on_commit_callbacks(execute=False):
        batch_start(
            campaign=acme_campaign, prospects=make_prospects(acme_client, 4, "d9.com"), actor=oscar
        )
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    assert len(queries) == few  # no query per row
