"""Issue 13: operator settings are validated where they are entered (the admin's forms refuse
nonsense with a sentence saying why, and nothing changes) and in the database (a write that
bypasses the forms is refused by a check constraint). SLA targets: tests/review/
test_sla_target_validation.py."""

import html
import json
from datetime import time

import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.core.models import Client, ValidationRule
from apps.sending.models import DomainRateLimit, SendWindow
from apps.validation.models import RuleOverride

pytestmark = pytest.mark.django_db


@pytest.fixture
def root(client, seeded):
    user = User.objects.create_superuser("root", "root@outbound.test", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def content_length(seeded) -> ValidationRule:
    # Seeded by validation's migration 0002; a transactional test that ran earlier may have
    # flushed it.
    return ValidationRule.objects.get_or_create(code="content_length",
                                                defaults={"severity": "review"})[0]


def refused(response, message):
    assert response.status_code == 200, response  # the form again, with the error
    assert message in html.unescape(response.content.decode())


# --- Validation rule parameters and per-client overrides --------------------------------------

RULE_NONSENSE = [
    (
        {"max_subject_chars": 0},
        "'max_subject_chars' must be a whole number from 1 to 1000 (got 0).",
    ),
    ({"max_subject_chars": 5000}, "from 1 to 1000 (got 5000)"),
    ({"max_body_chars": -3}, "'max_body_chars' must be a whole number from 1 to 100000"),
    ({"max_body_chars": "8000"}, "(got '8000')"),
    ({"max_body_chars": 2.5}, "(got 2.5)"),
    ({"max_body_chars": True}, "(got True)"),
    ({"max_chars": 10}, "'max_chars' is not a parameter of content_length"),
    (["max_body_chars"], "Parameters must be a JSON object"),
]


@pytest.mark.parametrize("parameters, message", RULE_NONSENSE)
def test_rule_parameters_out_of_range_are_refused(
    client, root, content_length, parameters, message
):
    rule = content_length
    response = client.post(reverse("admin:core_validationrule_change", args=[rule.pk]), {
        "enabled": "on", "severity": rule.severity, "parameters": json.dumps(parameters),
        "seen_version": rule.version,
    })
    refused(response, message)
    assert ValidationRule.objects.get(pk=rule.pk).version == rule.version


def test_rule_parameters_that_are_not_json_are_refused(client, root, content_length):
    rule = content_length
    response = client.post(reverse("admin:core_validationrule_change", args=[rule.pk]), {
        "enabled": "on", "severity": rule.severity, "parameters": "{max_body_chars: 10",
        "seen_version": rule.version,
    })
    refused(response, "Enter a valid JSON.")


def test_rule_parameters_in_range_are_saved_and_the_help_names_the_range(
    client, root, content_length
):
    rule = content_length
    url = reverse("admin:core_validationrule_change", args=[rule.pk])
    assert "max_subject_chars (whole number, 1–1000)" in client.get(url).content.decode()
    response = client.post(url, {"enabled": "on", "severity": rule.severity,
                                  "parameters": json.dumps({"max_subject_chars": 1000}),
                                  "seen_version": rule.version})
    assert response.status_code == 302
    assert ValidationRule.objects.get(pk=rule.pk).parameters == {"max_subject_chars": 1000}


@pytest.mark.parametrize("parameters, message", RULE_NONSENSE[:3])
def test_override_parameters_out_of_range_are_refused(client, root, content_length, acme_client,
                                                      parameters, message):
    rule = content_length
    response = client.post(reverse("admin:validation_ruleoverride_add"), {
        "rule": rule.pk, "client": acme_client.pk, "enabled": "unknown", "severity": "",
        "parameters": json.dumps(parameters),
    })
    refused(response, message)
    assert not RuleOverride.objects.exists()


def test_severities_are_held_by_the_database(content_length, acme_client):
    rule = content_length
    with pytest.raises(IntegrityError), transaction.atomic():
        ValidationRule.objects.filter(pk=rule.pk).update(severity="fatal")
    with pytest.raises(IntegrityError), transaction.atomic():
        RuleOverride.objects.create(rule=rule, client=acme_client, severity="loud")
    RuleOverride.objects.create(rule=rule, client=acme_client, severity="")  # "as the rule"


# --- Sending limits ---------------------------------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    ({"per_minute": "0"}, "0 would mean no cap at all"),
    ({"per_day": "0"}, "0 would mean no cap at all"),
    ({"per_minute": "-1"}, "Ensure this value is greater than or equal to 0."),
    ({"per_day": "ten"}, "Enter a whole number."),
    ({"domain": "not a domain"}, "'not a domain' is not a domain name"),
    ({"domain": "rita@acme.com"}, "is not a domain name: write the part after the @"),
])
def test_rate_limit_nonsense_is_refused(client, root, fields, message):
    data = {"domain": "acme.com", "per_minute": "", "per_day": "", **fields}
    refused(client.post(reverse("admin:sending_domainratelimit_add"), data), message)
    assert not DomainRateLimit.objects.exists()


