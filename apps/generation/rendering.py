"""Rendering campaign templates with Django's template engine, sandboxed.

- A private engine whose only builtins are apps/generation/template_library.py: no tag that
  loads, includes or extends, no loaders at all, no autoescaping (the output is plain text).
- Templates see a dict of strings (prospect, custom and campaign fields), never model
  instances, so there is nothing to reach through.
- Before a batch starts, `check_templates` compiles both templates and walks every variable:
  a syntax error, an unknown variable or a reach beyond plain data ({{ first_name.upper }},
  {{ prospect.client }}) is refused with the template and the line, once, not per message.
- A chunk is rendered by one MessageRenderer: Django's nodes render each distinct set of values
  once per chunk (the same text render_message gives, at a fraction of the cost).
"""

from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, Protocol

from django.template import Context, Engine, Node, TemplateSyntaxError
from django.template.base import FilterExpression, Template, TextNode, Variable, VariableNode
from django.template.defaulttags import CommentNode, FirstOfNode, IfNode

from apps.core.errors import ServiceError
from apps.core.models import Campaign, Prospect

PLAIN_FIELDS = (
    "first_name", "last_name", "company", "title", "email", "sender_name", "sender_email",
    "campaign",
)
MAX_TEMPLATE_LENGTH = 20_000


class SandboxedEngine(Engine):
    default_builtins = ["apps.generation.template_library"]


# debug=True only adds line numbers to syntax errors; autoescape off: this is plain text.
ENGINE = SandboxedEngine(debug=True, autoescape=False, loaders=[], libraries={})


@dataclass(frozen=True)
class TemplateProblem:
    template: str  # "subject" or "body"
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.template} template, line {self.line}: {self.message}"


