"""What "Start a batch" counts is what the filter selects and what the batch holds, for every
filter alone and together: checked against the same filter written in Python over the rows.
Past the count limit the page says "more than" the limit, and a batch started from that page
still holds exactly the matching prospects."""

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import Prospect, ProspectTag, Tag
from apps.generation.prospect_import import prospects_import
from apps.generation.selection import Selection, prospects_selected, selection_preview
from apps.generation.services import batch_start_for_selection
from apps.sending.models import LastContact

pytestmark = pytest.mark.django_db

COMPANIES = ["Acme Co 4", "Co 41 Ltd", "co 4x", "50% Off", "Under_score", "Initech", "ACO 42"]
DOMAINS = ["initech.com", "Hooli.com", "sub.initech.com", "xinitech.com"]
TODAY = date.today()


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


@pytest.fixture
def world(acme_client, globex_client):
    """60 Acme prospects over 60 days across companies, domains, a tag, an import and sends;
    Globex has the same companies, domains and a tag of the same name (the outsider)."""
    now = timezone.now()
    for client in (globex_client, acme_client):
        Prospect.objects.bulk_create(
            Prospect(client=client, email=f"P{n}@{DOMAINS[n % len(DOMAINS)]}", first_name=f"P{n}",
                     company=COMPANIES[n % len(COMPANIES)], created_at=now - timedelta(days=n))
            for n in range(60)
        )
        tag = Tag.objects.create(client=client, name="spring")
        ProspectTag.objects.bulk_create(
            ProspectTag(tag=tag, prospect=p)
            for p in Prospect.objects.filter(client=client) if int(p.first_name[1:]) % 3 == 0
        )
        # Sent 5 days ago to every 4th address, written as sending writes it (lower, trimmed).
        LastContact.objects.bulk_create(
            LastContact(client=client, address=p.email.lower(), sent_at=now - timedelta(days=5),
                        batch_id=0)
            for p in Prospect.objects.filter(client=client) if int(p.first_name[1:]) % 4 == 0
        )
    rows = "".join(f"new{n}@initech.com,New{n},Co 4{n}\n" for n in range(7))
    data = f"email,first_name,company\n{rows}".encode()
    imported = prospects_import(client=acme_client, data=data, file_name="new.csv", actor=None)
    return {
        "prospects": list(Prospect.objects.filter(client=acme_client)),
        "tag": Tag.objects.get(client=acme_client, name="spring"),
        "import": imported,
        "contacted": dict(LastContact.objects.filter(client=acme_client)
                          .values_list("address", "sent_at")),
    }


def python_filter(world, selection: Selection) -> set[int]:
    """The selection, applied row by row: the oracle."""
    tagged = set(ProspectTag.objects.filter(tag=world["tag"]).values_list("prospect_id", flat=True))
    imported = set(world["import"].tag.prospects.values_list("pk", flat=True))
    chosen = set()
    for p in world["prospects"]:
        if selection.tag_id is not None and p.pk not in tagged:
            continue
        if selection.import_id is not None and p.pk not in imported:
            continue
        if selection.company and selection.company.upper() not in p.company.upper():
            continue
        if selection.domain and p.email.split("@")[1].lower() != selection.domain.lower():
            continue
        if selection.created_since and p.created_at < start_of(selection.created_since):
            continue
        if selection.not_contacted_since:
            sent_at = world["contacted"].get(p.email.strip().lower())
            if sent_at and sent_at >= start_of(selection.not_contacted_since):
                continue
        chosen.add(p.pk)
    return chosen


