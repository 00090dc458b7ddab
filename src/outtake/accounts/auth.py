"""API authentication: a bearer token with a scope, or the browser session (with CSRF)."""

from __future__ import annotations

from ninja.errors import HttpError
from ninja.security import HttpBearer, django_auth

from outtake.accounts.services import user_for_token


class ScopedAuth(HttpBearer):
    """A bearer token holding the scope, or else the browser session (CSRF-checked).

    A request that sends a token is judged by the token alone: a wrong token is a 401, never a
    fall-through to the session; a good token without the scope is a 403 (RFC 6750's
    insufficient_scope), so a client knows to ask for another token rather than log in again.
    """

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request):
        if request.headers.get(self.header):
            return super().__call__(request)
        return django_auth(request)

    def authenticate(self, request, token: str):
        user = user_for_token(token, self.scope)
        if user is None:
            if user_for_token(token) is not None:
                raise HttpError(403, f"This token does not carry the {self.scope!r} scope.")
            return None
        request.user = user
        return user


def scoped(scope: str) -> ScopedAuth:
    """Auth for an endpoint needing one scope; sessions hold every scope of the user's role."""
    return ScopedAuth(scope)


def request_user(request, scope: str):
    """For plain views that serve API clients too: the bearer token's user, else the session's."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return user_for_token(header[7:].strip(), scope)
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None
