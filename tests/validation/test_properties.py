"""Properties that must hold for any text, found by hypothesis rather than by our imagination."""

import re
import string
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from apps.validation.checks.base import FIELDS, MessageFields, RuleConfig
from apps.validation.checks.legal_forms import (
    TERMS,
    base_name,
    check_legal_forms,
    find_legal_forms,
    legal_form_regex,
)
from apps.validation.suite import CHECKS, NEEDS_DNS, BatchChecks

from .helpers import apply_suggestions

PARAMETERS: dict[str, dict[str, Any]] = {
    "banned_phrase": {"phrases": ["free"], "patterns": [r"\d{3,}"]},
    "opt_out": {"required": True},
    "content_length": {"max_subject_chars": 20, "max_body_chars": 200},
}
RULES = [RuleConfig(code, "block", 1, PARAMETERS.get(code, {})) for code in CHECKS]
texts = st.text(max_size=200)
fields = st.builds(MessageFields, **{name: texts for name in FIELDS})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields)
def test_no_check_crashes_on_any_text_and_spans_stay_inside_the_field(message):
    for rule in RULES:
        if rule.code in NEEDS_DNS:
            continue
        # Called directly: run_checks would turn a crash into a finding and hide it.
        for finding in CHECKS[rule.code](message, rule, None):
            if finding.start is not None:
                text = getattr(message, finding.field)
                assert 0 <= finding.start <= finding.end <= len(text)
    BatchChecks(RULES).findings(message.email, "message 1", {message.email})
    base_name(message.company)


# Text that is mostly prose around legal forms: the terms themselves in varied case and
# spacing, the company name, and punctuation where forms are usually written.
company_names = st.sampled_from(["Acme", "Acme Inc.", "Hello World Co. Ltd", "AG Barr plc", ""])
pieces = st.one_of(
    st.sampled_from([t.term for t in TERMS]).map(lambda t: t),
    st.sampled_from([t.term.upper() for t in TERMS] + [t.term.replace(".", "") for t in TERMS]),
    st.sampled_from(["Acme", " ", ", ", ". ", "(", ")", "'s", "\n", "Hi ", " team", "the "]),
    st.text(alphabet=string.ascii_letters + " .,", max_size=8),
)
bodies = st.lists(pieces, max_size=12).map("".join)


@settings(max_examples=500, deadline=None)
@given(company_names, bodies)
# Found by random runs: deleting the form joined its neighbours into a new one ("S" + "rl"
# read "Srl"; "S.A.O.G." + "K" read "G.K").
@example(company="Acme", body="S股份有限公司Sa rl")
@example(
    company="Acme",
    body="Gesellschaft mit beschränkter HaftungS.A.O.G.Gesellschaft mit beschränkter Haftung K",
)
def test_applying_every_legal_form_suggestion_leaves_no_legal_form(company, body):
    fields = MessageFields(company=company, body=body)

    fixed = apply_suggestions(body, check_legal_forms(fields, "block"))

    assert check_legal_forms(MessageFields(company=company, body=fixed), "block") == []


@settings(max_examples=500, deadline=None)
@given(bodies)
def test_the_fast_scan_finds_what_the_regex_finds(body):
    # One blank at a time: the automaton's keys cover the spacing people type, the regexes
    # also odd runs inside a form ("S.  de R.L.", "Company \nLimited"), which the fast scan
    # finds in pieces (a run of forms) instead.
    body = re.sub(r"\s+", lambda run: run.group()[0], body)

    fast = [(m.span(), m.lastgroup) for m in find_legal_forms(body)]
    slow = [(m.span(), m.lastgroup) for m in legal_form_regex().finditer(body)]

    assert fast == slow


names = st.lists(pieces, min_size=1, max_size=5).map("".join).map(lambda n: " ".join(n.split()))


@settings(max_examples=500, deadline=None)
@given(names)
def test_base_names_find_the_forms_the_regexes_find(name):
    from apps.validation.checks import legal_forms

    trailing = legal_forms._WHOLE["trailing"].search(name)
    leading = legal_forms._WHOLE["leading"].match(name)

    assert legal_forms._trailing_form(name) == (
        (trailing.start(), trailing.lastgroup) if trailing else None
    )
    assert legal_forms._leading_form(name) == (
        (leading.end(), leading.lastgroup) if leading else None
    )


@settings(max_examples=500, deadline=None)
@given(names)
def test_base_names_are_the_same_as_the_regexes_alone_would_make_them(name):
    # base_name scans a name once and keeps, of a cut name, the places found inside it; with
    # no scan at all (_candidate_starts None) it asks the regexes at every position instead.
    from unittest import mock

    from apps.validation.checks import legal_forms

    fast = legal_forms.base_name.__wrapped__(name)
    with mock.patch.object(legal_forms, "_candidate_starts", lambda text: None):
        slow = legal_forms.base_name.__wrapped__(name)

    assert fast == slow