def selections(world) -> dict[str, Selection]:
    tag, imported = world["tag"].pk, world["import"].pk
    week_ago = TODAY - timedelta(days=7)
    return {
        "everyone": Selection(),
        "import": Selection(import_id=imported),
        "tag": Selection(tag_id=tag),
        "company": Selection(company="co 4"),
        "company, one letter": Selection(company="4"),
        "company, a LIKE wildcard": Selection(company="%"),
        "company, an underscore": Selection(company="r_s"),
        "company, none": Selection(company="zzz"),
        "domain": Selection(domain="initech.com"),
        "added since": Selection(created_since=TODAY - timedelta(days=20)),
        "not contacted": Selection(not_contacted_since=week_ago),
        "not contacted, before the sends": Selection(not_contacted_since=TODAY - timedelta(days=2)),
        "tag + company + not contacted": Selection(tag_id=tag, company="CO",
                                                   not_contacted_since=week_ago),
        "import + company": Selection(import_id=imported, company="co 41"),
        "all of them": Selection(tag_id=tag, company="co", domain="Hooli.com",
                                 created_since=TODAY - timedelta(days=40),
                                 not_contacted_since=week_ago),
    }


def test_count_sample_and_selection_match_the_filter_exactly(world, acme_client):
    for name, selection in selections(world).items():
        expected = python_filter(world, selection)
        chosen = prospects_selected(client_id=acme_client.pk, selection=selection)
        assert set(chosen.values_list("pk", flat=True)) == expected, name
        exact = selection_preview(client_id=acme_client.pk, selection=selection, count_limit=None)
        assert (exact.count, exact.over_limit) == (len(expected), False), name
        at_limit = selection_preview(client_id=acme_client.pk, selection=selection,
                                     count_limit=len(expected))
        assert (at_limit.count, at_limit.over_limit) == (len(expected), False), name
        newest = sorted((p for p in world["prospects"] if p.pk in expected),
                        key=lambda p: (p.created_at, p.pk), reverse=True)[:5]
        sample = selection_preview(client_id=acme_client.pk, selection=selection, sample_size=5)
        assert [row["pk"] for row in sample.sample] == [p.pk for p in newest], name
    assert len(python_filter(world, Selection(company="co 4"))) > 20  # the filters do filter
    assert python_filter(world, Selection(company="%")) == python_filter(
        world, Selection(company="50% Off"))


def test_past_the_limit_the_page_says_more_than(world, acme_client):
    selection = Selection(tag_id=world["tag"].pk)
    expected = len(python_filter(world, selection))
    over = selection_preview(client_id=acme_client.pk, selection=selection,
                             count_limit=expected - 1)
    assert (over.count, over.over_limit) == (expected - 1, True)
    assert len(over.sample) == min(20, expected)


def test_a_batch_started_past_the_limit_holds_exactly_the_matching_prospects(
        world, acme_client, acme_campaign, oscar):
    for selection in (Selection(not_contacted_since=TODAY - timedelta(days=7)),
                      Selection(tag_id=world["tag"].pk, company="CO 4")):
        expected = python_filter(world, selection)
        batch = batch_start_for_selection(campaign=acme_campaign, selection=selection,
                                          actor=oscar, expected_over=len(expected) - 1)
        assert set(batch.prospects.values_list("pk", flat=True)) == expected
        assert batch.generation.total == len(expected)


def test_a_selection_that_fell_to_the_limit_is_not_started(world, acme_campaign, oscar):
    selection = Selection(tag_id=world["tag"].pk)
    seen_over = len(python_filter(world, selection)) - 1
    ProspectTag.objects.filter(tag=world["tag"]).order_by("pk").first().delete()
    with pytest.raises(ServiceError, match=f"not more than {seen_over} as shown"):
        batch_start_for_selection(campaign=acme_campaign, selection=selection, actor=oscar,
                                  expected_over=seen_over)
    assert not acme_campaign.batches.exists()


def test_company_contains_is_served_by_the_trigram_index_on_postgresql(
        postgres_only, world, acme_client):
    """The index "company contains" relies on exists and matches the SQL Django writes for it:
    with sequential and plain index scans off, the plan goes through it (a bitmap scan), and
    the selection's rows are still the substring matches."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE core_prospect")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        for company in ("ACO 42", "r_sc"):
            sql, params = (Prospect.objects.filter(company__icontains=company).values("pk")
                           .query.sql_with_params())
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "Bitmap Index Scan on prospect_company_trgm" in plan, plan
            selection = Selection(company=company)
            chosen = prospects_selected(client_id=acme_client.pk, selection=selection)
            assert set(chosen.values_list("pk", flat=True)) == python_filter(world, selection)
