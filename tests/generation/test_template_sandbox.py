"""A template with a syntax error, a missing variable or a reach beyond plain data is refused
before the batch starts, with the template and the line."""

import pytest

from apps.core.errors import ServiceError
from apps.core.models import Batch
from apps.generation.rendering import TemplateRefused
from apps.generation.services import batch_start
from tests.conftest import make_campaign

pytestmark = pytest.mark.django_db

INTRO = "Hi {{ first_name }},\n\n"


@pytest.mark.parametrize(
    "body, line, says",
    [
        (INTRO + "{% if company %}\nnice", 3, "Unclosed tag"),
        (INTRO + "{{ company|nosuchfilter }}", 3, "Invalid filter"),
        (INTRO + "{{ first_nme }}", 3, "unknown variable 'first_nme'"),
        (
            INTRO + "{% if title %}\n{{ prospect.client.name }}{% endif %}",
            4,
            "unknown variable 'prospect.client.name'",
        ),
        (INTRO + "\n{{ first_name.upper }}", 4, "reaches beyond plain data"),
        (
            INTRO + "{{ company.__class__ }}",
            3,
            "Variables and attributes may not begin with underscores",
        ),
        (INTRO + "{{ custom.plan.items }}", 3, "custom.<field>"),
        (INTRO + "{% load static %}", 3, "Invalid block tag on line 3: 'load'"),
        (INTRO + "{% include 'admin/base.html' %}", 3, "'include'"),
        (INTRO + "{% extends 'admin/base.html' %}", 3, "'extends'"),
        (INTRO + "{% ssi '/etc/passwd' %}", 3, "'ssi'"),
        (INTRO + "{% debug %}", 3, "'debug'"),
        (INTRO + "{{ company|pprint }}", 3, "Invalid filter: 'pprint'"),
        (INTRO + "{% if company == secret_key %}x{% endif %}", 3, "unknown variable 'secret_key'"),
        (INTRO + "{{ company|default:settings }}", 3, "unknown variable 'settings'"),
        (INTRO + "{{ first_name", 3, "never closed"),
    ],
)
def test_bad_body_is_refused_with_its_line(acme_client, acme_prospects, oscar, body, line, says):
    campaign = make_campaign(acme_client, body_template=body)
    with pytest.raises(TemplateRefused) as refused:
        batch_start(campaign=campaign, prospects=acme_prospects, actor=oscar)
    problem = refused.value.problems[0]
    assert (problem.template, problem.line) == ("body", line)
    assert says in problem.message
    assert f"body template, line {line}:" in str(refused.value)
    assert not Batch.objects.exists()


def test_subject_problems_name_the_subject(acme_client, acme_prospects, oscar):
    campaign = make_campaign(acme_client, subject_template="For {{ compny }}")
    with pytest.raises(ServiceError, match="subject template, line 1: unknown variable 'compny'"):
        batch_start(campaign=campaign, prospects=acme_prospects, actor=oscar)


def test_a_custom_field_some_prospect_lacks_is_refused(acme_client, acme_prospects, oscar):
    acme_prospects[0].custom_fields = {"plan": "gold"}
    acme_prospects[0].save()
    campaign = make_campaign(acme_client, body_template="Your {{ custom.plan }} plan")
    with pytest.raises(ServiceError, match=r"custom.plan is missing for 2 prospect\(s\)"):
        batch_start(campaign=campaign, prospects=acme_prospects, actor=oscar)
    assert not Batch.objects.exists()


def test_allowed_tags_and_filters_pass(
    acme_client, acme_prospects, oscar, django_capture_on_commit_callbacks
):
    body = (
        "{% comment %}internal{% endcomment %}Hi {{ first_name|name_case|first_name_or }},\n"
        "{% if title %}as {{ title|lower }}{% elif company %}at {{ company|company_name }}"
        "{% else %}{% firstof company 'your team' %}{% endif %}"
    )
    campaign = make_campaign(acme_client, body_template=body)
    with django_capture_on_commit_callbacks(execute=False):
        assert batch_start(campaign=campaign, prospects=acme_prospects, actor=oscar)
