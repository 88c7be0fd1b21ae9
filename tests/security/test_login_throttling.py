"""Issue 13: logins cannot be guessed. After 5 wrong passwords the account (and the address)
is locked on the portal login and the admin login alike, the right password is refused while
it lasts, each lockout is an audit event, the next lockout is longer, and an operator lifts
it with axes_reset_username."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.portal.services import token_issue

pytestmark = pytest.mark.django_db

LOGIN_PAGES = ["login", "admin:login"]


def attempt(client, url_name, password, username="rita", address="203.0.113.7"):
    return client.post(reverse(url_name), {"username": username, "password": password},
                       REMOTE_ADDR=address)


@pytest.mark.parametrize("url_name", LOGIN_PAGES)
def test_six_wrong_passwords_lock_the_account_even_for_the_right_one(client, rita, url_name):
    answers = [attempt(client, url_name, f"guess-{n}").status_code for n in range(6)]
    assert answers[:4] == [200] * 4  # the form again, "wrong password"
    assert answers[4:] == [429, 429]

    refused = attempt(client, url_name, "pw")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed logins" in page and "locked for 15 minutes" in page
    assert "_auth_user_id" not in client.session

    # From another address too: the account is locked, not just the address.
    assert attempt(client, url_name, "pw", address="198.51.100.9").status_code == 429
    events = AuditEvent.objects.filter(action="login_locked_out")
    assert events.count() >= 1 and events.first().data["username"] == "rita"


def test_the_address_is_locked_for_every_account(client, rita, oscar):
    for n in range(5):
        attempt(client, "login", f"guess-{n}", username=f"nobody{n}")
    assert attempt(client, "login", "pw", username="oscar").status_code == 429
    assert (
        attempt(client, "login", "pw", username="oscar", address="198.51.100.9").status_code == 302
    )


def test_an_operator_lifts_the_lock_and_the_next_one_is_longer(client, rita):
    for n in range(5):
        attempt(client, "login", f"guess-{n}")
    call_command("axes_reset_username", "rita")
    call_command("axes_reset_ip", "203.0.113.7")
    assert attempt(client, "login", "pw").status_code == 302  # logged in again
    client.logout()
    for n in range(5):
        attempt(client, "login", f"again-{n}")
    again = attempt(client, "login", "pw")
    assert again.status_code == 429 and "locked for 30 minutes" in again.content.decode()


def test_a_success_resets_the_count(client, rita):
    for n in range(4):
        attempt(client, "login", f"guess-{n}")
    assert attempt(client, "login", "pw").status_code == 302
    client.logout()
    for n in range(4):
        attempt(client, "login", f"guess-{n}")
    assert attempt(client, "login", "pw").status_code == 302


def test_guessing_api_tokens_is_throttled_per_address(client, acme_client, oscar, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 10_000
    good = token_issue(client=acme_client, label="ci", actor=oscar)[1]
    url = "/api/v1/batches"
    bad = [client.get(url, HTTP_AUTHORIZATION=f"Bearer guess{n}", REMOTE_ADDR="203.0.113.8")
           for n in range(6)]
    assert [r.status_code for r in bad[:4]] == [401] * 4
    assert bad[5].status_code == 429 and bad[5].json()["code"] == "locked_out"
    locked = client.get(url, HTTP_AUTHORIZATION=f"Bearer {good}", REMOTE_ADDR="203.0.113.8")
    assert locked.status_code == 429
    elsewhere = client.get(url, HTTP_AUTHORIZATION=f"Bearer {good}", REMOTE_ADDR="198.51.100.3")
    assert elsewhere.status_code == 200
