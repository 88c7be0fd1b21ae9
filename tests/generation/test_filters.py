"""The outbound filters: company names without legal forms, a fallback for blank first names,
and name casing that leaves names already in mixed case alone."""

import string

import pytest
from django.template import Context
from hypothesis import given
from hypothesis import strategies as st

from apps.generation.names import _words_case, company_name, first_name_or, name_case
from apps.generation.rendering import ENGINE


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


# Words of ASCII letters and digits take a shorter way (one word, no parts): it must end where
# the way of every other name ends. "mc" and particles are drawn often; a stray character
# (space, hyphen, accent) sends the name the long way, as the boundary of the short one.
name_pieces = st.sampled_from(["mc", "MC", "Mc", "van", "de", "o", "7", "x", "ée", " ", "-"])
names = st.one_of(
    st.text(alphabet=string.ascii_letters + string.digits, max_size=12),
    st.lists(st.one_of(name_pieces, st.text(string.ascii_letters, max_size=4)), max_size=5)
    .map("".join),
)


@given(names)
def test_name_case_of_one_ascii_word_is_the_general_answer(raw):
    assert name_case(raw) == _words_case(" ".join(raw.split()))


def test_filters_are_registered_on_the_private_engine():
    template = ENGINE.from_string(
        "{{ first_name|name_case|first_name_or }} {{ last_name|name_case }} of "
        "{{ company|company_name }}"
    )
    context = Context({"first_name": "", "last_name": "van der Berg", "company": "Acme, Inc."})
    assert template.render(context) == "there van der Berg of Acme"
