import sqlite3
import tarfile

import pytest
from django.db import connection

from outtake.ops.backup import backup

pytestmark = pytest.mark.django_db(transaction=True)


def test_backup_holds_database_and_secrets(make_user, tmp_path, settings):
    from outtake.provenance.ca import ensure_root

    make_user("creator", "keep@example.org")
    ensure_root(settings.OUTTAKE_PKI_DIR)
    target = tmp_path / "backup.tar.gz"
    names = backup(target)
    assert "secret_key" in names and "pki" in names
    with tarfile.open(target) as tar:
        members = tar.getnames()
        assert "pki/root.pem" in members and "pki/root.key" in members
        assert tar.extractfile("secret_key").read().decode() == settings.SECRET_KEY
        if connection.vendor == "sqlite":
            tar.extract("database/outtake.sqlite3", tmp_path, filter="data")
            db = sqlite3.connect(tmp_path / "database" / "outtake.sqlite3")
            emails = [r[0] for r in db.execute("select email from accounts_user")]
            assert "keep@example.org" in emails
        else:
            assert b"keep@example.org" in tar.extractfile("database/dumpdata.json").read()
