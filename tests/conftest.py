"""Shared personas and real parts for the test suite.

Personas: Acme Outreach (`acme_client`, every batch reviewed) with its client user carl;
Globex (`globex_client`, clean batches approved automatically) with dana; rita the reviewer
and oscar the operator (staff, in the groups the migrations create).
"""

import importlib
import os

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from hypothesis import settings as hypothesis_settings

from apps.core.models import (
    Batch,
    BatchStatus,
    Campaign,
    Client,
    ClientUser,
    Message,
    Prospect,
    ReviewPolicy,
    ValidationRule,
    content_hash,
)
from tests.support.smtp_server import SmtpServer

# The same examples on every run: CI judges a change, not the luck of the draw. Explore with
# random examples on purpose: HYPOTHESIS_PROFILE=explore ./test tests/validation
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

_seed = importlib.import_module("apps.core.migrations.0002_defaults_and_append_only_audit")

# The prospects' domains. Only the loopback DNS server (the dns_server fixture) is ever asked
# about them and only the loopback SMTP server is sent to; they are not under .test because
# the recipient_syntax rule (email-validator) rightly refuses special-use names.
ACME_PROSPECT_DOMAINS = ("initech.com", "hooli.com", "umbrella.com")
CANARY_DOMAIN = "canary.test"


@pytest.fixture(autouse=True)
def migration_data(django_db_serialized_rollback):
    """What the data migrations wrote (default rules, groups and their permissions, SLA
    targets) is put back after every transactional test, whose flush would otherwise wipe it
    for the tests that follow."""


# Every group's grants as the migrations left them (many apps' data migrations grant their
# own permissions), read once from the fresh test database before any test can flush it.
MIGRATION_GRANTS: dict[str, set[tuple[str, str]]] = {}


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        for group in Group.objects.all():
            MIGRATION_GRANTS[group.name] = set(
                group.permissions.values_list("content_type__app_label", "codename")
            )
    if not MIGRATION_GRANTS:
        # Only a reused database can lack them: the last test of an earlier run flushed it.
        pytest.exit("The test database has no groups, so the grants the migrations give "
                    "cannot be read: run with --create-db.", returncode=2)


def _restore_grants() -> None:
    """Put back each group with every permission the migrations granted it (a flush takes the
    groups and the grants; post_migrate puts back only the permission rows)."""
    for name, grants in MIGRATION_GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        if group.permissions.count() == len(grants):
            continue
        for app_config in django_apps.get_app_configs():
            create_permissions(app_config, verbosity=0)
        wanted = Permission.objects.none()
        for app_label in {app_label for app_label, _ in grants}:
            codenames = [codename for label, codename in grants if label == app_label]
            wanted |= Permission.objects.filter(
                content_type__app_label=app_label, codename__in=codenames
            )
        group.permissions.set(wanted)


@pytest.fixture
def seeded():
    """What the migrations seed. A transactional test flushes every table when it ends, so
    later tests put the default rules and the groups with their grants back here."""
    for code, severity, description in _seed.DEFAULT_RULES:
        ValidationRule.objects.get_or_create(
            code=code, defaults={"severity": severity, "description": description}
        )
    _restore_grants()


