"""Realistic 1 KB cold e-mails for the validator benchmarks, built from the real company names
in tests/data/sec_foreign_issuers_2002.csv. The clean mix: one in ten still has the raw company
name (legal form included), as a careful template would leave it. The messy mix, as a CRM
export gives it: every company carries a legal form (one is added to a name that has none) and
one text in three still has it."""

import csv
import random

from _setup import ROOT
from apps.validation.checks.base import MessageFields
from apps.validation.checks.legal_forms import base_name

FIRST_NAMES = "Anna Ben Carla David Emma Farid Grace Hugo Ines Jonas Kenji Lena Marco Nora".split()
PARAGRAPHS = [
    "I noticed {company} has been expanding its operations in {country} this year, and I "
    "wanted to reach out because we help teams like yours cut the time they spend on supplier "
    "onboarding by about a third, without changing the tools they already use every day.",
    "We work with a number of companies in {country} on exactly this, and most of them were "
    "surprised by how much of the paperwork could simply disappear once their approval steps "
    "were written down as rules instead of living in someone's inbox.",
    "If it is useful, I could send over a two-page summary of how a company of a similar size "
    "to {company} set this up in a few weeks, including the mistakes they made along the way "
    "and what they would do differently next time.",
    "Would a short call next Tuesday or Wednesday work for you? Twenty minutes is usually "
    "enough to see whether there is a fit, and if there is not, I will happily point you to "
    "someone who can help.",
]


def company_rows() -> list[tuple[str, str]]:
    path = ROOT / "tests" / "data" / "sec_foreign_issuers_2002.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["name"], row["country"]) for row in csv.DictReader(handle, delimiter=";")]


# Added to a name that has no legal form, for the messy mix: the forms CRMs carry most.
COMMON_FORMS = ("Inc.", "GmbH", "Ltd", "S.A.", "LLC", "B.V.", "AG", "S.p.A.", "Oy", "AB",
                "Pty Ltd", "S.A.S.", "Co., Ltd.", "plc", "SARL", "K.K.")


def with_legal_form(name: str, index: int) -> str:
    if base_name(name) != name:
        return name
    return f"{name} {COMMON_FORMS[index % len(COMMON_FORMS)]}"


def messages(count: int, *, seed: int = 7, messy: bool = False) -> list[MessageFields]:
    rng = random.Random(seed)
    rows = company_rows()
    built = []
    for index in range(count):
        raw, country = rows[index % len(rows)]
        if messy:
            raw = with_legal_form(raw, index)
        first = rng.choice(FIRST_NAMES)
        # (messy: at random, so a company's prospects get both kinds of text)
        keeps_form = rng.random() < 1 / 3 if messy else index % 10 == 0
        written = raw if keeps_form else base_name(raw)
        body = f"Hi {first},\n\n" + "\n\n".join(
            p.format(company=written, country=country) for p in PARAGRAPHS
        ) + "\n\nBest regards,\nSam\n\nReply STOP to unsubscribe."
        domain = f"{''.join(ch for ch in base_name(raw).lower() if ch.isalnum())[:20] or 'x'}.com"
        built.append(
            MessageFields(
                email=f"{first.lower()}.{index}@{domain}", first_name=first, company=raw,
                subject=f"A question about {written}", body=body,
            )
        )
    return built
