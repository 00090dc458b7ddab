"""Settings for the test suite: a throw-away home and jobs run inline.

Environment variables still win, so CI can point OUTTAKE_DATABASE_URL at PostgreSQL.
"""

import os
import tempfile

os.environ.setdefault("OUTTAKE_HOME", tempfile.mkdtemp(prefix="outtake-test-"))
os.environ.setdefault("OUTTAKE_QUEUE_URL", "immediate")
os.environ.setdefault("OUTTAKE_STORAGE_URL", "file://" + os.environ["OUTTAKE_HOME"] + "/blobs")

from outtake.config.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast in unit tests only
