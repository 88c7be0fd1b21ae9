"""Operators issue and revoke API tokens (admin and command); only a hash is stored."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.portal.models import ApiToken, hash_token
from tests.portal.conftest import bearer

pytestmark = pytest.mark.django_db


def test_command_prints_a_working_token_stored_as_a_hash(client, acme_client, acme_batch, capsys):
    call_command("create_api_token", "Acme Outreach", "--label", "crm sync")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get()
    assert token.key_hash == hash_token(raw) and raw not in (token.prefix, token.key_hash)
    assert client.get("/api/v1/batches", **bearer(raw)).status_code == 200


def test_command_with_unknown_client_fails_clearly(acme_client):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="client 'Initech': no client with that name or id"):
        call_command("create_api_token", "Initech")


def test_operator_issues_and_revokes_in_the_admin(client, oscar, acme_client, acme_batch):
    client.force_login(oscar)
    response = client.post(
        reverse("admin:portal_apitoken_add"),
        {"client": acme_client.pk, "label": "zapier"},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]][0]
    raw = shown.rsplit(" ", 1)[-1]
    assert client.get("/api/v1/batches", **bearer(raw)).status_code == 200
    token = ApiToken.objects.get()
    client.post(
        reverse("admin:portal_apitoken_changelist"),
        {"action": "revoke_selected", "_selected_action": [token.pk]},
    )
    client.logout()
    assert client.get("/api/v1/batches", **bearer(raw)).status_code == 401
    actions = list(AuditEvent.objects.values_list("action", "actor"))
    assert actions == [("api_token_issued", oscar.pk), ("api_token_revoked", oscar.pk)]


def test_reviewer_cannot_issue_tokens(client, rita, acme_client):
    client.force_login(rita)
    response = client.post(
        reverse("admin:portal_apitoken_add"), {"client": acme_client.pk, "label": "x"}
    )
    assert response.status_code == 403
    assert not ApiToken.objects.exists()
