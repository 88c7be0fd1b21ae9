"""Prospect files built from the shared real-name file (SEC foreign issuers, 2002), whose
company names carry the legal forms real exports do ("A B Electrolux", "360Networks Inc.")."""

import csv
import re
from pathlib import Path

import pytest

SEC_FILE = Path(__file__).resolve().parents[1] / "data" / "sec_foreign_issuers_2002.csv"


def sec_companies(limit: int | None = None) -> list[tuple[str, str]]:
    with SEC_FILE.open(encoding="utf-8", newline="") as handle:
        rows = [(r["name"], r["country"]) for r in csv.DictReader(handle, delimiter=";")]
    return rows[:limit] if limit else rows


def address_for(index: int, company: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "", company.lower())[:20] or "co"
    return f"contact{index}@{slug}.com"


def prospect_rows(limit: int | None = None) -> list[list[str]]:
    """Header + one row per SEC company: E-mail, First Name, Last Name, Company, Country."""
    rows = [["E-mail", "First Name", "Last Name", "Company", "Country"]]
    for index, (company, country) in enumerate(sec_companies(limit)):
        rows.append([address_for(index, company), f"Name{index}", "Doe", company, country])
    return rows


def to_csv(rows: list[list[str]], *, delimiter: str = ",", encoding: str = "utf-8",
           bom: bool = False) -> bytes:
    import io

    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    text = out.getvalue()
    if encoding == "utf-16":
        return text.encode("utf-16")  # Python writes the BOM, as Excel's "Unicode text" does
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


@pytest.fixture
def sec_rows():
    return prospect_rows()


@pytest.fixture
def small_chunks(settings):
    """Chunks of 3 prospects, retried at once (no scheduler needed)."""
    settings.GENERATION_CHUNK_SIZE = 3
    settings.GENERATION_RETRY_INTERVAL_SECONDS = 0
    settings.GENERATION_JOB_RETRIES = 2
    return settings


def make_prospects(client, count: int, domain: str = "hooli.com"):
    from apps.core.models import Prospect

    return [
        Prospect.objects.create(client=client, email=f"p{i:03}@{domain}", first_name=f"P{i}",
                                company=company)
        for i, (company, _) in enumerate(sec_companies(count))
    ]


@pytest.fixture
def generation_perms(oscar, rita):
    """What apps/generation/migrations/0002 grants (the shared `seeded` fixture restores only
    core's permissions after a transactional test)."""
    from django.contrib.auth.models import Group, Permission

    operator = ["view_prospectimport", "add_prospectimport", "view_importrowerror",
                "view_writerconfig", "add_writerconfig", "change_writerconfig",
                "view_batchgeneration"]
    for name, codenames in (("operator", operator), ("reviewer", ["view_batchgeneration"])):
        Group.objects.get(name=name).permissions.add(
            *Permission.objects.filter(content_type__app_label="generation", codename__in=codenames)
        )
