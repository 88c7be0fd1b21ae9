"""Operators create and change logins in the admin, but cannot make anyone a superuser, give
per-user permissions, or touch a superuser's account; reviewers cannot manage users at all."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_operator_creates_a_reviewer(client, oscar):
    client.force_login(oscar)
    response = client.post(
        reverse("admin:auth_user_add"),
        {
            "username": "ruth",
            "password1": "a-long-pass-2026",
            "password2": "a-long-pass-2026",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ruth = User.objects.get(username="ruth")
    form_page = client.get(reverse("admin:auth_user_change", args=[ruth.pk]))
    body = form_page.content.decode()
    assert 'name="is_superuser"' not in body and 'name="user_permissions"' not in body
    reviewer = Group.objects.get(name="reviewer")
    client.post(reverse("admin:auth_user_change", args=[ruth.pk]), {
        "username": "ruth", "is_active": "on", "is_staff": "on", "is_superuser": "on",
        "groups": [reviewer.pk], "date_joined_0": "2026-11-27", "date_joined_1": "07:00:00",
    })
    ruth.refresh_from_db()
    assert ruth.is_staff and list(ruth.groups.all()) == [reviewer]
    assert not ruth.is_superuser  # the field is not on the operator's form, so it cannot be posted


def test_operator_cannot_change_a_superuser(client, oscar):
    boss = User.objects.create_superuser("boss", "boss@outbound.test", "pw")
    client.force_login(oscar)
    page = client.get(reverse("admin:auth_user_change", args=[boss.pk])).content.decode()
    assert 'name="username"' not in page  # shown read-only (operators may view users)
    response = client.post(
        reverse("admin:auth_user_change", args=[boss.pk]), {"username": "hacked"}
    )
    assert response.status_code == 403
    boss.refresh_from_db()
    assert boss.username == "boss"


def test_reviewer_cannot_manage_users(client, rita):
    client.force_login(rita)
    assert client.get(reverse("admin:auth_user_add")).status_code == 403
