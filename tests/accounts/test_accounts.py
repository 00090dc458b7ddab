import pytest
from django.test import RequestFactory

from outtake.accounts.models import Organization, User
from outtake.accounts.services import AccountError, create_user, login

pytestmark = pytest.mark.django_db


def test_each_user_gets_an_organization_with_a_pseudonym():
    user = create_user("Ana@Example.org", "correct horse battery", "creator", org_name="Ana")
    assert user.email == "ana@example.org"
    assert user.organization.kind == Organization.Kind.CREATOR
    assert user.organization.pseudonym.startswith("creator-")
    lab = create_user("lab@example.org", "correct horse battery", "buyer")
    assert lab.organization.pseudonym.startswith("lab-")


def test_passwords_are_argon2_in_production_settings():
    from outtake.config import settings as prod

    assert prod.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]


def test_weak_password_and_duplicate_email_refused():
    with pytest.raises(AccountError):
        create_user("a@example.org", "short", "creator")
    create_user("a@example.org", "correct horse battery", "creator")
    with pytest.raises(AccountError, match="already exists"):
        create_user("A@example.org", "correct horse battery", "buyer")
    with pytest.raises(AccountError):
        create_user("b@example.org", "correct horse battery", "admin")


def test_login_is_rate_limited(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    create_user("a@example.org", "correct horse battery", "creator")
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.1")
    for _ in range(3):
        with pytest.raises(AccountError, match="wrong"):
            login(request, "a@example.org", "nope")
    with pytest.raises(AccountError, match="too many"):
        login(request, "a@example.org", "correct horse battery")
    assert User.objects.count() == 1


def test_overlong_token_name_is_refused_not_a_server_error():
    from outtake.accounts.services import create_token

    user = create_user("t@example.org", "correct horse battery", "buyer")
    with pytest.raises(AccountError, match="at most 100"):
        create_token(user, "x" * 101)
