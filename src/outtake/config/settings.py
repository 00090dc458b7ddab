"""Django settings: every value from the environment, with embedded defaults.

OUTTAKE_HOME            state folder (default ./var): database, queue, blobs, uploads, secrets
OUTTAKE_DATABASE_URL    default sqlite in OUTTAKE_HOME; postgres://… for PostgreSQL
OUTTAKE_QUEUE_URL       default sqlite in OUTTAKE_HOME; redis://… for RedisHuey; "immediate" runs
                        jobs inline (tests)
OUTTAKE_STORAGE_URL     default file://OUTTAKE_HOME/blobs; s3://bucket/prefix; memory://
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url

from outtake.config.home import ensure_home, home, secret_key
from outtake.core.money import Money
from outtake.core.pricing import load_rate_card


def env(name: str, default: str) -> str:
    return os.environ.get(f"OUTTAKE_{name}", default)


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


PACKAGE_DIR = Path(__file__).resolve().parent.parent
OUTTAKE_HOME = home()
ensure_home(OUTTAKE_HOME)

SECRET_KEY = secret_key(OUTTAKE_HOME)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
OUTTAKE_PUBLIC_URL = env("PUBLIC_URL", f"http://127.0.0.1:{env('PORT', '8000')}")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "huey.contrib.djhuey",
    "outtake.accounts",
    "outtake.audit",
    "outtake.notices",
    "outtake.catalog",
    "outtake.rights",
    "outtake.ledger",
    "outtake.market",
    "outtake.delivery",
    "outtake.dedup",
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

ROOT_URLCONF = "outtake.config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "outtake.notices.context.inbox",
            ]
        },
    }
]
ASGI_APPLICATION = "outtake.config.asgi.application"

_default_db = f"sqlite:///{OUTTAKE_HOME / 'outtake.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env("DATABASE_URL", _default_db), conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A web server and a worker write at once: WAL, a busy timeout, immediate transactions.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGIN_FAILURE_LIMIT = int(env("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_S = int(env("LOGIN_FAILURE_WINDOW_S", "900"))
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = OUTTAKE_HOME / "static"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = OUTTAKE_HOME / "mail"
DEFAULT_FROM_EMAIL = env("FROM_EMAIL", "Outtake <noreply@outtake.local>")
# Webhooks and pushes to labs' buckets go to public https addresses only, unless this is on
# (development and tests on loopback).
OUTTAKE_ALLOW_PRIVATE_DESTINATIONS = env_bool("ALLOW_PRIVATE_DESTINATIONS", False)
# A webhook endpoint is switched off after this many failed attempts in a row.
OUTTAKE_WEBHOOK_TIMEOUT = float(env("WEBHOOK_TIMEOUT", "10"))
OUTTAKE_WEBHOOK_DISABLE_AFTER = int(env("WEBHOOK_DISABLE_AFTER", "50"))

OUTTAKE_STORAGE_URL = env("STORAGE_URL", f"file://{OUTTAKE_HOME / 'blobs'}")
OUTTAKE_UPLOAD_DIR = OUTTAKE_HOME / "uploads"
OUTTAKE_TMP_DIR = OUTTAKE_HOME / "tmp"
OUTTAKE_PKI_DIR = OUTTAKE_HOME / "pki"
# WebDataset shard size of deliveries (samples never split, so a shard may run over).
OUTTAKE_SHARD_BYTES = int(env("SHARD_BYTES", str(1024**3)))
# Processes that package a delivery's samples in parallel, each into shards of its own.
OUTTAKE_PACKAGE_WORKERS = int(env("PACKAGE_WORKERS", str(os.cpu_count() or 1)))
# Memory their C2PA signing may hold at once (two copies of each file signed); a file needing
# more is signed alone (delivery.package.Schedule).
OUTTAKE_PACKAGE_MEMORY_MB = int(env("PACKAGE_MEMORY_MB", "2048"))
OUTTAKE_MAX_UPLOAD_BYTES = int(env("MAX_UPLOAD_BYTES", str(500 * 1024**3)))
OUTTAKE_UPLOAD_EXPIRE_S = int(env("UPLOAD_EXPIRE_S", str(24 * 3600)))
OUTTAKE_MAX_IMAGE_PIXELS = int(env("MAX_IMAGE_PIXELS", "100000000"))
OUTTAKE_MAX_DURATION_S = float(env("MAX_DURATION_S", str(6 * 3600)))
# Shots shorter than this are merged into a neighbour: the shortest clip sold on its own.
OUTTAKE_MIN_SHOT_S = float(env("MIN_SHOT_S", "1.0"))
# Aerial by GPS altitude (metres above sea level) when the altitude above take-off is unknown:
# off unless set, since above sea level is not above the ground (media.analysis.tags.is_aerial).
OUTTAKE_AERIAL_GPS_ALTITUDE_M = float(env("AERIAL_GPS_ALTITUDE_M", "0")) or None
OUTTAKE_MEDIA_MEMORY_MB = int(env("MEDIA_MEMORY_MB", "2048"))
OUTTAKE_MEDIA_TIMEOUT_S = float(env("MEDIA_TIMEOUT_S", "3600"))
# Clips showing a minor stay unsellable even with a guardian's release unless this is on.
OUTTAKE_SELL_MINORS = env_bool("SELL_MINORS", False)
OUTTAKE_QUOTE_TTL_HOURS = float(env("QUOTE_TTL_HOURS", "72"))
OUTTAKE_DOWNLOAD_TTL_HOURS = float(env("DOWNLOAD_TTL_HOURS", "72"))
# Pushes into a lab's bucket: part size, how long a failed push's keys are kept for a resume,
# and when a silent running push counts as stalled.
OUTTAKE_PUSH_PART_BYTES = int(env("PUSH_PART_BYTES", str(16 * 1024**2)))
OUTTAKE_PUSH_KEEP_CREDENTIALS_HOURS = float(env("PUSH_KEEP_CREDENTIALS_HOURS", "24"))
OUTTAKE_PUSH_STALE_MINUTES = float(env("PUSH_STALE_MINUTES", "10"))
OUTTAKE_WITHHOLDING_RATE = env("WITHHOLDING_RATE", "0")
OUTTAKE_PAYOUT_PROVIDER = env("PAYOUT_PROVIDER", "csv")  # csv | stripe
OUTTAKE_PAYMENT_PROVIDER = env("PAYMENT_PROVIDER", "bank_transfer")
# Takes card payments for small orders and gives them back on refunds (ledger.payments).
OUTTAKE_CARD_PROVIDER = env("CARD_PROVIDER", "stripe_card")
OUTTAKE_STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", "")
# Signs Stripe's webhook events (whsec_…); card payments are offered up to OUTTAKE_CARD_MAX.
OUTTAKE_STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", "")
OUTTAKE_CARD_MAX = env("CARD_MAX", "2000")
# Shown to buyers in the bank-transfer instructions of every invoice.
OUTTAKE_BANK_ACCOUNT = env("BANK_ACCOUNT", "")
# Encrypts creators' tax ids at rest; empty derives a key from SECRET_KEY. Comma-separated:
# the first encrypts, all decrypt (rotation).
OUTTAKE_FIELD_KEY = env("FIELD_KEY", "")
OUTTAKE_RATE_CARD = env("RATE_CARD", "") or None
RATE_CARD = load_rate_card(OUTTAKE_RATE_CARD)
# The least payable balance paid out, in minor units per currency, e.g. {"USD": 1000, "JPY":
# 1500}; a currency not listed is not paid out. Default: the rate card's minimum.
OUTTAKE_PAYOUT_MINIMUMS = json.loads(env("PAYOUT_MINIMUMS", "") or "null") or {
    RATE_CARD.currency: Money.from_decimal(RATE_CARD.payout_minimum, RATE_CARD.currency).minor
}
# Deduplication: two frames match within FRAME_BITS of 256; two clips when a chain of them covers
# MIN_COVERAGE of the shorter clip's samples. The defaults come from the precision/recall table
# of `make bench-dedup --pr` (README, "make bench-dedup"): no false match at any setting tried
# (24–56 bits), so the best F1 with 20 bits to spare below the closest unrelated frames measured
# (56), at its lowest frame threshold and then its highest coverage. Up to 35 bits, lists are
# searched with 2 bits per index chunk; 36–47 take 3 (7 times the probes).
OUTTAKE_DEDUP_FRAME_BITS = int(env("DEDUP_FRAME_BITS", "36"))
OUTTAKE_DEDUP_MIN_COVERAGE = float(env("DEDUP_MIN_COVERAGE", "0.4"))
OUTTAKE_DEDUP_MIN_FRAMES = int(env("DEDUP_MIN_FRAMES", "2"))
# New hashes go to an unsorted tail, merged into the index tables once it holds this many.
OUTTAKE_DEDUP_TAIL_LIMIT = int(env("DEDUP_TAIL_LIMIT", "50000"))
# Clips matching their creator's published list: "exclude" from quotes, "discount" them (a
# price line takes DEDUP_PUBLISHED_DISCOUNT of the price off), or "allow" them at full price
# (buyers may still ask for unpublished footage only).
OUTTAKE_DEDUP_PUBLISHED = env("DEDUP_PUBLISHED", "exclude")
OUTTAKE_DEDUP_PUBLISHED_DISCOUNT = env("DEDUP_PUBLISHED_DISCOUNT", "0.5")

_queue_url = env("QUEUE_URL", f"sqlite:///{OUTTAKE_HOME / 'queue.sqlite3'}")
if _queue_url == "immediate":
    HUEY = {"name": "outtake", "immediate": True}
elif _queue_url.startswith("redis"):
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "outtake",
        "url": _queue_url,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "outtake",
        "filename": urlparse(_queue_url).path,
        "immediate": False,
        "consumer": {"workers": 2, "worker_type": "thread"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The huey consumer installs its own handler; do not print each line twice.
        "huey": {"propagate": False},
    },
}
