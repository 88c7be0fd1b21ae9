import pytest

from tests.support.dns_server import DnsServer


@pytest.fixture
def make_dns_server():
    """Start a loopback DNS server with the given zone and behaviours; stopped after the test.

    server = make_dns_server({"acme.test": {"MX": ["10 mx.acme.test."]}}, servfail={"x.test"})
    """
    started = []

    def start(zone=None, **behaviours) -> DnsServer:
        server = DnsServer(zone, **behaviours).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def allow_test_tld(monkeypatch):
    """Let addresses at *.test pass the syntax check: email-validator rejects the reserved
    .test names unless told it runs in a test environment."""
    import email_validator

    monkeypatch.setattr(email_validator, "TEST_ENVIRONMENT", True)


@pytest.fixture
def seeded_rules(seeded):
    """Every rule the migrations seed, the validation app's too (a transactional test that ran
    earlier may have flushed them)."""
    import importlib

    from apps.core.models import ValidationRule

    more = importlib.import_module("apps.validation.migrations.0002_more_rules")
    for code, severity, description in more.NEW_RULES:
        ValidationRule.objects.get_or_create(
            code=code, defaults={"severity": severity, "description": description}
        )
