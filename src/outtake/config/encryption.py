"""Fields encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256), for creators' tax ids.

The key comes from OUTTAKE_FIELD_KEY, or failing that from SECRET_KEY through HKDF with a salt
of its own, so the field key is never the signing key itself. A database dump or backup
without the key shows tokens, not tax ids.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

SALT = b"outtake encrypted fields v1"


def _fernet_key(secret: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=b"fernet").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


@cache
def _cipher(field_key: str, secret_key: str) -> MultiFernet:
    secrets = [k.strip() for k in field_key.split(",") if k.strip()] or [secret_key]
    return MultiFernet([Fernet(_fernet_key(s)) for s in secrets])


def cipher() -> MultiFernet:
    return _cipher(settings.OUTTAKE_FIELD_KEY, settings.SECRET_KEY)


def encrypt(plain: str) -> str:
    return cipher().encrypt(plain.encode()).decode("ascii") if plain else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return cipher().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise ImproperlyConfigured(
            "an encrypted field cannot be read with this key: was OUTTAKE_FIELD_KEY or "
            "SECRET_KEY changed without keeping the old one (comma-separated, last)?"
        ) from exc


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token; reads give the plain text back. Empty stays empty.

    Tokens are random each time, so the column cannot be searched or made unique."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value is not None else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return encrypt(value) if value is not None else value
