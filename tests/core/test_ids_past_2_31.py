"""Issue 13: ids are bigint everywhere the database says so. Every table's id sequence is
advanced past 2^31 (2,147,483,647) and the flow from review to sending runs: the bulk fix's
SQL, approval, the send claim, the admin's review screen and the API all take such ids."""

import pytest
from django.apps import apps
from django.db import connection
from django.urls import reverse

from apps.core.models import BatchStatus, Message, SendStatus
from apps.portal.services import token_issue
from apps.review.services import FindingGroup, batch_approve, findings_fix_group
from apps.sending.services import batch_send
from tests.conftest import in_review_batch
from tests.review.conftest import flag_legal_form

pytestmark = pytest.mark.django_db
PAST_INT = 2**31 + 1000


@pytest.fixture
def ids_past_2_31(postgres_only):
    """setval on every id sequence (sequences are not rolled back with the test: each is put
    back where it was afterwards)."""
    sequences = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            if not model._meta.managed or model._meta.pk.column != "id":
                continue
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            row = cursor.fetchone()
            if not (row and row[0]):
                continue
            cursor.execute(
                "SELECT data_type::text FROM pg_sequences"
                " WHERE schemaname || '.' || sequencename = %s",
                [row[0]],
            )
            if cursor.fetchone()[0] != "bigint":
                # Django's own tables (admin log, auth, content types) keep their int ids.
                assert not model.__module__.startswith("apps."), f"{table} has an int id"
                continue
            cursor.execute(f"SELECT last_value, is_called FROM {row[0]}")
            sequences.append((row[0], *cursor.fetchone()))
            cursor.execute("SELECT setval(%s, %s)", [row[0], PAST_INT])
    assert any(name.endswith("core_message_id_seq") for name, _, _ in sequences)
    yield
    with connection.cursor() as cursor:
        for name, last_value, is_called in sequences:
            cursor.execute("SELECT setval(%s, %s, %s)", [name, last_value, is_called])


def test_review_fix_approve_and_send_with_ids_past_2_31(
    ids_past_2_31, client, smtp_server, acme_campaign, acme_prospects, rita, oscar
):
    batch = in_review_batch(acme_campaign, acme_prospects)
    messages = list(batch.messages.order_by("pk"))
    assert batch.pk > 2**31 and all(m.pk > 2**31 for m in messages)
    for message in messages:
        flag_legal_form(message)

    # "Fix all": the conditional UPDATE … FROM (VALUES …) that cast ids to integer.
    group = FindingGroup(rule_code="legal_form", field="body", text=" GmbH", suggestion="")
    result = findings_fix_group(batch_id=batch.pk, actor=rita, group=group)
    assert (result.fixed, result.skipped) == (3, 0)
    assert all(" GmbH" not in m.body for m in Message.objects.filter(batch=batch))

    client.force_login(rita)
    page = client.get(reverse("admin:core_batch_change", args=[batch.pk]))
    assert page.status_code == 200

    batch_approve(batch_id=batch.pk, actor=rita)
    batch_send(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.SENT
    assert set(Message.objects.filter(batch=batch).values_list("send_status", flat=True)) == {
        SendStatus.SENT
    }
    assert len(smtp_server.messages) == 3

    token = token_issue(client=acme_campaign.client, label="big", actor=oscar)[1]
    api = client.get(f"/api/v1/batches/{batch.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200 and api.json()["id"] == batch.pk
