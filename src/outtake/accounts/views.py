"""Public pages, sign-up, login and API tokens; and the role check every other page uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from outtake.accounts import services
from outtake.accounts.forms import LoginForm, SignupForm, TokenForm
from outtake.accounts.models import ApiToken, User
from outtake.config.api import DOMAIN_ERRORS
from outtake.ledger.payouts import payout_minimums
from outtake.rights.sellability import require_current_agreement

ROLE_HOME = {
    User.Role.CREATOR: "footage",
    User.Role.BUYER: "catalogue",
    User.Role.REVIEWER: "admin:index",
}
ROLE_PLURAL = {
    User.Role.CREATOR: "creators",
    User.Role.BUYER: "buyers",
    User.Role.REVIEWER: "reviewers",
}
UPLOAD_TOKEN_SESSION_KEY = "outtake.upload_token"


def role_required(*roles: str) -> Callable:
    """A page for signed-in users of these roles; anyone else gets a 403 page saying why.

    Refusals and domain errors raised by services become a readable page, never a 500.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.user.role not in roles:
                who = " and ".join(ROLE_PLURAL[r] for r in roles)
                raise PermissionDenied(f"This page is for {who}.")
            try:
                return view(request, *args, **kwargs)
            except PermissionError as exc:
                raise PermissionDenied(str(exc)) from exc
            except DOMAIN_ERRORS as exc:
                return render(request, "error.html", {"message": str(exc)}, status=400)

        return login_required(wrapper)

    return decorate


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def role_home(user: User) -> str:
    return reverse(ROLE_HOME.get(user.role, "home"))


def _rate_card() -> dict:
    card = settings.RATE_CARD
    return {
        "card": card,
        "premiums": [{"premium": p, "tags": sorted(p.tags)} for p in card.premiums],
        "share_percent": f"{card.creator_share * 100:.0f}",
        "fee_percent": f"{(1 - card.creator_share) * 100:.0f}",
        "payout_minimums": payout_minimums(),
        "warn_percent": f"{card.warn_deduction * 100:.0f}",
    }


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/home.html", _rate_card())


def rate_card(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/rate_card.html", _rate_card())


def signup(request: HttpRequest) -> HttpResponse:
    chosen = request.GET.get("role")  # the home page's two sign-up buttons preselect a role
    form = SignupForm(request.POST or None, initial={"role": chosen} if chosen else {})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_user(
                data["email"], data["password"], data["role"], org_name=data["organization"]
            )
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            if user.is_creator:
                services.accept_creator_agreement(user)
            auth_login(request, user)
            messages.success(request, "Welcome to Outtake. Your account is ready.")
            return redirect(role_home(user))
    return render(request, "accounts/signup.html", {"form": form})


def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login(
                request, form.cleaned_data["email"], form.cleaned_data["password"]
            )
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            auth_login(request, user)
            safe = url_has_allowed_host_and_scheme(
                next_url, {request.get_host()}, require_https=request.is_secure()
            )
            return redirect(next_url if safe and next_url else role_home(user))
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    saved = request.session.get(UPLOAD_TOKEN_SESSION_KEY)
    # The browser's upload token lives only as long as the session that made it.
    if (
        saved
        and request.user.is_authenticated
        and request.user.tokens.filter(pk=saved["id"]).exists()
    ):
        services.revoke_token(request.user, saved["id"])
    auth_logout(request)
    messages.info(request, "You are logged out.")
    return redirect("home")


BROWSER_UPLOAD_TOKEN_LIFETIME = timedelta(hours=12)


def browser_upload_token(request: HttpRequest) -> str:
    """The raw upload-only token Uppy sends to /uploads/: one per session, revoked at logout.
    A creator who has not accepted the current agreement gets a 403 saying what to do."""
    require_current_agreement(request.user)
    saved = request.session.get(UPLOAD_TOKEN_SESSION_KEY)
    if saved and services.user_for_token(saved["raw"], "upload") == request.user:
        return saved["raw"]
    new = services.create_token(
        request.user, "browser upload", ["upload"], lifetime=BROWSER_UPLOAD_TOKEN_LIFETIME
    )
    request.session[UPLOAD_TOKEN_SESSION_KEY] = {"id": new.token.id, "raw": new.raw}
    return new.raw


@role_required(*User.Role.values)
def account(request: HttpRequest) -> HttpResponse:
    allowed = services.DEFAULT_SCOPES[request.user.role]
    form = TokenForm(request.POST or None, allowed=allowed)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token = services.create_token(
                request.user, form.cleaned_data["name"], form.cleaned_data["scopes"]
            )
        except services.AccountError as exc:
            form.add_error(None, str(exc))
        else:
            form = TokenForm(allowed=allowed)
    return render(
        request,
        "accounts/account.html",
        {
            "form": form,
            "new_token": new_token,
            "tokens": request.user.tokens.order_by("-created_at"),
        },
    )


@require_POST
@role_required(*User.Role.values)
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    services.revoke_token(request.user, token.pk)
    if is_htmx(request):
        token.refresh_from_db()
        return render(request, "accounts/token_row.html", {"token": token})
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("account")
