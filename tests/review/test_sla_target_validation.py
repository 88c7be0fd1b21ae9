"""Issue 13: operator settings that make no sense are refused where they are entered, with a
sentence saying why, and the database holds the line too: "150 % within 0 min" is not a
target."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from apps.review.models import SlaTarget

pytestmark = pytest.mark.django_db


def _admin_user():
    from django.contrib.auth.models import User

    return User.objects.create_superuser("root", "root@outbound.test", "pw")


@pytest.mark.parametrize("minutes, pct, at_risk, message", [
    (0, 95, 75, "A target is at least 1 minute."),
    (240, 150, 75, "A share of batches is at most 100 %."),
    (240, 0, 75, "A share of batches is more than 0 %."),
    (240, 95, 0, "At risk is after more than 0 % of the target."),
    (240, 95, 101, "At risk is at most 100 % of the target."),
    (-5, 95, 75, "greater than or equal to 0"),
])
def test_the_admin_form_refuses_nonsense_with_a_reason(
    client, seeded, minutes, pct, at_risk, message
):
    client.force_login(_admin_user())
    target = SlaTarget.objects.get(tier="standard")
    before = (target.target_minutes, target.target_pct, target.at_risk_pct)
    response = client.post(
        reverse("admin:review_slatarget_change", args=[target.pk]),
        {"target_minutes": minutes, "target_pct": pct, "at_risk_pct": at_risk},
    )
    assert response.status_code == 200  # the form again, with the error
    assert message in response.content.decode()
    target.refresh_from_db()
    assert (target.target_minutes, target.target_pct, target.at_risk_pct) == before


def test_a_sensible_target_saves(client, seeded):
    client.force_login(_admin_user())
    target = SlaTarget.objects.get(tier="standard")
    response = client.post(reverse("admin:review_slatarget_change", args=[target.pk]),
                           {"target_minutes": 120, "target_pct": 100, "at_risk_pct": 50})
    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.target_minutes, target.target_pct, target.at_risk_pct) == (120, 100, 50)


@pytest.mark.parametrize("fields", [
    {"target_minutes": 0}, {"target_pct": 150}, {"target_pct": 0}, {"at_risk_pct": 0},
    {"at_risk_pct": 101},
])
def test_the_database_refuses_what_bypasses_the_form(seeded, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        SlaTarget.objects.filter(tier="standard").update(**fields)
