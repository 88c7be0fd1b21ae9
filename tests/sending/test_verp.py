"""The VERP return path: with BOUNCE_DOMAIN set, each message goes out with an envelope sender
that names it, signed; the address reads back to the message, and a forged one is refused."""

import pytest

from apps.core.models import Message
from apps.sending import verp
from apps.sending.compose import Composer, Draft
from apps.sending.services import batch_send


@pytest.fixture
def bounce_domain(settings):
    settings.BOUNCE_DOMAIN = "bounce.outbound.test"
    settings.BOUNCE_LOCAL_PART = "bounces"


def test_a_return_path_reads_back_to_its_message(bounce_domain):
    address = verp.return_path(4_000_000_017)
    assert address.startswith("bounces+4000000017-") and address.endswith("@bounce.outbound.test")
    assert verp.message_for(address) == 4_000_000_017
    # as relays write it back: in angle brackets, or lower-cased/upper-cased
    assert verp.message_for(f"<{address}>") == 4_000_000_017
    assert verp.message_for(address.upper()) == 4_000_000_017


def test_a_forged_return_path_is_refused(bounce_domain):
    genuine = verp.return_path(41)
    local, _, domain = genuine.partition("@")
    another = verp.return_path(42).partition("-")[2].partition("@")[0]
    with pytest.raises(verp.ForgedReturnPath):
        verp.message_for(f"bounces+41-{another}@{domain}")  # message 42's signature on 41
    with pytest.raises(verp.ForgedReturnPath):
        verp.message_for(f"bounces+41-{'a' * verp.SIGNATURE_CHARS}@{domain}")


def test_a_signature_from_another_secret_key_is_refused(bounce_domain, settings):
    address = verp.return_path(41)
    settings.SECRET_KEY = "another installation's key " + "y" * 30
    with pytest.raises(verp.ForgedReturnPath):
        verp.message_for(address)


@pytest.mark.parametrize("address", [
    "sam@outbound.test", "bounces@bounce.outbound.test", "bounces+41@bounce.outbound.test",
    "bounces+41-abc@bounce.outbound.test", "bounces+41-" + "a" * 16 + "@elsewhere.test", "",
])
def test_other_addresses_are_not_return_paths(bounce_domain, address):
    assert verp.message_for(address) is None


def test_without_a_bounce_domain_the_envelope_sender_is_the_from_address(settings):
    settings.BOUNCE_DOMAIN = ""
    c = Composer(client_id=7, sender_name="Sam", sender_email="sam@outbound.test")
    draft = Draft(pk=41, batch_id=3, recipient="p1@hooli.com", subject="Hi", body="Hi\n")
    assert c.outgoing(draft).sender == "Sam <sam@outbound.test>"
    assert verp.message_for("bounces+41-" + "a" * 16 + "@bounce.outbound.test") is None


@pytest.mark.parametrize("recipient", ["p1@hooli.com", "jö@hooli.com"])  # quick way and Django's
def test_each_message_carries_its_own_return_path(bounce_domain, recipient):
    c = Composer(client_id=7, sender_name="Sam", sender_email="sam@outbound.test")
    first = c.outgoing(Draft(pk=41, batch_id=3, recipient=recipient, subject="Hi", body="Hi\n"))
    second = c.outgoing(Draft(pk=42, batch_id=3, recipient=recipient, subject="Hi", body="Hi\n"))
    assert verp.message_for(first.sender) == 41
    assert verp.message_for(second.sender) == 42
    assert b"From: Sam <sam@outbound.test>" in first.data  # the From header is unchanged


@pytest.mark.django_db
def test_the_server_sees_the_return_path_in_mail_from(bounce_domain, smtp_server, three_approved):
    batch_send(batch_id=three_approved.pk)

    received = smtp_server.messages
    assert len(received) == 3
    by_id = {m.pk: m for m in Message.objects.filter(batch=three_approved)}
    for item in received:
        message_id = verp.message_for(item.mail_from)
        assert by_id[message_id].recipient in item.rcpt_tos
