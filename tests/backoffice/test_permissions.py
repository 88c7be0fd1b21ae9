"""The permission matrix: reviewer (rita), operator (oscar), client user (carl) and anonymous
× every admin page and action of the holding queue. Reviewers review but cannot change rules,
SLA targets or users (operators can), nor see the review-time page; client users never reach
the admin."""

import json

import pytest
from django.urls import reverse

from apps.core.models import AuditEvent, Batch, BatchStatus, ValidationRule
from apps.review.models import SlaTarget
from apps.review.services import batch_approve
from tests.conftest import in_review_batch
from tests.review.conftest import flag_legal_form

pytestmark = pytest.mark.django_db
OK, FORBIDDEN, LOGIN = 200, 403, "login"


@pytest.fixture
def world(acme_campaign, acme_prospects, rita, oscar, carl):
    # Edits re-validate; the recipient's DNS is not what this matrix is about.
    ValidationRule.objects.filter(code="recipient_domain").update(enabled=False)
    batch = in_review_batch(acme_campaign, acme_prospects)
    message = batch.messages.order_by("pk").first()
    finding = flag_legal_form(message)
    message.refresh_from_db()
    approved = in_review_batch(acme_campaign, acme_prospects)
    batch_approve(batch_id=approved.pk, actor=oscar)
    return {
        "batch": batch, "message": message, "finding": finding, "approved": approved,
        "users": {"reviewer": rita, "operator": oscar, "client user": carl, "anonymous": None},
    }


def login(client, world, persona):
    user = world["users"][persona]
    if user is not None:
        client.force_login(user)


def outcome(response):
    if response.status_code == 302 and "/admin/login/" in response["Location"]:
        return LOGIN
    return response.status_code


PAGES = {
    # page: (url builder, {persona: expected})
    "index": (lambda w: reverse("admin:index"), {"reviewer": OK, "operator": OK}),
    "batch list": (
        lambda w: reverse("admin:core_batch_changelist"),
        {"reviewer": OK, "operator": OK},
    ),
    "queue": (lambda w: reverse("admin:core_batch_queue"), {"reviewer": OK, "operator": OK}),
    "review screen": (
        lambda w: reverse("admin:core_batch_change", args=[w["batch"].pk]),
        {"reviewer": OK, "operator": OK},
    ),
    "message edit": (
        lambda w: reverse("admin:core_message_change", args=[w["message"].pk]),
        {"reviewer": OK, "operator": OK},
    ),
    "audit csv": (
        lambda w: reverse("admin:core_batch_audit_csv", args=[w["batch"].pk]),
        {"reviewer": OK, "operator": OK},
    ),
    "audit events": (
        lambda w: reverse("admin:core_auditevent_changelist"),
        {"reviewer": OK, "operator": OK},
    ),
    "sla targets": (
        lambda w: reverse("admin:review_slatarget_changelist"),
        {"reviewer": OK, "operator": OK},
    ),
    "review stats": (
        lambda w: reverse("admin:review_stats"),
        {"reviewer": FORBIDDEN, "operator": OK},
    ),
    "rules": (
        lambda w: reverse("admin:core_validationrule_changelist"),
        {"reviewer": OK, "operator": OK},
    ),
    "users": (
        lambda w: reverse("admin:auth_user_changelist"),
        {"reviewer": FORBIDDEN, "operator": OK},
    ),
}
PERSONAS = ["reviewer", "operator", "client user", "anonymous"]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("page", PAGES)
def test_pages(client, world, persona, page):
    url, expected = PAGES[page]
    login(client, world, persona)
    assert outcome(client.get(url(world))) == expected.get(persona, LOGIN)


def _post(name, *args_of, data=None):
    def run(client, w):
        args = [w[a].pk for a in args_of]
        payload = data(w) if callable(data) else (data or {})
        return client.post(reverse(name, args=args), payload)
    return run


