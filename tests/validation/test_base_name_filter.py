"""The base_name template filter, as a campaign template would use it."""

from django.template import Context, Engine

ENGINE = Engine(autoescape=False, builtins=["apps.validation.templatetags.company_names"])


def render(source, **context):
    return ENGINE.from_string(source).render(Context(context, autoescape=False))


def test_the_filter_strips_legal_forms_until_stable():
    assert render("Hi {{ company|base_name }} team,", company="Acme Co., Ltd.") == "Hi Acme team,"


def test_the_filter_keeps_brand_words_and_empty_values():
    assert render("{{ company|base_name }}", company="The Trading Company Ltd") == "The Trading Company"
    assert render("[{{ company|base_name }}]", company="") == "[]"
    assert render("[{{ missing|base_name }}]") == "[]"


def test_templates_can_load_it_by_name():
    engine = Engine(autoescape=False, libraries={"company_names": "apps.validation.templatetags.company_names"})
    template = engine.from_string("{% load company_names %}{{ company|base_name }}")

    assert template.render(Context({"company": "Initech Inc."})) == "Initech"
