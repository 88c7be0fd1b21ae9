"""The only tags and filters campaign templates may use (the private engine's builtins).

Django's own builtins are not loaded: no {% load %}, {% include %}, {% extends %}, {% block %},
{% debug %}, {% url %}, {% csrf_token %}, {% templatetag %} — nothing that reads a file, another
template, the settings or the context as a whole. What remains is text, conditions and the
filters an outbound message needs.
"""

from django.template import Library, defaultfilters, defaulttags

from apps.generation.names import company_name, first_name_or, name_case

register = Library()

for tag in ("if", "firstof", "comment"):
    register.tag(tag, defaulttags.register.tags[tag])

SAFE_DJANGO_FILTERS = (
    "default", "default_if_none", "upper", "lower", "title", "capfirst", "cut", "truncatechars",
    "truncatewords", "wordwrap", "length", "yesno", "pluralize", "first", "last", "join",
)
for name in SAFE_DJANGO_FILTERS:
    register.filter(name, defaultfilters.register.filters[name])

register.filter("company_name", company_name)
register.filter("first_name_or", first_name_or)
register.filter("name_case", name_case)
