"""The chunk renderer (MessageRenderer) keeps what each template node rendered for the values it
read, so a chunk renders what its prospects share once, and works simple variables out without
Django. It must give exactly what Django's own rendering (render_message) gives, message after
message, whatever the values repeat, whatever their type, whichever are missing."""


from hypothesis import given, settings
from hypothesis import strategies as st

from apps.generation import rendering
from apps.generation.rendering import (
    MessageRenderer,
    TemplateTexts,
    compile_templates,
    render_message,
)

SUBJECT = "{{ company|company_name }} x {{ first_name|default:company|upper }}"
BODIES = [
    # Filters, chained and with an argument that is itself a variable.
    "Hi {{ first_name|name_case|first_name_or }},\n{{ company|company_name }} in "
    "{{ custom.country|default:'your country' }}.\n{{ title|default:last_name }}\n"
    "{{ sender_name }}",
    # Conditions whose branches read other variables than the condition does.
    "{% if title %}as {{ title|lower }}{% elif custom.vip == 'yes' %}dear {{ last_name }}"
    "{% else %}{% firstof company 'your team' %}{% endif %}!",
    "{% if first_name and company != last_name %}{{ first_name }}/{{ company }}{% endif %}"
    "{% comment %}not shown{% endcomment %}{% if custom.vip in 'yes maybe' %}VIP{% endif %}",
    # firstof ... as x writes the context: rendered by Django every time, never kept.
    "{% firstof title first_name company as x %}[{{ company|truncatechars:6 }}]",
    # A custom field some prospects lack renders as Django renders a missing variable.
    "{{ custom.plan }}|{{ custom.plan|yesno:'a,b,c' }}|{{ campaign }}",
    # Variables worked out without Django: filters chained, a filter whose result is not text
    # (length), a flagged one (lower: is_safe) after them, a dict method's name as a custom key
    # (Django calls dict.items when the key is missing).
    "{{ first_name|name_case|first_name_or }} {{ last_name|upper|company_name }} "
    "{{ custom.country|name_case }}{{ custom.plan }}{{ title }}"
    "{{ custom.vip|first_name_or|length }}"
    "{{ company|company_name|name_case|lower }}{{ custom.items|upper }}{{ sender_name }}",
]
texts = st.sampled_from(["", "ann", "ANN", "van der berg", "Acme, Inc.", "Acme Ltd", "yes", "-",
                         "mcdonald", "o'BRIEN", "first7", "42", " jo  ann ", "ÉLODIE"])


def called() -> str:
    return "CALLED"  # Django calls a callable it finds in the context


# Besides text, what a context built by hand might hold: None, numbers, booleans, a list, a
# callable.
values = st.one_of(texts, texts, st.text(max_size=8), st.none(), st.integers(-2, 2),
                   st.booleans(), st.just(["a"]), st.just(called))
custom_keys = st.sampled_from(["country", "vip", "plan", "items"])
prospects = st.fixed_dictionaries(
    {"first_name": values, "company": values},  # the subject's filter argument needs them
    # A missing variable renders as Django renders it (string_if_invalid).
    optional={"last_name": values, "title": values,
              "custom": st.one_of(st.dictionaries(custom_keys, values, max_size=4), values)},
)


def context(prospect: dict) -> dict:
    return {**prospect, "email": "a@b.com", "sender_name": "Sam", "sender_email": "s@o.test",
            "campaign": "Spring"}


def outcome(render, templates, prospect):
    """What rendering gives: the texts, or the error raised (a filter's argument that is
    missing, say: a context built by context_of always has every plain field)."""
    try:
        return render(templates, context(prospect))
    except Exception as exc:  # noqa: BLE001  (compared, not hidden)
        return type(exc)


def compiled(body: str):
    return compile_templates(TemplateTexts(subject_template=SUBJECT, body_template=body))


@settings(max_examples=150)
@given(body=st.sampled_from(BODIES), chunk=st.lists(prospects, min_size=1, max_size=25),
       string_if_invalid=st.sampled_from(["", "INVALID", "<%s?>"]))
def test_a_chunk_renders_as_django_renders_each_message(body, chunk, string_if_invalid):
    templates = compiled(body)
    renderer = MessageRenderer(templates)
    engine_default = rendering.ENGINE.string_if_invalid
    rendering.ENGINE.string_if_invalid = string_if_invalid
    try:
        for prospect in chunk:
            assert outcome(lambda _, c: renderer.render(c), templates, prospect) == outcome(
                render_message, templates, prospect
            )
    finally:
        rendering.ENGINE.string_if_invalid = engine_default


def test_a_value_seen_before_is_not_rendered_again_and_a_new_one_is():
    templates = compiled("{% if company %}{{ company|company_name }}{% endif %} in "
                         "{{ custom.country|default:'your country' }}")
    renderer = MessageRenderer(templates)
    first = renderer.render(context({"first_name": "ann", "last_name": "", "company": "Acme, Inc.",
                                     "title": "", "custom": {"country": "Peru"}}))
    again = renderer.render(context({"first_name": "bob", "last_name": "", "company": "Acme, Inc.",
                                     "title": "", "custom": {"country": "Chile"}}))
    assert (first[1], again[1]) == ("Acme in Peru", "Acme in Chile")
    company_node = [part for part in renderer._body.parts if part[2] == (("company",),)]
    assert [list(part[3].values()) for part in company_node] == [["Acme"]]  # rendered once


def test_a_simple_variable_is_worked_out_without_django_and_not_kept():
    templates = compiled(BODIES[0])
    renderer = MessageRenderer(templates)
    # Were Django's node asked, it would fail: the values are worked out from the dict alone.
    for part in renderer._body.parts:
        if part[4] is not None:
            part[0].render_annotated = None
    _, body = renderer.render(
        context(
            {
                "first_name": "ann",
                "last_name": "",
                "company": "Acme, Inc.",
                "title": "cto",
                "custom": {"country": "Peru"},
            }
        )
    )
    assert body.startswith("Hi Ann,\nAcme in Peru.")
    first_name_node = [part for part in renderer._body.parts if part[2] == (("first_name",),)]
    assert [part[3] for part in first_name_node] == [{}]
