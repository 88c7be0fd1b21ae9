"""The typed parameters each rule takes, checked before they are saved.

An operator edits parameters as JSON in the admin; a typo there must be refused with a message
that says what is wrong, not discovered at 3 a.m. when a check crashes (it would fail closed,
flagging every message for review). The checks can then trust the types.
"""

import re

from .specs import BOOLEAN, INTEGER, REGEX_LIST, SPECS

MAX_LIST_ITEMS = 1000
MAX_ITEM_CHARS = 500

# Made from the rule specs (apps/validation/specs.py).
# Rule code -> {parameter: type}. A rule not named here takes no parameters.
SCHEMAS: dict[str, dict[str, str]] = {
    spec.code: {name: param.kind for name, param in spec.parameters.items()}
    for spec in SPECS
    if spec.parameters
}
# The range of each whole-number parameter.
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    name: (param.low, param.high)
    for spec in SPECS
    for name, param in spec.parameters.items()
    if param.low is not None and param.high is not None
}


def describe(name: str, kind: str) -> str:
    """How the admin's help text names a parameter: "max_body_chars (whole number, 1–100000)"."""
    if kind == INTEGER and name in INTEGER_RANGES:
        low, high = INTEGER_RANGES[name]
        return f"{name} ({kind}, {low}–{high})"
    return f"{name} ({kind})"


def validate_parameters(code: str, parameters) -> dict:
    """The parameters if they fit the rule's schema; else ValueError listing every problem."""
    if parameters in (None, ""):
        return {}
    if not isinstance(parameters, dict):
        raise ValueError('Parameters must be a JSON object, e.g. {"phrases": ["..."]}.')
    schema = SCHEMAS.get(code, {})
    problems = []
    for name, value in parameters.items():
        kind = schema.get(name)
        if kind is None:
            known = ", ".join(sorted(schema)) or "none"
            problems.append(f"'{name}' is not a parameter of {code} (it takes: {known}).")
            continue
        problem = _check_value(name, kind, value)
        if problem:
            problems.append(problem)
    if problems:
        raise ValueError(" ".join(problems))
    return parameters


def _check_value(name: str, kind: str, value) -> str:
    if kind == BOOLEAN:
        return "" if isinstance(value, bool) else f"'{name}' must be true or false."
    if kind == INTEGER:
        low, high = INTEGER_RANGES.get(name, (1, 2**31 - 1))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"'{name}' must be a whole number from {low} to {high} (got {value!r})."
        return ""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return f"'{name}' must be a list of texts, e.g. [\"first\", \"second\"]."
    if len(value) > MAX_LIST_ITEMS:
        return f"'{name}' has {len(value)} entries; at most {MAX_LIST_ITEMS}."
    if any(not item.strip() for item in value):
        return f"'{name}' has an empty entry."
    if any(len(item) > MAX_ITEM_CHARS for item in value):
        return f"'{name}' has an entry longer than {MAX_ITEM_CHARS} characters."
    if any("\x00" in item for item in value):
        return f"'{name}' has an entry with a NUL character."
    if kind == REGEX_LIST:
        for item in value:
            try:
                compiled = re.compile(item)
            except re.error as exc:
                return f"'{name}': {item!r} is not a valid regular expression ({exc})."
            if compiled.match(""):
                return f"'{name}': {item!r} matches empty text, so it would flag everything."
    return ""
