"""Choosing a client's prospects by import, tag and filter; starting a batch from the choice."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.core.errors import ServiceError
from apps.core.models import Batch, BatchStatus, Campaign, Message, Prospect, Tag
from apps.generation.models import GenerationChunk
from apps.generation.prospect_import import prospects_import
from apps.generation.selection import Selection, prospects_selected, selection_preview
from apps.generation.services import batch_start_for_selection
from apps.sending.contacts import record_sent
from tests.conftest import make_batch, make_campaign

pytestmark = pytest.mark.django_db

LEADS = b"email,first_name,company\nann@initech.com,Ann,Initech\nbob@hooli.com,Bob,Hooli\n"
MORE = b"email,first_name,company\ncy@initech.com,Cy,Initech\n"


def emails(client_id: int, selection: Selection) -> list[str]:
    chosen = prospects_selected(client_id=client_id, selection=selection)
    return sorted(chosen.values_list("email", flat=True))


def test_an_import_tags_exactly_the_prospects_it_added(acme_client, acme_prospects):
    first = prospects_import(client=acme_client, data=LEADS, file_name="leads.csv", actor=None,
                             tag="spring")
    # The second file repeats a known address (left alone) and adds one.
    second = prospects_import(client=acme_client, data=MORE + b"ann@initech.com,Ann,Initech\n",
                              file_name="more.csv", actor=None, mode="valid_rows")
    assert emails(acme_client.pk, Selection(import_id=first.pk)) == [
        "ann@initech.com", "bob@hooli.com"]
    assert emails(acme_client.pk, Selection(import_id=second.pk)) == ["cy@initech.com"]
    spring = Tag.objects.get(client=acme_client, name="spring")
    assert emails(acme_client.pk, Selection(tag_id=spring.pk)) == [
        "ann@initech.com", "bob@hooli.com"]
    both = Selection(import_id=first.pk, tag_id=spring.pk, company="init")
    assert emails(acme_client.pk, both) == ["ann@initech.com"]


def test_filters_by_company_domain_and_creation(acme_client, acme_prospects):
    Prospect.objects.filter(email="peter@initech.com").update(
        created_at=timezone.now() - timedelta(days=30))
    assert emails(acme_client.pk, Selection(company="HOO")) == ["richard@hooli.com"]
    assert emails(acme_client.pk, Selection(domain="Initech.com")) == ["peter@initech.com"]
    # A domain matches whole: "hooli.com" does not match "xhooli.com" nor a sub-string.
    assert emails(acme_client.pk, Selection(domain="li.com")) == []
    since = Selection(created_since=date.today() - timedelta(days=7))
    assert emails(acme_client.pk, since) == ["alice@umbrella.com", "richard@hooli.com"]


def test_not_contacted_since_reads_the_recontact_record(acme_client, globex_client,
                                                        acme_prospects):
    """Sends are recorded as sending records them (apps.sending.contacts.record_sent); the
    address is compared lower-cased and trimmed, and only this client's sends count."""
    now = timezone.now()
    for prospect, days in ((acme_prospects[0], 3), (acme_prospects[1], 40)):
        batch = make_batch(acme_campaign_of(acme_client), [prospect], status=BatchStatus.SENT)
        Message.objects.filter(batch=batch).update(recipient=" " + prospect.email.upper())
        record_sent(list(batch.messages.values_list("pk", flat=True)),
                    now - timedelta(days=days))
    theirs = make_batch(make_campaign(globex_client), [Prospect.objects.create(
        client=globex_client, email="alice@umbrella.com")], status=BatchStatus.SENT)
    record_sent(list(theirs.messages.values_list("pk", flat=True)), now)
    recent = Selection(not_contacted_since=date.today() - timedelta(days=10))
    assert emails(acme_client.pk, recent) == ["alice@umbrella.com", "richard@hooli.com"]


def acme_campaign_of(client):
    return Campaign.objects.filter(client=client).first() or make_campaign(client)


def test_another_clients_import_or_tag_selects_nobody(acme_client, globex_client, acme_prospects):
    """The outsider: Globex's prospects are never chosen for Acme, whatever ids are posted."""
    theirs = prospects_import(client=globex_client, data=LEADS, file_name="g.csv", actor=None,
                              tag="shared-name")
    their_tag = Tag.objects.get(client=globex_client, name="shared-name")
    assert emails(acme_client.pk, Selection(import_id=theirs.pk)) == []
    assert emails(acme_client.pk, Selection(tag_id=their_tag.pk)) == []
    assert emails(acme_client.pk, Selection(domain="hooli.com")) == ["richard@hooli.com"]
    assert selection_preview(client_id=acme_client.pk, selection=Selection()).count == 3


def test_a_batch_holds_the_selection_as_it_was_at_start(acme_client, acme_campaign, oscar,
                                                        acme_prospects):
    selection = Selection(domain="initech.com")
    batch = batch_start_for_selection(campaign=acme_campaign, selection=selection, actor=oscar,
                                      expected_count=1)
    prospects_import(client=acme_client, data=MORE, file_name="later.csv", actor=None)
    assert emails(acme_client.pk, selection) == ["cy@initech.com", "peter@initech.com"]
    assert list(batch.prospects.values_list("email", flat=True)) == ["peter@initech.com"]
    assert batch.generation.total == 1
    chunks = GenerationChunk.objects.filter(batch=batch)
    assert [c.prospect_ids for c in chunks] == [[batch.prospects.get().pk]]


def test_a_refused_start_leaves_no_batch(acme_campaign, oscar, acme_prospects):
    with pytest.raises(ServiceError, match="Choose at least one"):
        batch_start_for_selection(campaign=acme_campaign, selection=Selection(company="none"),
                                  actor=oscar)
    acme_campaign.body_template = "Hi {{ custom.missing }}"
    acme_campaign.save()
    with pytest.raises(ServiceError, match="custom.missing is missing for 3"):
        batch_start_for_selection(campaign=acme_campaign, selection=Selection(), actor=oscar)
    assert not Batch.objects.exists()
