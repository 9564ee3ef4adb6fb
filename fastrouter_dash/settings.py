"""Settings, all from the environment (a `.env` file beside manage.py is read when present).

Every variable is parsed by a strict helper: a malformed value stops start-up with a
message naming the variable, instead of a confusing failure later.
"""

import ipaddress
import os
import re
import zoneinfo
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")


def envbool(name: str, default: str) -> bool:
    value = os.getenv(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str, *, minimum: int = 0) -> int:
    value = os.getenv(name, default).strip()
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    return number


def envfloat(name: str, default: str, *, zero_means_off: bool = False) -> float:
    value = os.getenv(name, default).strip()
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if zero_means_off and number == 0:
        return number
    if not number > 0:
        floor = "zero or more (0 turns it off)" if zero_means_off else "greater than zero"
        raise ImproperlyConfigured(f"{name} must be {floor}, not {value!r}")
    return number


def envdecimal(name: str, default: str) -> Decimal:
    """An exact positive number (money, a factor): a Decimal, never a float."""
    value = os.getenv(name, default).strip()
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ImproperlyConfigured(f"{name} must be a number such as {default}, not {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise ImproperlyConfigured(f"{name} must be a number greater than zero, not {value!r}")
    return number


def envchoice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.getenv(name, default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def envnetworks(name: str, default: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or CIDR networks (127.0.0.1, 10.0.0.0/8, ::1)."""
    networks = []
    for item in filter(None, (part.strip() for part in os.getenv(name, default).split(","))):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must be comma-separated addresses or CIDR networks such as 10.0.0.0/8, not {item!r}"
            ) from None
    return networks


def envurl(name: str, default: str) -> str:
    value = os.getenv(name, default).strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"{name} must be an http:// or https:// URL, not {value!r}")
    return value


def envzone(name: str, default: str) -> str:
    value = os.getenv(name, default).strip()
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name} must be an IANA time zone such as Europe/Berlin, not {value!r}") from None
    return value


def envnames(name: str, default: str, *, pattern: str) -> tuple[str, ...]:
    """A comma-separated list of names, each matching ``pattern`` (blank entries are skipped)."""
    names = tuple(n.strip() for n in os.getenv(name, default).split(",") if n.strip())
    for each in names:
        if not re.fullmatch(pattern, each):
            raise ImproperlyConfigured(f"{name} lists {each!r}, which is not a name of the form {pattern}")
    return names


def envdatabase(name: str, default: str) -> dict:
    value = os.getenv(name, default).strip()
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except (ValueError, KeyError) as error:
        raise ImproperlyConfigured(f"{name} is not a database URL we understand ({error})") from None
    if config["ENGINE"].endswith("sqlite3"):
        # WAL lets the worker write while pages read; a busy timeout instead of "database is locked".
        # IMMEDIATE: a transaction takes the write lock up front, so the fetch worker's threads and the
        # web server wait for each other (busy timeout) instead of failing with "database is locked".
        config["OPTIONS"] = {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
        }
        config["CONN_MAX_AGE"] = 0
        config.pop("CONN_HEALTH_CHECKS", None)
    elif config["ENGINE"].endswith("postgresql"):
        # The planner's row guesses for the rollup reads are far too high, so it compiled each with
        # JIT: 130 ms of a 190 ms read (the 30-day hourly dashboard at 10M rows). Our statements are
        # short index scans that never repay compiling.
        options = config.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return config


def envcache(name: str, default: str) -> tuple[str, dict]:
    """(the Redis URL or "", CACHES): empty means a per-process memory cache."""
    value = os.getenv(name, default).strip()
    if not value:
        return "", {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if not value.startswith(("redis://", "rediss://", "unix://")):
        # Not the value itself: a Redis URL may carry a password.
        raise ImproperlyConfigured(f"{name} must be a redis://, rediss:// or unix:// URL, or empty")
    return value, {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": value}}


DEBUG = envbool("DEBUG", "false")
SECRET_KEY = os.getenv("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "development-only-insecure-secret-key"  # noqa: S105 (refused above unless DEBUG)

ALLOWED_HOSTS = [h.strip() for h in os.getenv("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.getenv("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

DATA_DIR = Path(os.getenv("DATA_DIR", str(BASE_DIR / "data")))
DATABASES = {"default": envdatabase("DATABASE_URL", f"sqlite:///{DATA_DIR / 'fastrouter_dash.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Redis in production: Django's cache and the shared FastRouter rate budget (else the database holds it).
CACHE_URL, CACHES = envcache("CACHE_URL", "")

FASTROUTER_API_KEY = os.getenv("FASTROUTER_API_KEY", "").strip()
FASTROUTER_BASE_URL = envurl("FASTROUTER_BASE_URL", "https://api.fastrouter.ai")
FASTROUTER_TIMEOUT = envfloat("FASTROUTER_TIMEOUT", "10")
# Every SQL statement of a web request is cut off after this many seconds (0: no limit).
WEB_QUERY_TIMEOUT_SECONDS = envfloat("WEB_QUERY_TIMEOUT_SECONDS", "20", zero_means_off=True)
# Lookups and refreshes hold a web worker: everything they send to FastRouter ends within this.
FASTROUTER_INTERACTIVE_DEADLINE = envfloat("FASTROUTER_INTERACTIVE_DEADLINE", "5")

# Bulk import, the ingest API and the fetch worker (see docs/operations.md).
IMPORT_MAX_UPLOAD_BYTES = envint("IMPORT_MAX_UPLOAD_BYTES", str(50 * 1024 * 1024), minimum=1)
IMPORT_MAX_IDS = envint("IMPORT_MAX_IDS", "100000", minimum=1)
INGEST_MAX_IDS_PER_REQUEST = envint("INGEST_MAX_IDS_PER_REQUEST", "1000", minimum=1)
# OpenTelemetry ingest (POST /api/ingest/otlp/v1/traces): span or resource attributes kept as tags
# (the pattern is generations/ingest/tags.py's), and the largest body accepted, compressed or not.
OTLP_TAG_ATTRIBUTES = envnames(
    "OTLP_TAG_ATTRIBUTES", "service.name,user.id,session.id,feature", pattern=r"[A-Za-z0-9_.:-]{1,64}"
)
OTLP_MAX_BODY_BYTES = envint("OTLP_MAX_BODY_BYTES", str(16 * 1024 * 1024), minimum=1024)
FASTROUTER_MAX_RPM = envint("FASTROUTER_MAX_RPM", "300", minimum=1)
FASTROUTER_NOT_FOUND_GRACE_SECONDS = envint("FASTROUTER_NOT_FOUND_GRACE_SECONDS", "600")
# How long FastRouter keeps a generation fetchable: the Coverage page warns when queued ids get near it.
FASTROUTER_RETENTION_HOURS = envint("FASTROUTER_RETENTION_HOURS", "24", minimum=1)
FETCH_WORKER_CONCURRENCY = envint("FETCH_WORKER_CONCURRENCY", "4", minimum=1)
FETCH_MAX_ATTEMPTS = envint("FETCH_MAX_ATTEMPTS", "6", minimum=1)
FETCH_RETRY_BASE_SECONDS = envfloat("FETCH_RETRY_BASE_SECONDS", "5")
FETCH_CLAIM_SECONDS = envint("FETCH_CLAIM_SECONDS", "300", minimum=1)
FETCH_AUTH_PAUSE_SECONDS = envint("FETCH_AUTH_PAUSE_SECONDS", "60", minimum=1)
# The cost check (pricing/, docs/pricing.md): a generation is flagged when what it was charged differs
# from the catalogue's price by more than both of these.
COST_CHECK_TOLERANCE_PERCENT = envfloat("COST_CHECK_TOLERANCE_PERCENT", "5")
COST_CHECK_TOLERANCE_USD = envfloat("COST_CHECK_TOLERANCE_USD", "0.0001")
# The dashboard marks a model whose charges are this far (percent) from the catalogue's list price.
LIST_PRICE_FAR_PERCENT = envfloat("LIST_PRICE_FAR_PERCENT", "10")
# Roles (generations/roles.py): ids a member may fetch or queue per day (staff have no limit).
MEMBER_DAILY_FETCH_LIMIT = envint("MEMBER_DAILY_FETCH_LIMIT", "2000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "generations",
    "budgets",
    "pricing",
    "monitoring",
]
# The FastRouter simulator and the demo loader (commands fastrouter_simulator, load_demo): for
# development and tests only, so a production deployment (DEBUG off) does not install them.
DEMO_TOOLS = envbool("DEMO_TOOLS", "true" if DEBUG else "false")
if DEMO_TOOLS:
    INSTALLED_APPS.append("fastrouter_simulator")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "generations.middleware.ViewerTimeZoneMiddleware",
    "generations.middleware.NoStoreForSignedInMiddleware",
    "generations.middleware.QueryTimeLimitMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fastrouter_dash.urls"
WSGI_APPLICATION = "fastrouter_dash.wsgi.application"

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
                "generations.context_processors.site",
                "generations.context_processors.worker_status",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Axes first: it refuses locked-out logins before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "lookup"
# None: logging out answers with its own page (registration/logged_out.html), saying it worked.
LOGOUT_REDIRECT_URL = None

LANGUAGE_CODE = "en-us"
TIME_ZONE = envzone("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# Nothing is uploaded to keep, but Django's test server treats every path as a file when this is "".
MEDIA_URL = "/media/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Chart.js from a CDN, pinned to one exact version with its SRI hash (bin/fetch-chartjs reads both
# lines below to place the same file under static/vendor/chart.js/).
CHARTJS_VERSION = "4.5.1"
CHARTJS_URL = os.getenv("CHARTJS_URL", f"https://cdn.jsdelivr.net/npm/chart.js@{CHARTJS_VERSION}/dist/chart.umd.min.js")
# A self-hosted copy (CHARTJS_URL) may differ byte-for-byte, so its hash is CHARTJS_SRI's, or none.
CHARTJS_DEFAULT_SRI = "sha384-jb8JQMbMoBUzgWatfe6COACi2ljcDdZQ2OxczGA3bGNeWe+6DChMTBJemed7ZnvJ"
CHARTJS_SRI = os.getenv("CHARTJS_SRI", "" if "CHARTJS_URL" in os.environ else CHARTJS_DEFAULT_SRI)

# --- Security -------------------------------------------------------------------------------
# Served over HTTPS? On by default in production (DEBUG off); plain-HTTP development keeps working.
SECURE_HTTPS = envbool("SECURE_HTTPS", "false" if DEBUG else "true")
SECURE_SSL_REDIRECT = SECURE_HTTPS
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000") if SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "true")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "true")
# Only behind a TLS-terminating proxy that sets X-Forwarded-Proto itself (and strips the client's).
if envbool("SECURE_PROXY_SSL_HEADER", "false"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"


def chartjs_script_source(url: str) -> list[str]:
    """Exactly the Chart.js file for script-src (a source with a full path allows only that file,
    not the rest of the CDN); a same-origin (relative) copy needs nothing beyond 'self'."""
    parsed = urlsplit(url)
    if not parsed.netloc:
        return []
    # "," and ";" separate CSP sources and directives; browsers match percent-encoded paths.
    path = parsed.path.replace(",", "%2C").replace(";", "%3B")
    return [f"{parsed.scheme}://{parsed.netloc}{path}" if parsed.scheme else f"{parsed.netloc}{path}"]


# No inline script or style anywhere: htmx is told not to inject its indicator styles (base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, *chartjs_script_source(CHARTJS_URL)],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
    },
}

# Login rate limit (django-axes): a username+address pair is locked out after this many failures.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5", minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", "15", minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind reverse proxies, the client is the address the outermost trusted proxy saw (django-ipware
# reads X-Forwarded-For); with none, REMOTE_ADDR. Otherwise a lockout would lock out the proxy.
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "0")
AXES_CLIENT_IP_CALLABLE = "generations.client_address.client_ip"
# No start-up banner in every process (web, worker, simulator, each management command).
AXES_VERBOSE = False

# Monitoring (monitoring/, docs/monitoring.md). GET /metrics answers a read token or a client in one of
# these networks (its address as TRUSTED_PROXY_COUNT says); at most METRICS_MAX_KEYS keys get a label
# of their own (the largest spenders), the rest are summed under key="other".
METRICS_ALLOWED_ADDRESSES = envnetworks("METRICS_ALLOWED_ADDRESSES", "")
METRICS_MAX_KEYS = envint("METRICS_MAX_KEYS", "50")
# Requests per minute each read token may make to /api/v1 and /metrics (0: no limit); past it, a 429 with
# Retry-After. Counted in Django's cache: shared by every process with CACHE_URL, else per process.
READ_API_RATE_LIMIT = envint("READ_API_RATE_LIMIT", "120")

# Budgets and alerts (budgets/, docs/budgets.md). Outgoing mail: Django's SMTP backend with EMAIL_HOST,
# EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS; the console backend prints mail instead.
EMAIL_BACKEND = os.getenv(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.getenv("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25", minimum=1)
EMAIL_HOST_USER = os.getenv("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.getenv("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "10", minimum=1)
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "FastRouter Dash <dash@localhost>")
# The address alert messages link to (the budget's page): this site as its users reach it.
SITE_URL = envurl("SITE_URL", "http://127.0.0.1:8000")
# Webhook and Slack sends: seconds per attempt; failed sends are retried with doubling waits from
# BUDGET_RETRY_BASE_SECONDS up to an hour, and given up (state "failed", on the history page) after
# BUDGET_DELIVERY_MAX_ATTEMPTS attempts.
BUDGET_SEND_TIMEOUT = envfloat("BUDGET_SEND_TIMEOUT", "10")
BUDGET_RETRY_BASE_SECONDS = envint("BUDGET_RETRY_BASE_SECONDS", "30", minimum=1)
BUDGET_DELIVERY_MAX_ATTEMPTS = envint("BUDGET_DELIVERY_MAX_ATTEMPTS", "20", minimum=1)
# Anomalies (budgets/anomalies.py): a model's or key's day costing more than BUDGET_ANOMALY_FACTOR
# times the median of its previous 14 days and more than BUDGET_ANOMALY_MIN_USD (exact USD). Their
# days, and the weekly digest's weeks (Monday to Sunday), are those of BUDGET_REPORT_ZONE; the
# digest names the BUDGET_DIGEST_TOP largest movers by model, key and team.
BUDGET_ANOMALY_FACTOR = envdecimal("BUDGET_ANOMALY_FACTOR", "3")
BUDGET_ANOMALY_MIN_USD = envdecimal("BUDGET_ANOMALY_MIN_USD", "5.00")
BUDGET_REPORT_ZONE = envzone("BUDGET_REPORT_ZONE", "UTC")
BUDGET_DIGEST_TOP = envint("BUDGET_DIGEST_TOP", "5", minimum=1)

# Request/response bodies: kept in full, cut to STORE_BODIES_LIMIT characters each, or not at all.
STORE_BODIES = envchoice("STORE_BODIES", "full", ("full", "truncated", "none"))
STORE_BODIES_LIMIT = envint("STORE_BODIES_LIMIT", str(64 * 1024), minimum=1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