def test_a_sensible_rate_limit_saves_its_domain_lower_cased(client, root):
    response = client.post(reverse("admin:sending_domainratelimit_add"),
                           {"domain": " Acme.COM ", "per_minute": "30", "per_day": ""})
    assert response.status_code == 302
    assert DomainRateLimit.objects.values_list("domain", "per_minute", "per_day").get() == (
        "acme.com", 30, None)


@pytest.mark.parametrize("fields", [{"per_minute": 0}, {"per_day": 0}, {"per_minute": -5},
                                    {"domain": ""}])
def test_the_database_refuses_a_rate_limit_that_bypasses_the_form(fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        DomainRateLimit.objects.create(**{"domain": "acme.com", **fields})


WINDOW = {"days": "mon,tue", "start": "09:00", "end": "17:00", "time_zone": "Europe/Berlin"}


@pytest.mark.parametrize("fields, message", [
    ({"start": "25:00"}, "Enter a valid time."),
    ({"end": "17:61"}, "Enter a valid time."),
    ({"start": "17:00", "end": "09:00"}, "The window must close after it opens, the same day"),
    ({"start": "09:00", "end": "09:00"}, "The window must close after it opens"),
    ({"days": " , "}, "Name at least one day"),
    ({"days": "mon,funday"}, "Unknown day 'funday': use days from mon,tue,wed,thu,fri,sat,sun."),
    ({"time_zone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'"),
    ({"time_zone": "../../etc/passwd"}, "Unknown time zone"),
    ({"time_zone": "x" * 64}, "Unknown time zone"),
])
def test_send_window_nonsense_is_refused(client, root, acme_client, fields, message):
    data = {"client": acme_client.pk, **WINDOW, **fields}
    refused(client.post(reverse("admin:sending_sendwindow_add"), data), message)
    assert not SendWindow.objects.exists()


def test_a_sensible_send_window_saves(client, root, acme_client):
    data = {"client": acme_client.pk, **WINDOW, "days": "Mon, tue,mon"}
    assert client.post(reverse("admin:sending_sendwindow_add"), data).status_code == 302
    assert SendWindow.objects.get().days == "mon,tue"


@pytest.mark.parametrize("fields", [
    {"start": time(17), "end": time(9)}, {"start": time(9), "end": time(9)}, {"days": ""},
    {"time_zone": ""},
])
def test_the_database_refuses_a_send_window_that_bypasses_the_form(acme_client, fields):
    values = {"days": "mon", "start": time(9), "end": time(17), "time_zone": "UTC", **fields}
    with pytest.raises(IntegrityError), transaction.atomic():
        SendWindow.objects.create(client=acme_client, **values)


# --- Client settings --------------------------------------------------------------------------

@pytest.mark.parametrize("fields, message", [
    ({"review_policy": "trust_me"}, "Select a valid choice. trust_me is not one of the available"),
    ({"tier": "platinum"}, "Select a valid choice. platinum is not one of the available"),
])
def test_client_nonsense_is_refused(client, root, fields, message):
    data = {"name": "Initech", "tier": "standard", "review_policy": "review_all", **fields}
    refused(client.post(reverse("admin:core_client_add"), data), message)
    assert not Client.objects.filter(name="Initech").exists()


@pytest.mark.parametrize("fields", [{"review_policy": "trust_me"}, {"tier": "platinum"},
                                    {"name": ""}])
def test_the_database_refuses_a_client_that_bypasses_the_form(seeded, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(**{"name": "Initech", **fields})
