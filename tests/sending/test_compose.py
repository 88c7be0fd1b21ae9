"""The quick way of writing a message (apps.sending.compose) gives what Django's EmailMessage
gives: the same headers in the same order, as a mail reader decodes them, and byte for byte the
same body; its unsubscribe token is one signing.loads reads. Messages it does not cover go
through Django itself."""

import string
from email import message_from_bytes
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime

import pytest
from django.core.mail import BadHeaderError
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.sending.compose import Composer, Draft
from apps.sending.unsubscribe import read_token, url_prefix


def composer(sender_name="Sam Sender") -> Composer:
    return Composer(client_id=7, sender_name=sender_name, sender_email="sam@outbound.test")


def by_django(c: Composer, draft: Draft) -> bytes:
    return c.django_email(draft).message().as_bytes(linesep="\r\n")


def split(data: bytes):
    head, _, body = data.partition(b"\r\n\r\n")
    return message_from_bytes(head + b"\r\n\r\n", policy=default_policy), body


def assert_same_message(c: Composer, draft: Draft):
    quick = c._quick(draft)
    if quick is None:  # left to Django: nothing to compare
        return False
    ours, our_body = split(quick)
    theirs, their_body = split(by_django(c, draft))
    assert our_body == their_body
    assert ours.keys() == theirs.keys()
    for name in ours:
        if name == "Date":  # made a moment apart
            gap = parsedate_to_datetime(ours[name]) - parsedate_to_datetime(theirs[name])
            assert abs(gap.total_seconds()) <= 2
        elif name == "List-Unsubscribe":  # signed a moment apart: both read the same
            links = ["".join(str(m[name]).split()).strip("<>") for m in (ours, theirs)]
            tokens = [link.removeprefix(url_prefix()) for link in links]
            assert all(link.startswith(url_prefix()) for link in links)
            assert read_token(tokens[0]) == read_token(tokens[1]) == (7, draft.recipient.lower())
        elif name == "Subject":
            # Where Django's folding starts the subject on a line of its own, readers see a
            # space before it; written here on the first line, they see the subject as it is.
            assert str(ours[name]) in (str(theirs[name]), draft.subject)
        else:
            assert str(ours[name]) == str(theirs[name]), name
    assert max(len(line) for line in quick.split(b"\r\n")) <= 998
    return True


def draft(recipient="p00001@hooli.com", subject="A question for P1", body="Hi P1,\n\nBest,\nSam\n"):
    return Draft(pk=41, batch_id=3, recipient=recipient, subject=subject, body=body)


@pytest.mark.parametrize("message", [
    draft(),
    draft(subject="Frage für Müller", body="Grüße aus Köln\r\nund Zürich\n"),
    draft(subject="A rather long subject line that goes on and on well past what fits in one line"),
    draft(subject="Tab\tinside"),
    draft(body="No newline at the end"),
    draft(body="mixed\rline\r\nendings\n\n.leading dot\n"),
    draft(body="x" * 998 + "\nfits exactly"),
    draft(recipient="Jo.Smith+tag@Hooli.COM"),
])
def test_known_shapes_are_the_same_message(message):
    assert assert_same_message(composer(), message)


@pytest.mark.parametrize("message", [
    draft(body="x" * 999),  # quoted-printable
    draft(body="ü" * 500),  # 1,000 octets in UTF-8
    draft(recipient="jö@hooli.com"),
    draft(recipient="jo@bücher.de"),
])
def test_what_the_quick_way_leaves_to_django_still_goes_out(message):
    c = composer()
    assert c._quick(message) is None
    outgoing = c.outgoing(message)
    assert (
        outgoing.data == by_django(c, message)
        or split(outgoing.data)[1] == split(by_django(c, message))[1]
    )


@pytest.fixture
def django_settings(settings):  # "settings" is hypothesis's here
    return settings


@pytest.mark.parametrize("on", [True, False], ids=["postmark metadata", "none"])
def test_the_postmark_metadata_header_carries_the_message_id_both_ways(django_settings, on):
    django_settings.POSTMARK_METADATA = on
    c, message = composer(), draft()

    assert assert_same_message(c, message)
    for data in (c._quick(message), by_django(c, message)):
        header = split(data)[0]["X-PM-Metadata-outbound-message-id"]
        assert header == (message.message_id_header if on else None)


def test_a_sender_name_with_accents_or_none():
    for name in (
        "Zoë Müller",
        "Zoë Müller-Lüdenscheidt von und zu Großherzogtum Sachsen-Anhalt",
        "",
    ):
        assert assert_same_message(composer(name), draft())


def test_a_subject_with_a_line_break_is_refused_as_django_refuses_it():
    with pytest.raises(BadHeaderError):
        composer().outgoing(draft(subject="Hi\r\nBcc: everyone@hooli.com"))


LOCAL = st.text(string.ascii_letters + string.digits + ".+_-", min_size=1, max_size=20)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=300)
bodies = st.one_of(
    texts, st.text(st.sampled_from("ab \r\n\t\x0b\x0c\x1c\u2028\u0085é€😀."), max_size=1200)
)
subjects = st.one_of(
    st.text(string.printable.replace("\r", "").replace("\n", ""), max_size=120),
    texts.filter(lambda s: "\r" not in s and "\n" not in s),
)


@settings(max_examples=300, deadline=None)
@given(local=LOCAL, subject=subjects, body=bodies)
def test_generated_messages_are_the_same_message(local, subject, body):
    assert_same_message(
        composer(), draft(recipient=f"{local}@hooli.com", subject=subject, body=body)
    )


def test_unsubscribe_tokens_read_back_and_match_djangos(monkeypatch):
    from django.core import signing

    from apps.sending.compose import _UnsubscribeSigner
    from apps.sending.unsubscribe import unsubscribe_token

    monkeypatch.setattr(signing.time, "time", lambda: 1_800_000_000.5)
    for email in ("p00001@hooli.com", "Jo.Smith+Tag@Hooli.COM", "x" * 200 + "@hooli.com",
                  "zoë@bücher.de", "a@b.co"):
        token = _UnsubscribeSigner().token(7, email)
        assert token == unsubscribe_token(client_id=7, email=email)
        assert read_token(token) == (7, email.lower())


ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~.-"


@settings(max_examples=500, deadline=None)
@given(local=st.text(ATEXT, min_size=1, max_size=30),
       domain=st.text(string.ascii_letters + string.digits + ".-", min_size=1, max_size=30),
       name=st.sampled_from(["", "Sam Sender ", '"Sender, Sam" ']))
def test_envelope_addresses_are_what_smtplib_would_say(local, domain, name):
    import smtplib

    from apps.sending.smtp import _envelope_address

    address = f"{name}<{local}@{domain}>" if name else f"{local}@{domain}"
    assert _envelope_address(address) == smtplib.quoteaddr(address)
