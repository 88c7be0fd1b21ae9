"""`import_prospects CLIENT FILE.csv`: the same service as the admin upload."""

import pytest
from django.core.management import CommandError, call_command

from apps.core.models import Prospect
from tests.generation.conftest import prospect_rows, to_csv

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    import io

    out = io.StringIO()
    call_command("import_prospects", *args, stdout=out)
    return out.getvalue()


def test_imports_a_file_and_again_adds_nothing(acme_client, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_bytes(to_csv(prospect_rows(30), delimiter=";", bom=True))
    assert "30 imported" in run("Acme Outreach", str(path))
    assert "0 imported, 30 already there" in run(str(acme_client.pk), str(path))
    assert Prospect.objects.filter(client=acme_client).count() == 30


def test_tag_names_the_prospects_the_import_added(acme_client, tmp_path):
    path = tmp_path / "crm.csv"
    path.write_bytes(to_csv(prospect_rows(5)))
    run("Acme Outreach", str(path), "--tag", "spring fair")
    tagged = Prospect.objects.filter(client=acme_client, tags__name="spring fair")
    assert tagged.count() == 5
    refused = tmp_path / "bad.csv"
    refused.write_bytes(to_csv([["Email"], ["nope"]]))
    with pytest.raises(CommandError):
        run("Acme Outreach", str(refused), "--tag", "refused")
    assert not Prospect.objects.filter(tags__name="refused").exists()


def test_bad_rows_refuse_the_file_unless_valid_rows(acme_client, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(to_csv([["Email", "Company"], ["ok@initech.com", "Initech"], ["nope", "X"]]))
    with pytest.raises(CommandError, match="Nothing was imported"):
        run("Acme Outreach", str(path))
    assert not Prospect.objects.exists()
    out = run("Acme Outreach", str(path), "--valid-rows")
    assert "row 3, Email:" in out and "1 imported" in out
    assert list(Prospect.objects.values_list("email", flat=True)) == ["ok@initech.com"]


def test_mapping_and_unknown_client(acme_client, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Contact,Firm\r\nann@initech.com,Initech\r\n")
    with pytest.raises(CommandError, match="No column is mapped to email"):
        run("Acme Outreach", str(path))
    run("Acme Outreach", str(path), "--map", "Contact=email", "--map", "Firm=company")
    assert Prospect.objects.get().company == "Initech"
    with pytest.raises(CommandError, match="no client with that name or id"):
        run("Nobody", str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        run("Acme Outreach", str(tmp_path / "missing.csv"))
