"""The chunk renderer (MessageRenderer) keeps what each template node rendered for the values it
read, so a chunk renders what its prospects share once. It must give exactly what Django's own
rendering (render_message) gives, message after message, whatever the values repeat."""

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.generation.rendering import MessageRenderer, compile_templates, render_message

SUBJECT = "{{ company|company_name }} x {{ first_name|default:company|upper }}"
BODIES = [
    # Filters, chained and with an argument that is itself a variable.
    "Hi {{ first_name|name_case|first_name_or }},\n{{ company|company_name }} in "
    "{{ custom.country|default:'your country' }}.\n{{ title|default:last_name }}\n{{ sender_name }}",
    # Conditions whose branches read other variables than the condition does.
    "{% if title %}as {{ title|lower }}{% elif custom.vip == 'yes' %}dear {{ last_name }}"
    "{% else %}{% firstof company 'your team' %}{% endif %}!",
    "{% if first_name and company != last_name %}{{ first_name }}/{{ company }}{% endif %}"
    "{% comment %}not shown{% endcomment %}{% if custom.vip in 'yes maybe' %}VIP{% endif %}",
    # firstof ... as x writes the context: rendered by Django every time, never kept.
    "{% firstof title first_name company as x %}[{{ company|truncatechars:6 }}]",
    # A custom field some prospects lack renders as Django renders a missing variable.
    "{{ custom.plan }}|{{ custom.plan|yesno:'a,b,c' }}|{{ campaign }}",
]
values = st.sampled_from(["", "ann", "ANN", "van der berg", "Acme, Inc.", "Acme Ltd", "yes", "-"])
prospects = st.fixed_dictionaries({
    "first_name": values, "last_name": values, "company": values, "title": values,
    "custom": st.dictionaries(st.sampled_from(["country", "vip", "plan"]), values, max_size=3),
})


def context(prospect: dict) -> dict:
    return {**prospect, "email": "a@b.com", "sender_name": "Sam", "sender_email": "s@o.test",
            "campaign": "Spring"}


def compiled(body: str):
    return compile_templates(SimpleNamespace(subject_template=SUBJECT, body_template=body))


@settings(max_examples=60)
@given(body=st.sampled_from(BODIES), chunk=st.lists(prospects, min_size=1, max_size=25))
def test_a_chunk_renders_as_django_renders_each_message(body, chunk):
    templates = compiled(body)
    renderer = MessageRenderer(templates)
    for prospect in chunk:
        assert renderer.render(context(prospect)) == render_message(templates, context(prospect))


def test_a_value_seen_before_is_not_rendered_again_and_a_new_one_is():
    templates = compiled(BODIES[0])
    renderer = MessageRenderer(templates)
    first = renderer.render(context({"first_name": "ann", "last_name": "", "company": "Acme, Inc.",
                                     "title": "", "custom": {"country": "Peru"}}))
    again = renderer.render(context({"first_name": "bob", "last_name": "", "company": "Acme, Inc.",
                                     "title": "", "custom": {"country": "Chile"}}))
    assert first[1].startswith("Hi Ann,\nAcme in Peru.")
    assert again[1].startswith("Hi Bob,\nAcme in Chile.")
    company_node = [part for part in renderer._body.parts if part[2] == (("company",),)]
    assert [list(part[3].values()) for part in company_node] == [["Acme"]]  # rendered once