ACTIONS = {
    # action: (request, the audit action it writes, {persona: expected})
    "claim": (_post("admin:core_batch_claim", "batch"), "batch_claimed", {}),
    "approve (refused: blocking)": (
        _post("admin:core_batch_approve", "batch"),
        "batch_claimed",
        {},
    ),
    "reject": (
        _post("admin:core_batch_reject", "batch", data={"code": "legal", "reason": "no"}),
        "batch_rejected",
        {},
    ),
    "fix one": (_post("admin:core_batch_fix", "batch", "finding"), "message_edited", {}),
    "fix group": (
        _post(
            "admin:core_batch_fix_group",
            "batch",
            data={"apply": json.dumps(["legal_form", "body", " GmbH", ""])},
        ),
        "finding_fixed",
        {},
    ),
    "exclude": (
        _post("admin:core_message_exclude", "message", data={"reason": "bounced"}),
        "message_excluded",
        {},
    ),
    "edit": (
        _post(
            "admin:core_message_change",
            "message",
            data=lambda w: {
                "subject": "New",
                "body": "Hi,\n",
                "seen_hash": w["message"].content_hash,
            },
        ),
        "message_edited",
        {},
    ),
    "reassign": (
        _post(
            "admin:core_batch_reassign",
            "batch",
            data=lambda w: {"reviewer": w["users"]["reviewer"].pk},
        ),
        "claim_reassigned",
        {"reviewer": FORBIDDEN},
    ),
    "recall someone else's approval": (
        _post("admin:core_batch_recall", "approved"),
        "batch_recalled",
        {"reviewer": "refused"},
    ),
    "change sla target": (
        lambda c, w: c.post(
            reverse(
                "admin:review_slatarget_change", args=[SlaTarget.objects.get(tier="standard").pk]
            ),
            {"target_minutes": 60, "target_pct": 90, "at_risk_pct": 50},
        ),
        None,
        {"reviewer": FORBIDDEN},
    ),
    "change rule": (
        lambda c, w: c.post(
            reverse(
                "admin:core_validationrule_change",
                args=[ValidationRule.objects.get(code="legal_form").pk],
            ),
            {"enabled": "", "severity": "warn", "parameters": "{}", "seen_version": 1},
        ),
        "rule_changed",
        {"reviewer": FORBIDDEN},
    ),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", ACTIONS)
def test_actions(client, world, persona, action):
    request, audit_action, special = ACTIONS[action]
    expected = special.get(persona, "done") if persona in ("reviewer", "operator") else LOGIN
    login(client, world, persona)
    events_before = AuditEvent.objects.count()
    target_before = list(SlaTarget.objects.values_list("target_minutes", flat=True))

    got = outcome(request(client, world))

    if expected in (LOGIN, FORBIDDEN):
        assert got == expected
        assert AuditEvent.objects.count() == events_before
        assert list(SlaTarget.objects.values_list("target_minutes", flat=True)) == target_before
    elif expected == "refused":
        assert got == 302
        assert not AuditEvent.objects.filter(action=audit_action).exists()
    else:
        assert got == 302, got
        if audit_action:
            assert AuditEvent.objects.filter(
                action=audit_action, actor=world["users"][persona]
            ).exists() or (
                audit_action == "claim_reassigned"
                and AuditEvent.objects.filter(action=audit_action).exists()
            )
        else:
            assert SlaTarget.objects.get(tier="standard").target_minutes == 60
    assert Batch.objects.get(pk=world["approved"].pk).status in (
        BatchStatus.APPROVED,
        BatchStatus.IN_REVIEW,
    )


@pytest.mark.parametrize("persona,links", [
    ("reviewer", ["Review queue"]), ("operator", ["Review queue", "Time in review"]),
])
def test_admin_index_links(client, world, persona, links):
    login(client, world, persona)
    body = client.get(reverse("admin:index")).content.decode()
    assert [name for name in ("Review queue", "Time in review") if f">{name}</a>" in body] == links
