"""Validating a batch chunk by chunk finds what validating it whole finds: every enabled rule on
every message, the batch rules (the same mailbox twice, a suppressed address) across chunks;
whether each chunk is validated after it is stored (validate_chunk) or before, in the
transaction that stores it (the generate job)."""

import pytest

from apps.core.models import (
    Batch,
    BatchStatus,
    Finding,
    Message,
    Prospect,
    Suppression,
    ValidationRule,
)
from apps.generation.models import ChunkStatus, GenerationChunk
from apps.generation.services import batch_start, chunk_generate, chunk_message_ids
from apps.validation.services import batch_validate, messages_validate, new_messages_judge
from tests.conftest import make_campaign

pytestmark = pytest.mark.django_db
BODY = "Hi {{ first_name }},\n\nwould {{ company }} like fewer bounces?\n\nReply STOP to opt out."


def findings_of(batch) -> list[tuple]:
    return sorted(
        Finding.objects.filter(batch=batch).values_list(
            "message__prospect__email", "rule_code", "rule_version", "severity", "field", "start",
            "end", "explanation", "suggestion",
        )
    )


def written_in_chunks(campaign, prospects, actor, capture, *, before_storing: bool) -> Batch:
    with capture(execute=False):
        batch = batch_start(campaign=campaign, prospects=prospects, actor=actor)
    for chunk in GenerationChunk.objects.filter(batch=batch).order_by("index"):
        if before_storing:
            chunk_generate(chunk_id=chunk.pk, validate=new_messages_judge)
            assert GenerationChunk.objects.get(pk=chunk.pk).status == ChunkStatus.VALIDATED
        else:
            chunk_generate(chunk_id=chunk.pk)
            messages_validate(message_ids=chunk_message_ids(chunk_id=chunk.pk))
    return batch


@pytest.mark.parametrize("before_storing", [True, False])
@pytest.mark.parametrize("batch_rules_on", [True, False])
def test_chunks_find_what_the_whole_batch_finds(
    batch_rules_on,
    before_storing,
    small_chunks,
    acme_client,
    oscar,
    dns_server,
    django_capture_on_commit_callbacks,
):
    assert (
        ValidationRule.objects.filter(code__in=["duplicate_recipient", "suppressed"]).count() == 2
    )
    ValidationRule.objects.filter(code__in=["duplicate_recipient", "suppressed"]).update(
        enabled=batch_rules_on
    )
    campaign = make_campaign(acme_client, subject_template="For {{ company }}", body_template=BODY)
    people = [
        ("peter@initech.com", "Peter", "Initech Inc."),
        ("richard@hooli.com", "Richard", "Hooli"),
        ("alice@umbrella.com", "", "Umbrella GmbH"),
        ("info@hooli.com", "Gavin", "Hooli"),
        ("nobody@no-such-domain.com", "Nobody", "Nowhere"),
        # The same mailbox as the first prospect, three chunks later. (Only as the case
        # differs: a chunk looks up the batch's other messages by lower-cased address.)
        (" PETER@Initech.com", "Pete", "Initech"),
    ]
    prospects = [Prospect.objects.create(client=acme_client, email=email, first_name=first,
                                         company=company) for email, first, company in people]
    prospects += [Prospect.objects.create(client=acme_client, email=f"p{i}@hooli.com",
                                          first_name=f"P{i}", company="Hooli") for i in range(4)]
    Suppression.objects.create(client=acme_client, email="richard@hooli.com", reason="asked")

    batch = written_in_chunks(campaign, prospects, oscar, django_capture_on_commit_callbacks,
                              before_storing=before_storing)
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.VALIDATING
    assert not Message.objects.filter(batch=batch, validated_at__isnull=True).exists()
    by_chunk = findings_of(batch)
    worst_by_chunk = sorted(
        Message.objects.filter(batch=batch).values_list("recipient", "worst_severity")
    )

    batch_validate(batch_id=batch.pk)  # the whole batch at once, replacing the chunks' findings

    assert by_chunk == findings_of(batch)
    assert worst_by_chunk == sorted(
        Message.objects.filter(batch=batch).values_list("recipient", "worst_severity")
    )
    codes = {(email, code) for email, code, *_ in by_chunk}
    assert (" PETER@Initech.com", "duplicate_recipient") in codes or not batch_rules_on
    assert ("richard@hooli.com", "suppressed") in codes or not batch_rules_on
    assert not batch_rules_on or ("peter@initech.com", "duplicate_recipient") not in codes
    assert ("peter@initech.com", "legal_form") in codes
    assert ("info@hooli.com", "recipient_role") in codes
    assert ("nobody@no-such-domain.com", "recipient_domain.nxdomain") in codes
    if not batch_rules_on:
        assert not {code for _, code in codes} & {"duplicate_recipient", "suppressed"}


