"""A bad configuration fails `manage.py check` with config.E001 naming the variable; a
production configuration passes the deployment checks without a warning."""

import os
import secrets
import subprocess
import sys

from tests.support.worker import PROJECT_ROOT

CONFIG_VARIABLES = (
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_HOST",
    "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_TIMEOUT", "JOB_TIMEOUT_SECONDS",
    "DNS_NAMESERVERS", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "CSRF_TRUSTED_ORIGINS",
)


def manage(*args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith("DJANGO_") and k not in CONFIG_VARIABLES
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings", VAR_DIR=str(PROJECT_ROOT / "var"), **variables
    )
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )


def test_malformed_database_url_fails_check_naming_it():
    result = manage("check", DATABASE_URL="nonsense://x", DEBUG="true")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "config.E001" in output and "DATABASE_URL" in output, output
    assert "Traceback" not in output, output


def test_production_without_secret_key_fails_check_naming_it():
    result = manage(
        "check", DEBUG="false", ALLOWED_HOSTS="example.com",
        DATABASE_URL="postgres://outbound@db.example.com:5432/outbound",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "config.E001" in output and "SECRET_KEY" in output, output


def test_every_problem_is_named_at_once():
    result = manage("check", DEBUG="false", DATABASE_URL="nonsense://x", REDIS_URL="http://x")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for variable in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
        assert variable in output, f"{variable} not named:\n{output}"


def test_production_configuration_passes_the_deploy_checks():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(45)[:60],
        ALLOWED_HOSTS="example.com",
        DATABASE_URL="postgres://outbound@127.0.0.1:5432/outbound",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_malformed_typed_values_are_named():
    result = manage(
        "check", DEBUG="maybe", EMAIL_PORT="smtp", DNS_NAMESERVERS="127.0.0.1:5353,resolver.local"
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for named in ("DEBUG='maybe'", "EMAIL_PORT='smtp'", "'resolver.local'"):
        assert named in output, f"{named} not named:\n{output}"
    assert "'127.0.0.1:5353'" not in output, output
