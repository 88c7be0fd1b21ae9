"""Templates render as plain text from plain data, once per prospect, and bad templates are
refused before a batch starts."""

import pytest

from apps.core.audit import SYSTEM
from apps.core.errors import ServiceError
from apps.core.models import AuditEvent, Batch, BatchStatus, Message
from apps.generation.services import batch_generate, batch_start
from tests.conftest import make_campaign

pytestmark = pytest.mark.django_db


def test_text_is_not_html_escaped(
    acme_client, acme_prospects, oscar, django_capture_on_commit_callbacks
):
    acme_prospects[0].company = "Chotchkie's & Sons <Deli>"
    acme_prospects[0].save()
    campaign = make_campaign(
        acme_client, subject_template="For {{ company }}", body_template="{{ company }}"
    )
    with django_capture_on_commit_callbacks(execute=False):
        batch = batch_start(campaign=campaign, prospects=acme_prospects[:1], actor=oscar)
    batch_generate(batch_id=batch.pk)
    message = Message.objects.get(batch=batch)
    assert message.subject == "For Chotchkie's & Sons <Deli>"
    assert message.body == "Chotchkie's & Sons <Deli>"


def test_templates_see_plain_data_not_models(
    acme_client, acme_prospects, oscar, django_capture_on_commit_callbacks
):
    # Filters and custom fields work on the plain data; reaching through it is refused (see
    # test_template_sandbox.py).
    campaign = make_campaign(
        acme_client,
        subject_template="{{ first_name }}",
        body_template="[{{ first_name|upper }}][{{ custom.plan }}][{{ sender_email }}]",
    )
    acme_prospects[0].custom_fields = {"plan": "gold"}
    acme_prospects[0].save()
    with django_capture_on_commit_callbacks(execute=False):
        batch = batch_start(campaign=campaign, prospects=acme_prospects[:1], actor=oscar)
    batch_generate(batch_id=batch.pk)
    message = Message.objects.get(batch=batch)
    assert message.body == "[PETER][gold][sam@outbound.test]"


def test_one_message_per_prospect_then_validating(
    acme_campaign, acme_prospects, oscar, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        batch = batch_start(campaign=acme_campaign, prospects=acme_prospects, actor=oscar)
    assert len(callbacks) == 1  # the generate job, enqueued on commit
    batch_generate(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.VALIDATING
    assert sorted(
        Message.objects.filter(batch=batch).values_list("recipient", flat=True)
    ) == sorted(p.email for p in acme_prospects)
    actions = list(AuditEvent.objects.filter(batch=batch).values_list("action", "actor"))
    assert actions == [("batch_started", oscar.pk), ("batch_generated", SYSTEM)]


def test_bad_template_is_refused_before_the_batch_exists(acme_client, acme_prospects, oscar):
    campaign = make_campaign(acme_client, body_template="Hi {% if first_name %}")
    with pytest.raises(ServiceError, match="body template"):
        batch_start(campaign=campaign, prospects=acme_prospects, actor=oscar)
    assert not Batch.objects.exists()


def test_prospects_of_another_client_are_refused(acme_campaign, globex_client, oscar):
    from apps.core.models import Prospect

    outsider = Prospect.objects.create(client=globex_client, email="x@globex.com")
    with pytest.raises(ServiceError, match="client"):
        batch_start(campaign=acme_campaign, prospects=[outsider], actor=oscar)
    assert not Batch.objects.exists()


def test_rendered_text_is_not_marked_safe_for_html():
    """Prospect data in a rendered message must be escaped by any page that shows it."""
    from types import SimpleNamespace

    from django.utils.safestring import SafeData

    from apps.generation.rendering import compile_templates, render_message

    compiled = compile_templates(
        SimpleNamespace(subject_template="{{ company }}", body_template="{{ company }}")
    )
    subject, body = render_message(compiled, {"company": "<b>x</b>"})
    assert body == "<b>x</b>"
    assert not isinstance(subject, SafeData) and not isinstance(body, SafeData)