def test_a_chunk_whose_findings_cannot_be_stored_stores_no_message(
    small_chunks, acme_client, oscar, dns_server, django_capture_on_commit_callbacks
):
    campaign = make_campaign(acme_client, body_template=BODY)
    prospects = [
        Prospect.objects.create(
            client=acme_client, email=f"p{i}@hooli.com", first_name=f"P{i}", company="Hooli Inc."
        )
        for i in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=False):
        batch = batch_start(campaign=campaign, prospects=prospects, actor=oscar)
    chunk = GenerationChunk.objects.get(batch=batch)

    def judged_then_failing_to_store(**kwargs):
        judgement = new_messages_judge(**kwargs)
        assert judgement.results  # the legal form in every message

        def store(only=None):
            assert Message.objects.filter(batch=batch).count() == 3  # stored, not committed
            raise RuntimeError("the findings table is gone")

        judgement.store = store
        return judgement

    with pytest.raises(RuntimeError, match="findings table"):
        chunk_generate(chunk_id=chunk.pk, validate=judged_then_failing_to_store)

    assert not Message.objects.filter(batch=batch).exists()
    assert not Finding.objects.filter(batch=batch).exists()
    assert GenerationChunk.objects.get(pk=chunk.pk).status == ChunkStatus.PENDING
    chunk_generate(chunk_id=chunk.pk, validate=new_messages_judge)  # the retry writes it all
    assert Message.objects.filter(batch=batch, validated_at__isnull=False).count() == 3
    assert Finding.objects.filter(batch=batch, rule_code="legal_form").count() == 3


def test_a_duplicate_two_chunks_validated_side_by_side_missed_is_found_before_routing(
    small_chunks, globex_client, oscar, dns_server, django_capture_on_commit_callbacks, monkeypatch
):
    from apps.pipeline import jobs

    campaign = make_campaign(globex_client, body_template=BODY)  # a client that auto-approves
    emails = ["p0@hooli.com", "p1@hooli.com", "p2@hooli.com",
              "p3@hooli.com", "P0@hooli.com", "p5@hooli.com"]  # p0 again, in the second chunk
    prospects = [Prospect.objects.create(client=globex_client, email=email, first_name="Pat",
                                         company="Hooli") for email in emails]
    with django_capture_on_commit_callbacks(execute=False):
        batch = batch_start(campaign=campaign, prospects=prospects, actor=oscar)
    first, second = GenerationChunk.objects.filter(batch=batch).order_by("index")

    def judged_while_the_other_chunk_is_written(**kwargs):
        # The race of two workers: the first chunk is judged, then the second is judged and
        # stored before the first is stored, so neither sees the other's "p0".
        judgement = new_messages_judge(**kwargs)
        if kwargs["batch_id"] == batch.pk and not Message.objects.filter(batch=batch).exists():
            chunk_generate(chunk_id=second.pk, validate=new_messages_judge)
        return judgement

    monkeypatch.setattr(jobs, "new_messages_judge", judged_while_the_other_chunk_is_written)
    with django_capture_on_commit_callbacks(execute=False):
        jobs.generate_chunk_job(first.pk)

    duplicates = Finding.objects.filter(batch=batch, rule_code="duplicate_recipient")
    assert list(duplicates.values_list("message__recipient", flat=True)) == ["P0@hooli.com"]
    assert Message.objects.get(batch=batch, recipient="P0@hooli.com").worst_severity != ""
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.IN_REVIEW  # not auto-approved


@pytest.mark.parametrize("known_at_start", [True, False])
def test_a_chunk_looks_up_only_the_addresses_the_batch_repeats(
    known_at_start, small_chunks, acme_client, oscar, dns_server, django_capture_on_commit_callbacks
):
    """batch_start notes which addresses more than one prospect has; a chunk looks for those
    (and only those) among the batch's stored messages. A batch started before that was noted
    (None) looks every address up, and finds the same."""
    from apps.generation.models import BatchGeneration

    campaign = make_campaign(acme_client, body_template=BODY)
    emails = ["p0@hooli.com", "p1@hooli.com", "p2@hooli.com", " P0@Hooli.com", "p4@hooli.com"]
    prospects = [Prospect.objects.create(client=acme_client, email=email, first_name="Pat",
                                         company="Hooli") for email in emails]
    with django_capture_on_commit_callbacks(execute=False):
        batch = batch_start(campaign=campaign, prospects=prospects, actor=oscar)
    generation = BatchGeneration.objects.get(batch=batch)
    assert generation.repeated_addresses == ["p0@hooli.com"]
    if not known_at_start:
        generation.repeated_addresses = None
        generation.save()
    for chunk in GenerationChunk.objects.filter(batch=batch).order_by("index"):
        chunk_generate(chunk_id=chunk.pk, validate=new_messages_judge)

    flagged = Finding.objects.filter(batch=batch, rule_code="duplicate_recipient")
    assert list(flagged.values_list("message__recipient", flat=True)) == ["P0@Hooli.com"]
