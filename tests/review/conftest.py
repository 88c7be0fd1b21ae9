"""Review fixtures: the review app's seed (SLA targets, its permissions for the groups) put
back after transactional tests flush, and helpers shared by the review and admin tests."""

import importlib
import threading

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection

from apps.core.models import Finding, Message, Severity, content_hash
from apps.review.models import DEFAULT_SLA_TARGETS, SlaTarget

_review_seed = importlib.import_module("apps.review.migrations.0002_sla_defaults_and_permissions")
_proposal_seed = importlib.import_module("apps.review.migrations.0007_rule_proposal_permissions")


@pytest.fixture
def seeded(seeded):
    for tier, (minutes, pct) in DEFAULT_SLA_TARGETS.items():
        SlaTarget.objects.get_or_create(
            tier=tier, defaults={"target_minutes": minutes, "target_pct": pct}
        )
    for name, codenames in (
        ("reviewer", _review_seed.REVIEWER_PERMS), ("operator", _review_seed.OPERATOR_PERMS),
        ("operator", _proposal_seed.OPERATOR_PERMS),
    ):
        Group.objects.get(name=name).permissions.add(
            *Permission.objects.filter(content_type__app_label="review", codename__in=codenames)
        )


def flag_legal_form(message: Message, company: str = "Initech", form: str = "GmbH") -> Finding:
    """Give a message "Hi <company> <form> team," with a blocking legal-form finding whose
    suggestion drops the form (as the legal_form check reports it)."""
    body = f"Hi {company} {form} team,\n"
    Message.objects.filter(pk=message.pk).update(
        body=body, worst_severity=Severity.BLOCK,
        content_hash=content_hash(recipient=message.recipient, subject=message.subject, body=body),
    )
    start = len(f"Hi {company}")
    return Finding.objects.create(
        message=message,
        batch_id=message.batch_id,
        rule_code="legal_form",
        severity=Severity.BLOCK,
        field="body",
        start=start,
        end=start + len(form) + 1,
        explanation=f"Legal form {form} left in the text",
        suggestion="",
    )


def race(*actions):
    """Run each action in its own thread (and its own database connection), released together
    by a barrier. Returns "won" or the exception each one got."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[object] = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=10)
            action()
            outcomes[index] = "won"
        except Exception as exc:  # noqa: BLE001 (the test inspects what each one got)
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "an action hung"
    return outcomes


@pytest.fixture(autouse=True)
def empty_cache():
    """The review screen caches finding groups per batch state; ids can repeat across tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
