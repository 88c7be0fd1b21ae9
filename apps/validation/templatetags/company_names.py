"""{{ company|base_name }} in campaign templates: the name as a person writes it
("Initech Inc." -> "Initech"), so a template cannot put a legal form into the message.

Campaign templates are rendered by apps.generation's own Engine; it needs this module in its
builtins (builtins=["apps.validation.templatetags.company_names"]) or {% load company_names %}.
"""

from django import template

from apps.validation.checks.legal_forms import base_name as _base_name

register = template.Library()


@register.filter(name="base_name", is_safe=True)
def base_name(value) -> str:
    return _base_name(str(value)) if value else ""