def _staff(username: str, group: str) -> User:
    user = User.objects.create_user(username, f"{username}@outbound.test", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def rita(seeded) -> User:
    return _staff("rita", "reviewer")


@pytest.fixture
def oscar(seeded) -> User:
    return _staff("oscar", "operator")


@pytest.fixture
def acme_client(seeded) -> Client:
    return Client.objects.create(name="Acme Outreach", review_policy=ReviewPolicy.REVIEW_ALL)


@pytest.fixture
def globex_client(seeded) -> Client:
    return Client.objects.create(name="Globex", review_policy=ReviewPolicy.AUTO_APPROVE_CLEAN)


@pytest.fixture
def carl(acme_client) -> User:
    user = User.objects.create_user("carl", "carl@acme.test", "pw")
    ClientUser.objects.create(user=user, client=acme_client)
    return user


@pytest.fixture
def dana(globex_client) -> User:
    user = User.objects.create_user("dana", "dana@globex.test", "pw")
    ClientUser.objects.create(user=user, client=globex_client)
    return user


def make_campaign(client: Client, **fields) -> Campaign:
    defaults = {
        "name": "Spring outreach",
        "subject_template": "A question for {{ first_name }}",
        "body_template": "Hi {{ first_name }},\n\nwould {{ company }} like fewer bounces?\n\nSam",
        "sender_name": "Sam Sender",
        "sender_email": "sam@outbound.test",
    }
    return Campaign.objects.create(client=client, **{**defaults, **fields})


@pytest.fixture
def acme_campaign(acme_client) -> Campaign:
    return make_campaign(acme_client)


@pytest.fixture
def globex_campaign(globex_client) -> Campaign:
    return make_campaign(globex_client)


@pytest.fixture
def acme_prospects(acme_client) -> list[Prospect]:
    people = [
        ("peter@initech.com", "Peter", "Gibbons", "Initech"),
        ("richard@hooli.com", "Richard", "Hendricks", "Hooli"),
        ("alice@umbrella.com", "Alice", "Abernathy", "Umbrella"),
    ]
    return [
        Prospect.objects.create(
            client=acme_client, email=email, first_name=first, last_name=last, company=company
        )
        for email, first, last, company in people
    ]


def make_batch(campaign: Campaign, prospects, *, status: str, **message_fields) -> Batch:
    """A batch already at `status`, with one rendered message per prospect. For tests of a
    later stage; the stages before it have tests of their own."""
    batch = Batch.objects.create(client=campaign.client, campaign=campaign, status=status)
    batch.prospects.set(prospects)
    rows = []
    for prospect in prospects:
        subject, body = f"A question for {prospect.first_name}", f"Hi {prospect.first_name},\n"
        digest = content_hash(recipient=prospect.email, subject=subject, body=body)
        rows.append(
            Message(
                batch=batch, prospect=prospect, recipient=prospect.email, subject=subject,
                body=body, content_hash=digest, **message_fields,
            )
        )
    Message.objects.bulk_create(rows)
    return batch


def in_review_batch(campaign: Campaign, prospects) -> Batch:
    from django.utils import timezone

    now = timezone.now()
    batch = make_batch(
        campaign, prospects, status=BatchStatus.IN_REVIEW, validated_at=now, worst_severity=""
    )
    Batch.objects.filter(pk=batch.pk).update(entered_review_at=now)
    return batch


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback; Django's SMTP backend (and the worker) sends to it."""
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_TIMEOUT = 10
        yield server


@pytest.fixture
def redis_queues(settings):
    """Empty queues on the test Redis (its own db, from REDIS_URL) before and after the test."""
    if settings.EMBEDDED_REDIS:
        pytest.skip("needs REDIS_URL (a Redis database the tests may flush)")
    import django_rq

    redis = django_rq.get_connection("generate")
    redis.flushdb()
    yield redis
    redis.flushdb()


@pytest.fixture
def dns_server(settings):
    """A real DNS server on loopback answering for the prospects' domains; the resolver (in
    this process and in workers started by tests.support.worker) asks only it."""
    from tests.support.dns_server import DnsServer

    zone = {
        CANARY_DOMAIN: {"MX": [f"10 mx.{CANARY_DOMAIN}."]},
        f"mx.{CANARY_DOMAIN}": {"A": ["192.0.2.25"]},
    }
    for domain in ACME_PROSPECT_DOMAINS:
        zone[domain] = {"MX": [f"10 mx.{domain}."]}
        zone[f"mx.{domain}"] = {"A": ["192.0.2.25"]}
    with DnsServer(zone=zone) as server:
        settings.DNS_NAMESERVERS = [server.nameserver]
        settings.DNS_CANARY_DOMAIN = CANARY_DOMAIN
        settings.DNS_TIMEOUT_SECONDS = 2
        yield server


@pytest.fixture
def pipeline(postgres_only, redis_queues, smtp_server, dns_server):
    """Everything a test of the whole pipeline with a real worker needs."""
    return smtp_server


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """The personas' passwords are hashed on creation and again at each login; the default
    hasher is slow on purpose. Servers the tests start in a subprocess keep the default hasher:
    no test logs in to one with a password made here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_approval_grace(settings):
    """Approval's grace window (REVIEW_GRACE_SECONDS) is off in tests, so an approved batch is
    sent at once; tests of the grace window and recall set it themselves."""
    settings.REVIEW_GRACE_SECONDS = 0
