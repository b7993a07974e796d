"""Settings, read from the environment; every variable is listed in deploy/env.example.

Unset, everything runs embedded on one machine: SQLite in var/, the in-memory channel layer,
Celery tasks run in-process. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from chatbot.envvars import (
    env_bool,
    env_choice,
    env_csp_sources,
    env_days,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
    env_time_of_day,
)

BASE_DIR = Path(__file__).resolve().parent.parent


VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _persistent_secret_key() -> str:
    """Return SECRET_KEY, or a random key kept in var/ so tokens survive restarts."""
    key = env_secret("SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    try:
        # O_EXCL: several server processes starting at once agree on one key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _persistent_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Behind TLS, cookies must never travel in clear text.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chatbot",
    "chatbot.nlu",
    "knowledge",
    "handoff",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "chatbot.api",
    "chatbot.webhooks",
    "chatbot.audit",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # After otp_totp: its admin takes the TOTP devices out of Django's admin.
    "chatbot.staff_auth",
    "chatbot.privacy",
]

MIDDLEWARE = [
    # First, so that every line logged for a request carries its id.
    "chatbot.log_context.request_id_middleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so that static files get the policy too.
    "chatbot.content_security_policy.content_security_policy_middleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends idle, signed-out-everywhere and unverified sessions before any view sees the user.
    "chatbot.staff_auth.middleware.staff_session_guard",
    # After the guard: audit entries written by signals name the signed-in user.
    "chatbot.audit.acting_request.remember_acting_request",
    "chatbot.staff_pages.admin_to_own_page",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatbot.urls"
ASGI_APPLICATION = "chatbot.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/knowledge/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Staff sign-in (docs/staff-sign-in.md). Failed sign-ins are counted per account and per client
# address over SIGNIN_FAILURE_WINDOW_MINUTES; at the limit, sign-ins there are refused, even with
# the right password, for SIGNIN_LOCKOUT_MINUTES. The counts live in the cache (Redis when set).
SIGNIN_MAX_FAILURES_PER_ACCOUNT = env_int("SIGNIN_MAX_FAILURES_PER_ACCOUNT", 5, 1)
SIGNIN_MAX_FAILURES_PER_ADDRESS = env_int("SIGNIN_MAX_FAILURES_PER_ADDRESS", 20, 1)
SIGNIN_FAILURE_WINDOW_MINUTES = env_int("SIGNIN_FAILURE_WINDOW_MINUTES", 15, 1)
SIGNIN_LOCKOUT_MINUTES = env_int("SIGNIN_LOCKOUT_MINUTES", 15, 1)
# A staff session ends after this long without a request or a console action of its user.
STAFF_IDLE_TIMEOUT_MINUTES = env_int("STAFF_IDLE_TIMEOUT_MINUTES", 20, 1)
# How often an open console socket checks that its session has not ended (idle, signed out).
STAFF_SESSION_CHECK_SECONDS = env_float("STAFF_SESSION_CHECK_SECONDS", 30.0, 0.01)
# The name an authenticator app shows next to the account.
OTP_TOTP_ISSUER = env_str("SIGNIN_TOTP_ISSUER", "Chatbot platform")
# A failed CSRF check is answered in JSON on the APIs, like their other errors.
CSRF_FAILURE_VIEW = "chatbot.views.csrf_failure"

# --- Database -------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")


def _database(url: str) -> dict:
    """Return the database settings for DATABASE_URL, or the embedded SQLite file."""
    if not url:
        url = f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
    scheme = urlparse(url).scheme
    if scheme not in ("postgres", "postgresql", "sqlite"):
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgres:// or sqlite:// URL, got scheme {scheme!r}"
        )
    database = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, 0))
    if scheme == "sqlite":
        database["OPTIONS"] = {
            # Writers queue instead of failing with "database is locked" under concurrent turns.
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return database


DATABASES = {"default": _database(DATABASE_URL)}
# Threads that run the websocket's database calls with PostgreSQL (SQLite uses one), each with
# its own connection: `chatbot.database_threads`.
DATABASE_THREADS = env_int("DATABASE_THREADS", 4, 1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery, locks, rate limits ---------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and urlparse(REDIS_URL).scheme not in ("redis", "rediss"):
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// or rediss:// URL, got {REDIS_URL!r}")
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "chatbot")
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 2000, 10)

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chatbot.channel_layer.OneTripRedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # redis-py's pool defaults to 100 connections: too few for many sockets.
                        "max_connections": REDIS_MAX_CONNECTIONS,
                        # redis-py 8 times reads out after 5 s, exactly the layer's blocking
                        # BZPOPMIN wait, so a receive with nothing to read fails at random.
                        "socket_timeout": 15,
                        "socket_connect_timeout": 5,
                    }
                ],
                "prefix": f"{REDIS_KEY_PREFIX}:asgi",
                # All of a process's sockets share one Redis inbox, so its capacity is per
                # server process, not per socket: at 1,000 it filled with a few hundred sockets.
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 100_000, 10),
                "expiry": 60,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000, 10)},
        }
    }

# --- Celery ------------------------------------------------------------------------------------

CELERY_VISIBILITY_TIMEOUT_SECONDS = env_int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 60, 5)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS,
    # Look for tasks a dead worker held (unacknowledged, older than the visibility timeout)
    # every 5 s. Kombu's default looks every 10th sweep of 10 s: a task of a worker process
    # killed with its whole pool (a thread pool) would wait up to 100 s more.
    "unacked_restore_interval": 5,
    "unacked_restore_throttle": 1,
}
CELERY_TASK_ROUTES = {
    "nlu.*": {"queue": "nlu"},
    "handoff.*": {"queue": "handoff"},
    "webhooks.*": {"queue": "webhooks"},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]

# --- The chat widget's websocket -----------------------------------------------------------

CHAT_ALLOWED_ORIGINS = env_list(
    "CHAT_ALLOWED_ORIGINS", ["http://localhost:8000", "http://127.0.0.1:8000"]
)
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 2000, 1)
CHAT_MAX_FRAME_BYTES = env_int("CHAT_MAX_FRAME_BYTES", 16384, 256)
CHAT_RATE_LIMIT_MESSAGES = env_int("CHAT_RATE_LIMIT_MESSAGES", 20, 1)
CHAT_RATE_LIMIT_WINDOW_SECONDS = env_float("CHAT_RATE_LIMIT_WINDOW_SECONDS", 10.0, 0.1)
CHAT_TOKEN_MAX_AGE_DAYS = env_float("CHAT_TOKEN_MAX_AGE_DAYS", 30.0, 0.0001)
# Identified visitors (chatbot/identity.py; docs/protocol.md, "Identified customers"; README.md,
# "Embedding the widget"): the secret the company's website signs its logged-in customers'
# identities with. Unset, the widget's visitors are anonymous and any identity is refused. An
# identity older than CHAT_IDENTITY_MAX_AGE_SECONDS is refused. To rotate the secret, set the
# new one and keep the old as CHAT_IDENTITY_PREVIOUS_SECRET until pages signed with it expire.
CHAT_IDENTITY_SECRET = env_secret("CHAT_IDENTITY_SECRET")
CHAT_IDENTITY_PREVIOUS_SECRET = env_secret("CHAT_IDENTITY_PREVIOUS_SECRET")
CHAT_IDENTITY_MAX_AGE_SECONDS = env_int("CHAT_IDENTITY_MAX_AGE_SECONDS", 86_400, minimum=60)
CHAT_HELLO_TIMEOUT_SECONDS = env_float("CHAT_HELLO_TIMEOUT_SECONDS", 10.0, 0.1)
CHAT_LOCK_TIMEOUT_SECONDS = env_float("CHAT_LOCK_TIMEOUT_SECONDS", 60.0, 1.0)
# Admission control (`chatbot.admission`), per web process: past these, a new message or
# socket is refused with a `busy` frame and a retry time, never taken on and answered badly.
# Visitors waiting for an answer, classification tasks queued for the workers (or here,
# embedded), open sockets; and the retry time a refusal gives (spread by up to half again).
CHAT_BUSY_TURNS = env_int("CHAT_BUSY_TURNS", 100, 1)
NLU_BUSY_QUEUE_DEPTH = env_int("NLU_BUSY_QUEUE_DEPTH", 100, 1)
CHAT_MAX_CONNECTIONS = env_int("CHAT_MAX_CONNECTIONS", 5000, 1)
CHAT_BUSY_RETRY_SECONDS = env_float("CHAT_BUSY_RETRY_SECONDS", 5.0, 0.1)

# --- Content-Security-Policy ----------------------------------------------------------------

# Hosts pages may connect to besides their own (whose ws: and wss: are always allowed), such as
# a chat host of its own: wss://chat.example.com.
CSP_CONNECT_SRC = env_csp_sources("CSP_CONNECT_SRC", [])

# --- Intent classification --------------------------------------------------------------------

NLU_QUEUE = "nlu"
# How long a turn waits for one attempt at classifying its message; the next attempt sends the
# request again. After NLU_ATTEMPTS the bot says it is busy (never a guess at the message).
NLU_TIMEOUT_SECONDS = env_float("NLU_TIMEOUT_SECONDS", 5.0, 0.05)
NLU_ATTEMPTS = env_int("NLU_ATTEMPTS", 4, 1)
# How often a web process reads the length of the workers' queue while messages come in.
NLU_QUEUE_SAMPLE_SECONDS = env_float("NLU_QUEUE_SAMPLE_SECONDS", 0.25, 0.01)
# The most messages classified in one call: one task to the workers, or one run in-process.
NLU_MAX_BATCH = env_int("NLU_MAX_BATCH", 32, 1)
# A worker with a thread pool classifies the requests of tasks running at the same time in one
# call: it waits up to this long for more, or until it has NLU_WORKER_MAX_BATCH requests.
NLU_WORKER_BATCH_WINDOW_MS = env_float("NLU_WORKER_BATCH_WINDOW_MS", 2.0, 0.0)
NLU_WORKER_MAX_BATCH = env_int("NLU_WORKER_MAX_BATCH", 64, 1)
# The demo bank's knowledge graph and intents (BANKING77's training split), loaded by `make run`.
DEMO_KNOWLEDGE_FILE = Path(
    env_str("DEMO_KNOWLEDGE_FILE", str(BASE_DIR / "knowledge" / "demo" / "kestrel_bank.json"))
)
# Shipped in the repository with its licence (chatbot/nlu/data/), so any clone runs the demo.
INTENT_DATA_DIR = BASE_DIR / "chatbot" / "nlu" / "data"
DEMO_INTENTS_FILE = Path(
    env_str("DEMO_INTENTS_FILE", str(INTENT_DATA_DIR / "banking77" / "train.csv"))
)
# The demo's conversational intents (hello, thanks, yes, no, a person please, follow-ups),
# imported and trained beside the demo bank's; a company's own intents need them too.
CONVERSATION_INTENTS_FILE = Path(
    env_str("CONVERSATION_INTENTS_FILE", str(INTENT_DATA_DIR / "conversation.csv"))
)
# Threads per classifying process; a worker with concurrency N uses N processes.
NLU_THREADS = env_int("NLU_THREADS", 1, 1)

# --- Dialogue ---------------------------------------------------------------------------------

# The bot answers a question without offering the runner-ups only from this (calibrated)
# confidence up; below it, it answers its best guess and offers the others as buttons.
DIALOGUE_SURE_CONFIDENCE = env_float("DIALOGUE_SURE_CONFIDENCE", 0.95, 0.0)
# Below this, it asks which of the likeliest topics was meant instead of guessing.
DIALOGUE_TENTATIVE_FLOOR = env_float("DIALOGUE_TENTATIVE_FLOOR", 0.3, 0.0)
# The most options a clarification offers.
DIALOGUE_OPTIONS = env_int("DIALOGUE_OPTIONS", 3, 2)
# How likely a sensitive intent must be for an unsure message to go to a person as one.
DIALOGUE_SENSITIVE_FLOOR = env_float("DIALOGUE_SENSITIVE_FLOOR", 0.3, 0.0)
# Related topics suggested as buttons under an answer (0: none).
DIALOGUE_SUGGESTIONS = env_int("DIALOGUE_SUGGESTIONS", 2, 0)
# Turns a country or currency the visitor named keeps shaping the answers.
DIALOGUE_SLOT_MEMORY_TURNS = env_int("DIALOGUE_SLOT_MEMORY_TURNS", 8, 0)

# --- Language model ---------------------------------------------------------------------------

# template: answers from graph facts with templates, no model. vllm: a vLLM server's
# OpenAI-compatible API. transformers: a small local causal language model.
LLM_BACKEND = env_choice("LLM_BACKEND", "template", ("template", "vllm", "transformers"))
VLLM_BASE_URL = env_str("VLLM_BASE_URL", "http://127.0.0.1:8001/v1")
VLLM_API_KEY = env_secret("VLLM_API_KEY")
LLM_MODEL = env_str("LLM_MODEL", "Qwen/Qwen2.5-1.5B-Instruct")
# A folder holding a causal language model and its tokenizer, for the transformers backend.
LLM_MODEL_PATH = env_str("LLM_MODEL_PATH")
LLM_MAX_TOKENS = env_int("LLM_MAX_TOKENS", 200, 1)
LLM_TEMPERATURE = env_float("LLM_TEMPERATURE", 0.2, 0.0)
# Seconds to connect, to the first token, between tokens, and for a whole answer.
LLM_CONNECT_TIMEOUT_SECONDS = env_float("LLM_CONNECT_TIMEOUT_SECONDS", 2.0, 0.01)
LLM_FIRST_TOKEN_TIMEOUT_SECONDS = env_float("LLM_FIRST_TOKEN_TIMEOUT_SECONDS", 3.0, 0.01)
LLM_TOKEN_TIMEOUT_SECONDS = env_float("LLM_TOKEN_TIMEOUT_SECONDS", 2.0, 0.01)
LLM_TOTAL_TIMEOUT_SECONDS = env_float("LLM_TOTAL_TIMEOUT_SECONDS", 15.0, 0.1)
# Attempts before the first token; a stream that broke after it falls back instead.
LLM_RETRIES = env_int("LLM_RETRIES", 1, 0)
# Consecutive failures that open the circuit, and how long it stays open before one probe.
LLM_CIRCUIT_FAILURES = env_int("LLM_CIRCUIT_FAILURES", 3, 1)
LLM_CIRCUIT_RESET_SECONDS = env_float("LLM_CIRCUIT_RESET_SECONDS", 30.0, 0.1)

# --- Human handoff ------------------------------------------------------------------------------

# Seconds an agent has to accept an offered conversation before it goes to the next agent.
HANDOFF_OFFER_SECONDS = env_float("HANDOFF_OFFER_SECONDS", 30.0, 1.0)
# The triggers that escalate: requested, sensitive_intent, frustration, low_confidence,
# failed_flow, repeated_question (all by default). Names are checked when Django starts
# (`handoff.checks`). The defaults below are those of `chatbot.dialogue.escalation`'s rules,
# written out because settings import no application module (a test keeps them equal).
HANDOFF_TRIGGERS = env_list(
    "HANDOFF_TRIGGERS",
    [
        "requested",
        "sensitive_intent",
        "frustration",
        "low_confidence",
        "failed_flow",
        "repeated_question",
    ],
)
# Escalate after this many unclear or unanswered messages in a row.
HANDOFF_UNCLEAR_TURNS = env_int("HANDOFF_UNCLEAR_TURNS", 3, 1)
# Escalate when the frustration estimate (0 to 1) reaches this.
HANDOFF_FRUSTRATION = env_float("HANDOFF_FRUSTRATION", 0.7, 0.0)
# Intents that always go to a person.
HANDOFF_SENSITIVE_INTENTS = env_list(
    "HANDOFF_SENSITIVE_INTENTS",
    [
        "compromised_card",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
        "direct_debit_payment_not_recognised",
    ],
)
# Escalate a task whose question had to be asked again this many times.
HANDOFF_FLOW_RETRIES = env_int("HANDOFF_FLOW_RETRIES", 2, 1)
# When agents work, in TIME_ZONE: "always", or like "mon-fri 08:00-20:00; sat 09:00-13:00".
HANDOFF_HOURS = env_str("HANDOFF_HOURS", "always")
# The expected wait per queue position before there are measured waits to go by.
HANDOFF_DEFAULT_WAIT_SECONDS = env_float("HANDOFF_DEFAULT_WAIT_SECONDS", 90.0, 1.0)

# Agent presence: the console pings this often; a console not heard from for
# HANDOFF_PRESENCE_TIMEOUT_SECONDS counts as gone; an agent whose last console closed stays online
# HANDOFF_RECONNECT_GRACE_SECONDS (a reload), then goes away and their conversations move on.
HANDOFF_HEARTBEAT_SECONDS = env_float("HANDOFF_HEARTBEAT_SECONDS", 20.0, 1.0)
HANDOFF_PRESENCE_TIMEOUT_SECONDS = env_float("HANDOFF_PRESENCE_TIMEOUT_SECONDS", 60.0, 2.0)
HANDOFF_RECONNECT_GRACE_SECONDS = env_float("HANDOFF_RECONNECT_GRACE_SECONDS", 10.0, 0.0)
if HANDOFF_PRESENCE_TIMEOUT_SECONDS <= HANDOFF_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "HANDOFF_PRESENCE_TIMEOUT_SECONDS must be longer than HANDOFF_HEARTBEAT_SECONDS"
    )

# --- Static files, passwords, i18n ---------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Serve straight from the apps' static folders when collectstatic has not run (tests, dev).
WHITENOISE_USE_FINDERS = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# REST API v1 (chatbot.api, docs/api.md): API keys only, each with its scopes; one error shape;
# API_RATE_LIMIT requests per key (N/second, minute, hour or day), counted in the cache.
API_RATE_LIMIT = env_str("API_RATE_LIMIT", "600/minute")
if REDIS_URL:
    # One count per key across every web process (the API's rate limits live in the cache).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache",
        }
    }
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["chatbot.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["chatbot.api.authentication.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["chatbot.api.authentication.PerKeyThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatbot.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chatbot platform API",
    "DESCRIPTION": "Conversations, handoffs, tickets and report figures for integrations. "
    "Authenticate with an API key from the admin: `Authorization: Bearer KEY`.",
    "VERSION": "1.0.0",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # A PATCH body's schema keeps its required fields (a node's version is one), instead of a
    # "Patched" copy with every field optional that would promise what the server refuses.
    "COMPONENT_SPLIT_PATCH": False,
    # 3.1 is JSON Schema proper: it can say that attribute names are identifiers (propertyNames).
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chatbot.api.schema.add_error_responses",
    ],
}
if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_RATE_LIMIT):
    raise ImproperlyConfigured(
        f"API_RATE_LIMIT must be like 600/minute (N/second|minute|hour|day), got {API_RATE_LIMIT!r}"
    )

# Webhooks (chatbot.webhooks, docs/webhooks.md). Each attempt waits WEBHOOK_TIMEOUT_SECONDS for
# an answer. A failed delivery is tried again after WEBHOOK_RETRY_BASE_SECONDS, doubling up to
# WEBHOOK_RETRY_MAX_SECONDS (with jitter), for WEBHOOK_RETRY_FOR_SECONDS; then it is marked failed.
# A subscription is paused, and its owner emailed, after WEBHOOK_PAUSE_AFTER_FAILED_DELIVERIES
# deliveries given up on in a row, or WEBHOOK_PAUSE_AFTER_FAILING_SECONDS without a success.
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0, 0.1)
WEBHOOK_RETRY_BASE_SECONDS = env_float("WEBHOOK_RETRY_BASE_SECONDS", 10.0, 0.001)
WEBHOOK_RETRY_MAX_SECONDS = env_float("WEBHOOK_RETRY_MAX_SECONDS", 3600.0, 0.001)
WEBHOOK_RETRY_FOR_SECONDS = env_float("WEBHOOK_RETRY_FOR_SECONDS", 86_400.0, 0.0)
WEBHOOK_PAUSE_AFTER_FAILED_DELIVERIES = env_int("WEBHOOK_PAUSE_AFTER_FAILED_DELIVERIES", 10, 1)
WEBHOOK_PAUSE_AFTER_FAILING_SECONDS = env_float(
    "WEBHOOK_PAUSE_AFTER_FAILING_SECONDS", 259_200.0, 1.0
)
# Private, loopback and link-local addresses (this server's own network: SSRF) are refused
# unless allowed; allowed by default only with DEBUG (a receiver on the developer's machine).
WEBHOOK_ALLOW_PRIVATE_URLS = env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", DEBUG)
# Every worker (and an embedded web process) looks this often for deliveries whose task was
# lost with a process that died; 0: never.
WEBHOOK_SWEEP_SECONDS = env_float("WEBHOOK_SWEEP_SECONDS", 60.0, 0.0)
# Owners of paused subscriptions are emailed, over SMTP with these.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, 1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# Retention (chatbot.privacy, docs/retention.md): how many days each kind of data is kept, or
# "forever". A conversation's age is the time since its newest event (its last activity); it goes
# whole, with its tickets, ratings and turns, so nothing is kept longer than its transcript. A turn
# log (what the classifier and the policy made of a message) is emptied, the turn kept. The
# webhook outbox holds copies of messages, tickets and ratings, so it is kept no longer than they.
RETENTION_TRANSCRIPT_DAYS = env_days("RETENTION_TRANSCRIPT_DAYS", 1825)
RETENTION_TICKET_DAYS = env_days("RETENTION_TICKET_DAYS", 1095)
RETENTION_RATING_DAYS = env_days("RETENTION_RATING_DAYS", 730)
RETENTION_TURN_LOG_DAYS = env_days("RETENTION_TURN_LOG_DAYS", 90)
RETENTION_WEBHOOK_DAYS = env_days("RETENTION_WEBHOOK_DAYS", 30)


def _at_most(name: str, days: int | None, limits: dict[str, int | None]) -> None:
    """Refuse a period longer than one of `limits`: the shorter one would cut it silently."""
    for limit_name, limit in limits.items():
        if limit is not None and (days is None or days > limit):
            kept = "forever" if days is None else f"{days} days"
            raise ImproperlyConfigured(
                f"{name} ({kept}) must not be longer than {limit_name} ({limit} days): "
                f"that data goes with what {limit_name} purges"
            )


for _name in ("RETENTION_TICKET_DAYS", "RETENTION_RATING_DAYS", "RETENTION_TURN_LOG_DAYS"):
    _at_most(_name, globals()[_name], {"RETENTION_TRANSCRIPT_DAYS": RETENTION_TRANSCRIPT_DAYS})
_at_most(
    "RETENTION_WEBHOOK_DAYS",
    RETENTION_WEBHOOK_DAYS,
    {
        "RETENTION_TRANSCRIPT_DAYS": RETENTION_TRANSCRIPT_DAYS,
        "RETENTION_TICKET_DAYS": RETENTION_TICKET_DAYS,
        "RETENTION_RATING_DAYS": RETENTION_RATING_DAYS,
    },
)
# When the daily purge runs (UTC): Celery beat's schedule with workers, a timer in the web
# process embedded. "off": neither (run `manage.py purge_expired_data` from your own scheduler).
RETENTION_PURGE_AT = env_time_of_day("RETENTION_PURGE_AT", "03:30")
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = (
    {
        "purge-expired-data": {
            "task": "privacy.purge_expired",
            "schedule": crontab(hour=RETENTION_PURGE_AT[0], minute=RETENTION_PURGE_AT[1]),
        }
    }
    if RETENTION_PURGE_AT
    else {}
)

# Prometheus metrics (chatbot.metrics) at /metrics. METRICS_TOKEN: scrapers send it as
# "Authorization: Bearer TOKEN"; unset, only this host (loopback) may read them. METRICS_PORT:
# a Celery worker serves its own at http://0.0.0.0:PORT/metrics (0: it serves none).
# PROMETHEUS_MULTIPROC_DIR, read by prometheus_client itself, sums several processes' values.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
METRICS_PORT = env_int("METRICS_PORT", 0, minimum=0)

# Personal data in messages (chatbot.personal_data, docs/personal-data.md). A message's text is
# always stored masked; PERSONAL_DATA_STORAGE says what is kept of its original: "mask" nothing
# (the default: nothing to leak, no key to guard), "encrypt" the original encrypted with
# PERSONAL_DATA_KEYS, "keep" the original in clear. PERSONAL_DATA_KEYS: Fernet keys separated by
# commas, newest first: the first encrypts, every one decrypts (rotation: put a new key first,
# run `manage.py rotate_personal_data_key`, then drop the old one).
PERSONAL_DATA_STORAGE = env_choice("PERSONAL_DATA_STORAGE", "mask", ("mask", "encrypt", "keep"))
PERSONAL_DATA_KEYS = [
    key.strip() for key in env_secret("PERSONAL_DATA_KEYS").split(",") if key.strip()
]


def _check_personal_data_keys(keys: list[str]) -> None:
    """Fail at start-up, never at a visitor's message, when encryption has no valid key."""
    from cryptography.fernet import Fernet

    if not keys:
        raise ImproperlyConfigured(
            "PERSONAL_DATA_STORAGE=encrypt needs PERSONAL_DATA_KEYS (one or more Fernet keys)"
        )
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ImproperlyConfigured(
                f"PERSONAL_DATA_KEYS: key number {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None


if PERSONAL_DATA_STORAGE == "encrypt":
    _check_personal_data_keys(PERSONAL_DATA_KEYS)

# LOG_FORMAT: "plain" lines for a terminal, or "json", one object per line with the
# conversation_id and request_id of the line (chatbot.log_context), for a log collector.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "chatbot.json_logs.JsonFormatter"},
    },
    "filters": {
        "refusals": {"()": "chatbot.log_filters.RefusalsWithoutTraceback"},
        "context": {"()": "chatbot.log_context.ContextFilter"},
        # On every handler: no card number, IBAN, email... reaches a log line, whoever logs it.
        "personal_data": {"()": "chatbot.log_filters.MaskPersonalData"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "personal_data"],
        }
    },
    # A 403 is logged on one line, without the traceback Django attaches to PermissionDenied.
    "loggers": {"django.request": {"filters": ["refusals"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
