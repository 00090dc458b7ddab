"""Creators' terms: the default every asset is offered under, and per-asset overrides."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.catalog.services import assets_of
from outtake.core.terms import ALLOWED, PROTECTIONS, USES, TermsError, default_terms
from outtake.rights import services
from outtake.rights.forms import TermsForm
from outtake.rights.models import TermsVersion


def _summary(terms: dict) -> str:
    """One line on how a version differs from allowing everything."""
    parts = [
        f"{USES[code].label}: {entry['state'].replace('_', ' ')}"
        for code, entry in terms["uses"].items()
        if entry["state"] != ALLOWED
    ]
    parts += [
        f"off: {PROTECTIONS[code].rstrip('.')}"
        for code, on in terms["protections"].items()
        if not on
    ]
    if not terms["exclusive_allowed"]:
        parts.append("no exclusive licenses")
    return "; ".join(parts) or "every use allowed"


@role_required(User.Role.CREATOR)
def terms(request: HttpRequest) -> HttpResponse:
    org = request.user.organization
    current = services.current_version(org)
    form = TermsForm(request.POST or None, terms=current.terms if current else default_terms())
    if request.method == "POST" and form.is_valid():
        try:
            version = services.set_terms(request.user, form.terms())
        except TermsError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                f"Saved as version {version.version}. Quotes from now on "
                "use it; licenses already sold keep their terms.",
            )
            return redirect("terms")
    history = (
        TermsVersion.objects.filter(organization=org, asset__isnull=True)
        .select_related("created_by")
        .order_by("-version")[:50]
    )
    return render(
        request,
        "rights/terms.html",
        {
            "form": form,
            "current": current,
            "history": [{"version": v, "summary": _summary(v.terms)} for v in history],
        },
    )


@require_POST
@role_required(User.Role.CREATOR)
def asset_terms(request: HttpRequest, asset_id) -> HttpResponse:
    asset = get_object_or_404(assets_of(request.user), pk=asset_id)
    current, _ = services.resolved_terms(asset)
    form = TermsForm(request.POST, terms=current)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("asset", asset_id=asset.id)
    try:
        version = services.set_terms(request.user, form.terms(), asset=asset)
    except TermsError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"This asset now has its own terms (version {version.version}).")
    return redirect("asset", asset_id=asset.id)
