"""Applying a finding's suggested replacement so that the text still reads.

A finding names a span and what should stand there instead ("" for a legal form to remove, " "
for a line break in a subject). Put in as it is, the replacement can leave the text around it
broken: two spaces where the form was between them, a space before a comma, ", ." where the
form stood between a comma and a full stop, or a subject ending "Initech." once " Inc" is gone
from "Initech Inc.". `fix_edit` widens the span over the spacing and punctuation at the join
and says what goes there instead; the review screen shows that edit (before and after) and the
review services apply it, so what a reviewer sees is what is sent.
"""

from dataclasses import dataclass

SPACES = " \t"
# Punctuation that follows a word directly: never a space before it.
CLOSING = ",.;:!?)]}"
# Punctuation a clause can end with; two in a row (", ." ",,") keep only the stronger one.
SEPARATORS = ",;:"
SENTENCE_ENDS = ".!?"
OPENING = "([{"


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `replacement`."""

    start: int
    end: int
    replacement: str

    def applied_to(self, text: str) -> str:
        return text[: self.start] + self.replacement + text[self.end :]


def fix_edit(
    text: str, *, start: int, end: int, suggestion: str, field: str, floor: int = 0
) -> Edit:
    """The edit that puts `suggestion` in place of text[start:end] and tidies the join: one
    space at most, none before closing punctuation or at a line's start or end, no doubled
    punctuation, and (in a subject) no full stop left behind by a removed abbreviation. The
    edit reaches no further left than `floor` (where an earlier fix of the same text ends)."""
    if field == "subject" and _leaves_abbreviation_dot(text, start, end, suggestion):
        end = len(text.rstrip(SPACES))
    left, right = start, end
    while left > floor and text[left - 1] in SPACES:
        left -= 1
    while right < len(text) and text[right] in SPACES:
        right += 1
    had_space = left < start or right > end or suggestion[:1] in SPACES or suggestion[-1:] in SPACES
    core = suggestion.strip(SPACES)
    before = text[left - 1] if left > 0 else "\n"
    after = text[right] if right < len(text) else "\n"
    if not core:
        left, right, before, after = _drop_doubled_punctuation(text, left, right, floor)
    replacement = core
    if had_space and _space_between(before, core[:1] or after):
        replacement = " " + replacement
    if core and had_space and _space_between(core[-1], after):
        replacement += " "
    return _minimal(text, Edit(left, right, replacement))


def apply_fixes(text: str, *, spans: list[tuple[int, int]], suggestion: str, field: str) -> str:
    """`text` with `suggestion` put in place of each (start, end) span, each join tidied."""
    ordered = sorted(spans)
    floors = [0, *(end for _, end in ordered)][: len(ordered)]  # the left neighbour's end
    for (start, end), floor in sorted(zip(ordered, floors, strict=True), reverse=True):
        # Right to left: the offsets of the spans still to do stay valid.
        text = fix_edit(text, start=start, end=end, suggestion=suggestion, field=field,
                        floor=floor).applied_to(text)
    return text


def _leaves_abbreviation_dot(text: str, start: int, end: int, suggestion: str) -> bool:
    """A subject is not a sentence: a full stop that ends it right after the removed word was
    that word's abbreviation dot ("Meet Initech Inc." without " Inc" is "Meet Initech")."""
    return (
        suggestion.strip(SPACES) == "" and start < end and text[end - 1].isalnum()
        and text[end:].rstrip(SPACES) == "."
    )


def _drop_doubled_punctuation(text: str, left: int, right: int, floor: int):
    """With nothing put in, the punctuation either side of the removed span meets: keep one
    mark (", ." -> ".", ",," -> ",", ". ," -> "."), and none at the start of a line."""
    before = text[left - 1] if left > floor else "\n"
    after = text[right] if right < len(text) else "\n"
    if before in SEPARATORS and after in CLOSING:
        left -= 1  # the weaker mark before goes: ", ." -> "."
        while left > floor and text[left - 1] in SPACES:
            left -= 1
    elif (before in SENTENCE_ENDS and after in SEPARATORS + SENTENCE_ENDS) or (
        before == "\n" and after in SEPARATORS
    ):
        right += 1  # the mark after goes: ". ," -> ".", ".." -> "."
        while right < len(text) and text[right] in SPACES:
            right += 1
    before = text[left - 1] if left > 0 else "\n"
    after = text[right] if right < len(text) else "\n"
    return left, right, before, after


def _space_between(before: str, after: str) -> bool:
    return not (
        before in "\n\r" or after in "\n\r" or after in CLOSING or before in OPENING
    )


def _minimal(text: str, edit: Edit) -> Edit:
    """The same change with the text it keeps as it is left out of the span, so the screen
    strikes through only what goes ("Initech[ GmbH] team", not "Initech[ GmbH ][ ]team")."""
    start, end, replacement = edit.start, edit.end, edit.replacement
    while replacement and end > start and text[end - 1] == replacement[-1]:
        end, replacement = end - 1, replacement[:-1]
    while replacement and start < end and text[start] == replacement[0]:
        start, replacement = start + 1, replacement[1:]
    return Edit(start, end, replacement)


def apply_replacements(text: str, *, spans: list[tuple[int, int, str]], field: str) -> str:
    """`text` with each (start, end) span replaced by its own text, each join tidied as
    `fix_edit` tidies it: the findings of one field that need different replacements (" Ltd"
    removed, "[First Name]" -> "there") in one pass. A span overlapping an earlier one is left
    out: its offsets no longer name the text it flagged."""
    ordered: list[tuple[int, int, str]] = []
    for start, end, replacement in sorted(spans):
        if not ordered or start >= ordered[-1][1]:
            ordered.append((start, end, replacement))
    floors = [0, *(end for _, end, _ in ordered)][: len(ordered)]  # the left neighbour's end
    for (start, end, replacement), floor in reversed(list(zip(ordered, floors, strict=True))):
        # Right to left: the offsets of the spans still to do stay valid.
        text = fix_edit(text, start=start, end=end, suggestion=replacement, field=field,
                        floor=floor).applied_to(text)
    return text
