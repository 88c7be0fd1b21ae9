"""The outbound filters: company names without legal forms, a fallback for blank first names,
and name casing that leaves names already in mixed case alone."""

import pytest

from apps.generation.names import company_name, first_name_or, name_case
from apps.generation.rendering import ENGINE
from django.template import Context


@pytest.mark.parametrize(
    "raw, expected",
    [("Acme, Inc.", "Acme"), ("360Networks Inc.", "360Networks"), ("  Initech   GmbH ", "Initech"),
     ("Hooli", "Hooli"), ("", "")],
)
def test_company_name_drops_legal_forms(raw, expected):
    assert company_name(raw) == expected


@pytest.mark.parametrize(
    "raw, fallback, expected",
    [("Peter", None, "Peter"), ("", None, "there"), ("  ", None, "there"), ("N/A", None, "there"),
     ("-", "friend", "friend"), (None, None, "there")],
)
def test_first_name_or(raw, fallback, expected):
    assert (first_name_or(raw) if fallback is None else first_name_or(raw, fallback)) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("McDonald", "McDonald"), ("van der Berg", "van der Berg"), ("DeShawn", "DeShawn"),
        ("PETER", "Peter"), ("peter", "Peter"), ("MCDONALD", "McDonald"),
        ("o'brien", "O'Brien"), ("SMITH-JONES", "Smith-Jones"), ("VAN DER BERG", "van der Berg"),
        ("jean de la fontaine", "Jean de la Fontaine"), ("  anna  ", "Anna"), ("", ""),
    ],
)
def test_name_case(raw, expected):
    assert name_case(raw) == expected


def test_filters_are_registered_on_the_private_engine():
    template = ENGINE.from_string(
        "{{ first_name|name_case|first_name_or }} {{ last_name|name_case }} of {{ company|company_name }}"
    )
    context = Context({"first_name": "", "last_name": "van der Berg", "company": "Acme, Inc."})
    assert template.render(context) == "there van der Berg of Acme"