class TemplateRefused(ServiceError):
    def __init__(self, problems: list[TemplateProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


# What a template sees of a prospect: these fields, read as plain values (values() rows).
PROSPECT_FIELDS = ("first_name", "last_name", "company", "title", "email", "custom_fields")


def prospect_context(*, prospect: Prospect, campaign: Campaign) -> dict[str, object]:
    return context_of(
        {name: getattr(prospect, name) for name in PROSPECT_FIELDS}, campaign_values(campaign)
    )


def campaign_values(campaign: Campaign) -> dict[str, str]:
    return {"sender_name": campaign.sender_name, "sender_email": campaign.sender_email,
            "campaign": campaign.name}


def context_of(prospect: Mapping[str, Any], campaign: dict[str, str]) -> dict[str, object]:
    """The template context of one prospect (a dict with PROSPECT_FIELDS) in one campaign."""
    return {
        "first_name": prospect["first_name"],
        "last_name": prospect["last_name"],
        "company": prospect["company"],
        "title": prospect["title"],
        "email": prospect["email"],
        "custom": {str(k): str(v) for k, v in (prospect["custom_fields"] or {}).items()},
        **campaign,
    }


class TemplateSource(Protocol):
    """What compile_templates reads: a campaign, or the two templates a batch was started with."""

    @property
    def subject_template(self) -> str: ...

    @property
    def body_template(self) -> str: ...


@dataclass(frozen=True)
class TemplateTexts:
    subject_template: str
    body_template: str


@dataclass
class CompiledTemplates:
    subject: Template
    body: Template
    custom_keys: set[str]  # custom.<key> the templates use: every prospect must have them


def compile_templates(campaign: TemplateSource) -> CompiledTemplates:
    """Both templates compiled and checked; raises TemplateRefused naming template and line."""
    problems: list[TemplateProblem] = []
    compiled: dict[str, Template] = {}
    custom_keys: set[str] = set()
    for label, source in (("subject", campaign.subject_template), ("body", campaign.body_template)):
        if len(source) > MAX_TEMPLATE_LENGTH:
            problems.append(
                TemplateProblem(label, 1, f"longer than {MAX_TEMPLATE_LENGTH} characters")
            )
            continue
        try:
            compiled[label] = ENGINE.from_string(source)
        except TemplateSyntaxError as exc:
            line = getattr(exc, "template_debug", {}).get("line", 1)
            problems.append(TemplateProblem(label, line, _syntax_message(exc)))
            continue
        problems += _check_variables(label, compiled[label], custom_keys)
    if problems:
        raise TemplateRefused(problems)
    return CompiledTemplates(compiled["subject"], compiled["body"], custom_keys)


def _syntax_message(exc: TemplateSyntaxError) -> str:
    message = str(exc)
    if message.startswith("Invalid block tag"):
        message += " (templates may use only if, elif, else, firstof and comment)"
    elif message.startswith("Invalid filter"):
        message += " (see the README for the filters templates may use)"
    return message


def _expressions(node: Node):
    """Every FilterExpression a node evaluates (variables, and filter arguments below)."""
    if isinstance(node, IfNode):
        for condition, _ in node.conditions_nodelists:
            yield from _condition_expressions(condition)
    for value in vars(node).values():
        if isinstance(value, FilterExpression):
            yield value
        elif isinstance(value, list | tuple):
            yield from (v for v in value if isinstance(v, FilterExpression))


def _condition_expressions(condition):
    if condition is None:
        return
    if hasattr(condition, "value") and isinstance(condition.value, FilterExpression):
        yield condition.value
    for side in ("first", "second"):
        if getattr(condition, side, None) is not None:
            yield from _condition_expressions(getattr(condition, side))


def _variables(expression: FilterExpression):
    if isinstance(expression.var, Variable):
        yield expression.var
    for _, args in expression.filters:
        for lookup, arg in args:
            if lookup and isinstance(arg, Variable):
                yield arg


def _check_variables(
    label: str, template: Template, custom_keys: set[str]
) -> list[TemplateProblem]:
    problems = []
    for node in template.nodelist.get_nodes_by_type(Node):
        token = getattr(node, "token", None)
        line = token.lineno if token else 1
        if isinstance(node, TextNode):
            opened = min((i for i in (node.s.find("{{"), node.s.find("{%")) if i >= 0), default=-1)
            if opened >= 0:
                line += node.s[:opened].count("\n")
                problems.append(TemplateProblem(label, line, "a '{{' or '{%' is never closed"))
        for expression in _expressions(node):
            for variable in _variables(expression):
                message = _variable_problem(variable, custom_keys)
                if message:
                    problems.append(TemplateProblem(label, line, message))
    return problems


def _variable_problem(variable: Variable, custom_keys: set[str]) -> str:
    lookups = variable.lookups
    if lookups is None:
        return ""  # a number or a quoted string
    name = ".".join(lookups)
    if lookups[0] == "custom":
        if len(lookups) == 2:
            custom_keys.add(lookups[1])
            return ""
        return f"'{{{{ {name} }}}}': write custom.<field>, e.g. custom.industry"
    if lookups[0] in PLAIN_FIELDS:
        if len(lookups) == 1:
            return ""
        return (f"'{{{{ {name} }}}}' reaches beyond plain data: templates see text only; "
                "use a filter (e.g. |upper) instead")
    return (f"unknown variable '{name}': templates know {', '.join(PLAIN_FIELDS)} "
            "and custom.<field>")


def render_message(compiled: CompiledTemplates, context: dict[str, object]) -> tuple[str, str]:
    subject = compiled.subject.render(Context(context, autoescape=False)).strip()
    body = compiled.body.render(Context(context, autoescape=False))
    return _plain(subject), _plain(body)


class MessageRenderer:
    """Renders the campaign's templates for many prospects (a chunk), with the same result as
    render_message for each, at a fraction of the cost.

    Django renders a template as the concatenation of its top-level nodes' output. No tag or
    filter a campaign template may use keeps state or writes the context (checked below, node
    by node), so each top-level node's output depends only on the values of the variables it
    reads: "{{ company|company_name }}" comes out the same for every prospect of the same
    company. The renderer keeps each node's output by those values and asks Django's node to
    render only for values it has not seen, in one Context that is reused (pushed and popped)
    instead of a new one per message. Text between tags is copied as it is.

    A value that differs for every prospect ("{{ first_name|name_case }}") gains nothing from
    being kept, and Django's way to it (resolve the variable through the Context, each filter
    through its flags, then render_value_in_context) costs more than the filters themselves.
    So a variable node simple enough to be worked out with a dict lookup and plain calls of
    its filters is worked out so (see _direct_value), Django's node standing in for anything
    outside that.
    """

    def __init__(self, compiled: CompiledTemplates):
        self._subject = _TemplateSession(compiled.subject)
        self._body = _TemplateSession(compiled.body)

    def render(self, context: dict[str, object]) -> tuple[str, str]:
        subject = self._subject.render(context).strip()
        return _plain(subject), _plain(self._body.render(context))


# Nodes whose output is a function of the variables they read: they neither keep state between
# renders (as cycle or ifchanged do) nor write the context ({% firstof ... as x %} does).
_PURE_NODES = (TextNode, VariableNode, IfNode, FirstOfNode, CommentNode)
MAX_KEPT_PER_NODE = 20_000  # outputs kept per node and session (a chunk): bounded memory
_MISSING = object()  # a variable the context lacks: Django renders it as "", and so do we
_NOT_KEPT = object()  # a node whose output is not kept: rendered by Django every time


class _TemplateSession:
    def __init__(self, template):
        self.template = template
        # Set up once as Template.render does around its nodes (render_annotated needs the
        # template for its line numbers); each message's values are pushed on top, then popped.
        self.context = Context(autoescape=False)
        self._bound = ExitStack()
        self._bound.enter_context(self.context.render_context.push_state(template))
        self._bound.enter_context(self.context.bind_template(template))
        # Per top-level node: its constant text; or how to work its value out directly (None:
        # not simple enough), the lookups its output depends on (None when it must be rendered
        # every time) and what Django rendered for each set of values.
        self.parts = [_node_part(node) for node in template.nodelist]

    def render(self, values: dict[str, object]) -> str:
        out = []
        pushed = False
        try:
            for node, text, lookups, kept, direct in self.parts:
                if text is None and direct is not None:
                    text = direct(values)  # None: this prospect's values need Django
                if text is None:
                    key = _NOT_KEPT if lookups is None else _key(values, lookups)
                    text = None if key is _NOT_KEPT else kept.get(key)
                    if text is None:
                        if not pushed:
                            self.context.push(values)
                            pushed = True
                        text = node.render_annotated(self.context)
                        if key is not _NOT_KEPT and len(kept) < MAX_KEPT_PER_NODE:
                            kept[key] = text
                out.append(text)
        finally:
            if pushed:
                self.context.pop()
        return "".join(out)


def _node_part(node: Node):
    """(node, constant text, lookups, kept outputs, direct evaluator) for one top-level node."""
    if type(node) is TextNode:
        return node, node.s, None, None, None
    subtree = node.get_nodes_by_type(Node)
    if any(type(n) not in _PURE_NODES or getattr(n, "asvar", None) for n in subtree):
        return node, None, None, None, None
    lookups = set()
    for part in subtree:
        for expression in _expressions(part):
            for variable in _variables(expression):
                if variable.lookups is not None:
                    lookups.add(tuple(variable.lookups))
    if any(len(lookup) > 2 for lookup in lookups):
        return node, None, None, None, None  # not plain data (check_templates refuses it anyway)
    return node, None, tuple(sorted(lookups)), {}, _direct_value(node)


# A filter Django calls with more than the value when one of these flags is set (the time
# zone, the autoescape switch) or whose output it marks safe: left to Django.
_FILTER_FLAGS = ("is_safe", "needs_autoescape", "expects_localtime")


def _direct_value(node: Node):
    """For "{{ name|f|g }}" or "{{ custom.key|f }}", with filters that take no argument and
    carry none of Django's filter flags: a function of the message's values that gives what
    the node renders, or None where Django must render it (the variable is missing, a value
    or the result is not text). None for any other node.

    With those filters Django's FilterExpression.resolve is: the value looked up in the
    context (a missing one is string_if_invalid, left to Django), then each filter called
    with the value alone; VariableNode.render then gives a str result as it is (the time zone,
    localisation and escaping touch no str, and autoescape is off)."""
    if type(node) is not VariableNode:
        return None
    expression = node.filter_expression
    variable = expression.var
    if not isinstance(variable, Variable) or variable.lookups is None or variable.translate:
        return None
    lookups = variable.lookups
    if len(lookups) > 2 or lookups[0] not in (*PLAIN_FIELDS, "custom"):
        return None
    filters = []
    for function, arguments in expression.filters:
        if arguments or any(getattr(function, flag, False) for flag in _FILTER_FLAGS):
            return None
        filters.append(function)
    name, key = lookups[0], lookups[1] if len(lookups) == 2 else None

    def direct(values: dict[str, object]) -> str | None:
        value = values.get(name, _MISSING)
        if key is not None:
            value = value.get(key, _MISSING) if type(value) is dict else _MISSING
        if value is not None and type(value) is not str:
            return None  # missing, or not text (Django may call it, or localise it)
        for function in filters:
            value = function(value)
        return value if type(value) is str else None

    return direct


def _key(values: dict[str, object], lookups) -> object:
    key = []
    for lookup in lookups:
        value = values.get(lookup[0], _MISSING)
        if len(lookup) == 2:
            value = value.get(lookup[1], _MISSING) if isinstance(value, dict) else _NOT_KEPT
        if value is not _MISSING and type(value) is not str:
            return _NOT_KEPT  # only text is a key (1 == True == 1.0): others are rendered anew
        key.append(value)
    return tuple(key)


def _plain(text: str) -> str:
    # Template.render returns a SafeString; this text holds prospect data and must be escaped
    # wherever a page shows it, so it leaves here as an ordinary str.
    return str.__str__(text)
