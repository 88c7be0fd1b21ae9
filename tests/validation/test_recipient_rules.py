"""Who an address reaches: no-reply, role inbox, disposable, relay, typo'd provider, homograph."""

import pytest

from apps.validation.checks.address_validity import parse_address_or_none
from apps.validation.checks.base import BLOCK, REVIEW, MessageFields, RuleConfig
from apps.validation.checks.recipient_risks import (
    check_disposable,
    check_homograph,
    check_noreply,
    check_relay,
    check_role_account,
    check_typo,
)


def run(check, email, severity=REVIEW, **parameters):
    return check(MessageFields(email=email), RuleConfig("rule", severity, 1, parameters))


@pytest.mark.parametrize(
    "email", ["noreply@acme.com", "no-reply@acme.com", "do_not_reply@acme.com",
              "DoNotReply@acme.com", "mailer-daemon@acme.com", "no.reply+x@acme.com"],
)
def test_no_reply_mailboxes_are_found(email):
    [finding] = run(check_noreply, email, BLOCK)

    assert (finding.code, finding.severity, finding.field) == ("recipient_noreply", BLOCK, "email")


@pytest.mark.parametrize("email", ["nora@acme.com", "replyall@acme.com", "noreen@acme.com"])
def test_names_that_look_like_no_reply_are_not(email):
    assert run(check_noreply, email) == []


@pytest.mark.parametrize("email", ["info@acme.com", "Sales@acme.com", "support+eu@acme.com",
                                   "hr.uk@acme.com", "careers@acme.com", "sales-de@acme.com",
                                   "billing_team@acme.com"])
def test_role_inboxes_are_found(email):
    [finding] = run(check_role_account, email)

    assert finding.code == "recipient_role"


@pytest.mark.parametrize("email", ["alexa@acme.com", "infante@acme.com", "salesforce.jo@acme.com"])
def test_people_are_not_role_inboxes(email):
    assert run(check_role_account, email) == []


def test_operators_can_add_role_local_parts():
    assert run(check_role_account, "growth@acme.com") == []
    assert run(check_role_account, "growth@acme.com", local_parts=["Growth"]) != []
    # The first word of a local part of several, as for the built-in names.
    assert run(check_role_account, "growth-eu@acme.com", local_parts=["growth"]) != []
    # Lists are normalised once per list, not per message; one the parameters' check would
    # refuse (an item that is itself a list) is still read as before, not a crash.
    assert run(check_role_account, "growth@acme.com", local_parts=["x", ["y"]]) == []
    assert run(check_role_account, "growth@acme.com", local_parts=[["y"], "GROWTH "]) != []


@pytest.mark.parametrize("email", ["x@mailinator.com", "x@sub.mailinator.com", "x@a.b.yopmail.com"])
def test_disposable_providers_and_their_subdomains_block(email):
    [finding] = run(check_disposable, email, BLOCK)

    assert (finding.code, finding.severity) == ("recipient_disposable", BLOCK)


def test_disposable_list_is_extended_and_overridden_by_parameters():
    assert run(check_disposable, "x@burner.example") == []
    assert run(check_disposable, "x@burner.example", domains=["burner.example"]) != []
    assert run(check_disposable, "x@mailinator.com", allowed_domains=["mailinator.com"]) == []


@pytest.mark.parametrize("email", ["x@slmail.me", "x@privaterelay.appleid.com", "x@duck.com"])
def test_privacy_relays_are_found(email):
    [finding] = run(check_relay, email)

    assert finding.code == "recipient_relay"


@pytest.mark.parametrize(
    "email, meant",
    [("john@gmial.com", "gmail.com"), ("jo@hornail.com", "hotmail.com"),
     ("jo@gmai.com", "gmail.com"), ("jo@yahooo.com", "yahoo.com"),
     ("jo@outlok.com", "outlook.com"), ("Jo <jo@GMIAL.com> ", "gmail.com")],
)
def test_typos_of_major_providers_suggest_the_provider(email, meant):
    [finding] = run(check_typo, email)

    assert (finding.code, finding.suggestion) == ("recipient_typo", meant)
    assert email[finding.start : finding.end] == email.strip().rstrip(">").split("@")[1]
    fixed = email[: finding.start] + finding.suggestion + email[finding.end :]
    assert run(check_typo, fixed) == []


@pytest.mark.parametrize(
    "domain", ["acme.com", "bt.com", "gmx.net", "acme.dev", "me.com", "mail.com", "cloud.com",
               "gmail.com", "yopmail.com", "online.de"],
)
def test_real_domains_are_never_corrected(domain):
    assert run(check_typo, f"jo@{domain}") == []


def test_operators_can_name_their_own_real_domains():
    assert run(check_typo, "jo@gmaill.com", known_domains=["gmaill.com"]) == []


def test_a_squatted_typo_domain_on_the_disposable_list_gets_the_suggestion_not_a_block():
    assert run(check_disposable, "john@gmial.com", BLOCK) == []


def test_mixed_script_domain_is_a_homograph():
    [finding] = run(check_homograph, "john@\u0430cme.com")  # Cyrillic а

    assert finding.code == "recipient_homograph"
    assert "Cyrillic 'а' (looks like Latin 'a') in 'аcme'" in finding.message


def test_mixed_script_local_part_is_a_homograph_naming_the_letters():
    # Cyrillic а and Greek ο in a Latin word: each odd letter is named once.
    [finding] = run(check_homograph, "p\u0430yp\u0430l.t\u03bfm@acme.com")

    assert (finding.code, finding.severity) == ("recipient_homograph", REVIEW)
    assert "Cyrillic 'а' (looks like Latin 'a') in 'pаypаl'" in finding.message
    assert "Greek 'ο' (looks like Latin 'o') in 'tοm'" in finding.message
    assert finding.message.count("Cyrillic 'а'") == 1


def test_both_parts_mixing_scripts_are_named_in_one_finding():
    [finding] = run(check_homograph, "p\u0430ypal@\u0430pple.com")

    assert "in 'pаypal'" in finding.message and "in 'аpple'" in finding.message


def test_a_latin_word_with_one_latin_letter_in_a_cyrillic_word_names_the_latin_letter():
    [finding] = run(check_homograph, "jo@\u043f\u0440\u0438\u0432\u0435\u0442a.ru")

    assert "Latin 'a' in 'приветa'" in finding.message


@pytest.mark.parametrize(
    "email",
    ["jöhn@müller.de", "jo@яндекс.рф", "jo@acme.com", "иван@почта.рф",
     # Japanese writes Han, Hiragana and Katakana (and Latin) together: one writing, not a trick.
     "jo@お名前.com", "jo@日本カメラ.jp", "taro@ソニー.jp", "jo@abc日本.jp",
     # Each word in one script, though the address has two.
     "ivan.иванов@acme.com"],
)
def test_one_script_per_word_is_not_a_homograph(email):
    assert parse_address_or_none(email) is not None  # a valid address, so the check looked
    assert run(check_homograph, email) == []


@pytest.mark.parametrize("check", [check_noreply, check_role_account,
                                   check_disposable, check_relay,
                                   check_typo, check_homograph])
def test_an_invalid_address_is_left_to_the_syntax_check(check):
    assert run(check, "{{email}}") == []
