"""Creators' terms: the default every asset is offered under, and per-asset overrides."""

import json
import uuid
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from outtake.accounts import services as accounts
from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.catalog.models import Asset, Clip
from outtake.catalog.services import assets_of
from outtake.core.terms import (
    ALLOWED,
    OPTIONAL_PROTECTIONS,
    OWNERSHIP_ATTESTATIONS,
    PROTECTIONS,
    USES,
    TermsError,
    default_terms,
)
from outtake.rights import approvals, claims, contracts, releases, services
from outtake.rights.forms import ReleaseForm, TermsForm
from outtake.rights.models import Release, TermsVersion


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
        if not on and code in PROTECTIONS
    ]
    parts += [
        f"on: {OPTIONAL_PROTECTIONS[code].rstrip('.')}"
        for code, on in terms["protections"].items()
        if on and code in OPTIONAL_PROTECTIONS
    ]
    if not terms["exclusive_allowed"]:
        parts.append("no exclusive licenses")
    if terms.get("approval_required"):
        parts.append("each deal needs my approval")
    if terms.get("precise_location"):
        parts.append("precise location delivered")
    if terms.get("original_c2pa_manifest"):
        parts.append("originals' C2PA manifests delivered")
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


@role_required(*User.Role.values)
def license_contract(request: HttpRequest, license_id) -> HttpResponse:
    """The sealed license PDF, for the buyer and every creator whose clips it licenses."""
    contract = get_object_or_404(contracts.contracts_for(request.user), license_id=license_id)
    pdf = contracts.contract_pdf_for(request.user, contract)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="license-{license_id}.pdf"'
    return response


@role_required(*User.Role.values)
def license_odrl(request: HttpRequest, license_id) -> HttpResponse:
    contract = get_object_or_404(contracts.contracts_for(request.user), license_id=license_id)
    policy = contracts.odrl_policy_for(request.user, contract)
    return HttpResponse(json.dumps(policy, indent=2), content_type="application/ld+json")


@role_required(User.Role.CREATOR)
def creator_contracts(request: HttpRequest) -> HttpResponse:
    """The licenses that include this creator's clips, with their sealed documents."""
    rows = list(
        contracts.contracts_for(request.user)
        .select_related("license__buyer")
        .order_by("-accepted_at")[:200]
    )
    for contract in rows:
        contract.withheld = contracts.withheld_from(request.user, contract)
    return render(request, "rights/contracts.html", {"contracts": rows})


@role_required(User.Role.CREATOR)
def agreement(request: HttpRequest) -> HttpResponse:
    """Accept the creator agreement (again when its template changed) and see past acceptances."""
    if request.method == "POST":
        if request.POST.get("accept") != "1":
            messages.error(request, "Tick the box to accept the agreement and attest ownership.")
        else:
            accounts.accept_creator_agreement(request.user)
            messages.success(request, "Agreement accepted; your attestation is on the record.")
        return redirect("agreement")
    return render(
        request,
        "rights/agreement.html",
        {
            "needs": accounts.needs_agreement(request.user),
            "version": accounts.agreement_version(),
            "statements": OWNERSHIP_ATTESTATIONS.values(),
            "acceptances": accounts.agreements_of(request.user),
        },
    )


@role_required(User.Role.CREATOR)
def agreement_current_pdf(request: HttpRequest) -> HttpResponse:
    """The current agreement, with this creator's details and terms, to read before accepting."""
    pdf = accounts.current_agreement_pdf(request.user)
    return HttpResponse(pdf, content_type="application/pdf")


def agreement_text_pdf(request: HttpRequest) -> HttpResponse:
    """The current agreement for anyone to read before signing up."""
    return HttpResponse(accounts.blank_agreement_pdf(), content_type="application/pdf")


@role_required(User.Role.CREATOR)
def agreement_pdf(request: HttpRequest, attestation_id: int) -> HttpResponse:
    attestation = get_object_or_404(
        accounts.agreements_of(request.user).exclude(document_key=""), pk=attestation_id
    )
    return HttpResponse(accounts.agreement_pdf(attestation), content_type="application/pdf")


@role_required(User.Role.CREATOR)
def approval_list(request: HttpRequest) -> HttpResponse:
    """Allow-list mode: deals waiting for this creator's decision."""
    if request.method == "POST":
        approval = get_object_or_404(
            approvals.approvals_for(request.user), pk=request.POST.get("approval")
        )
        decision = approvals.decide(
            request.user, approval, approve=request.POST.get("decision") == "approve"
        )
        messages.success(request, f"Deal {decision.status}.")
        return redirect("approvals")
    return render(
        request, "rights/approvals.html", {"approvals": approvals.approvals_for(request.user)}
    )


@role_required(User.Role.CREATOR, User.Role.BUYER)
def revocation_list(request: HttpRequest) -> HttpResponse:
    """Buyers acknowledge revocation notices here; creators see who acknowledged theirs."""
    if request.method == "POST":
        notice = get_object_or_404(claims.notices_for(request.user), pk=request.POST.get("notice"))
        claims.acknowledge(request.user, notice)
        messages.success(request, "Acknowledged; the creator is told.")
        return redirect("revocations")
    return render(
        request, "rights/revocations.html", {"notices": claims.notices_for(request.user)[:200]}
    )


@role_required(User.Role.BUYER)
def revocation_notice(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = get_object_or_404(claims.notices_for(request.user), pk=notice_id)
    return render(request, "rights/revocations.html", {"notices": [notice]})


@require_POST
@role_required(User.Role.CREATOR)
def asset_attest(request: HttpRequest, asset_id) -> HttpResponse:
    """Attest owning an upload that was sent without the attestation."""
    asset = get_object_or_404(assets_of(request.user), pk=asset_id)
    if request.POST.get("attest") != "1":
        messages.error(request, "Tick the box to make the ownership statements.")
    else:
        accounts.attest_upload(request.user, asset)
        messages.success(request, "Ownership attested: this upload can be offered to buyers.")
    return redirect("asset", asset_id=asset.id)


@require_POST
@role_required(User.Role.CREATOR)
def uploads_attest(request: HttpRequest) -> HttpResponse:
    """Attest every upload My footage counted as awaiting its ownership attestation."""
    try:
        until = parse_datetime(request.POST.get("until", ""))
    except ValueError:
        until = None
    if request.POST.get("attest") != "1":
        messages.error(request, "Tick the box to make the ownership statements.")
    elif until is None:
        messages.error(request, "Open My footage again: the list of uploads was not sent.")
    else:
        # Only the uploads the page counted: one sent since then was not in front of the creator.
        awaiting = accounts.unattested_uploads(request.user).filter(created_at__lte=until)
        done = accounts.attest_uploads(request.user, awaiting)
        messages.success(
            request,
            f"Ownership attested for {len(done)} upload{pluralize(len(done))}: "
            "they can be offered to buyers.",
        )
    return redirect("footage")


@require_POST
@role_required(User.Role.CREATOR)
def asset_withdraw(request: HttpRequest, asset_id) -> HttpResponse:
    asset = get_object_or_404(assets_of(request.user), pk=asset_id)
    claims.withdraw_asset(request.user, asset, request.POST.get("reason", ""))
    messages.success(request, "Withdrawn from future sales; buyers who licensed it are told.")
    return redirect("asset", asset_id=asset.id)


def _named_clip_id(clip_id: str | None, clips=Clip.objects) -> Clip | None:
    """The clip a pasted id names; a sample's file name or path (`…/<clip id>.mp4`) names it
    too."""
    name = (clip_id or "").strip().replace("\\", "/").rsplit("/", 1)[-1].split(".", 1)[0]
    try:
        return clips.filter(pk=uuid.UUID(name)).first() if name else None
    except ValueError:
        return None


def report(request: HttpRequest) -> HttpResponse:
    """Where anyone starts a claim or a removal request: a clip's id (the file name of a
    sample in a delivered dataset) leads to the form for that clip."""
    clip_id = request.GET.get("clip", "").strip()
    clip = _named_clip_id(clip_id)
    if clip is not None:
        return redirect(f"{reverse('claim', args=[clip.asset_id])}?clip={clip.id}")
    error = "No clip has that id; copy it from the file name, e.g. 3f2c….mp4." if clip_id else ""
    return render(request, "rights/report.html", {"error": error})


def public_claim(request: HttpRequest, asset_id) -> HttpResponse:
    """Anyone, without an account: claim rights in an asset, or ask to be removed from it (or
    from the one clip the link names)."""
    asset = get_object_or_404(Asset, pk=asset_id)
    clip = _named_clip_id(request.GET.get("clip") or request.POST.get("clip"), asset.clips)
    done = error = ""
    status = 200
    if request.method == "POST":
        fields = {
            "name": request.POST.get("name", ""),
            "email": request.POST.get("email", ""),
            "ip": request.META.get("REMOTE_ADDR"),
        }
        reason = request.POST.get("reason", "")
        try:
            if request.POST.get("kind") == "removal":
                claims.request_removal(asset.id, reason=reason, clip_id=clip and clip.id, **fields)
                done = (
                    "Your removal request was received: the footage is not offered while a "
                    "reviewer checks it, and you will be told the outcome by e-mail."
                )
            else:
                user = request.user if request.user.is_authenticated else None
                claims.file_claim(asset.id, grounds=reason, user=user, **fields)
                done = "Your claim was received; sales are paused until a reviewer decides."
        except claims.ClaimError as exc:
            error = str(exc)
            status = 429 if isinstance(exc, claims.TooManyRequests) else 200
    return render(
        request,
        "rights/claim.html",
        {"asset_id": asset.id, "clip": clip, "done": done, "error": error},
        status=status,
    )


def release_sign(request: HttpRequest, token: str) -> HttpResponse:
    """The page a person shown opens on their phone: what they consent to, name, date, a drawn
    signature; and later, from the same link, revocation."""
    release = get_object_or_404(Release, token=token)
    error = ""
    if request.method == "POST":
        try:
            if request.POST.get("action") == "revoke":
                release = releases.revoke(token)
            else:
                release = releases.sign(
                    token,
                    name=request.POST.get("name", ""),
                    signed_on=date.fromisoformat(request.POST.get("date") or "1900-01-01"),
                    signature_png=request.POST.get("signature", ""),
                )
        except (releases.ReleaseError, ValueError) as exc:
            error = str(exc)
    return render(
        request,
        "rights/release_sign.html",
        {
            "release": release,
            "consent": releases.consent_text(release.kind),
            "today": date.today().isoformat(),
            "error": error,
        },
    )


def _pdf(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def release_sign_pdf(request: HttpRequest, token: str) -> HttpResponse:
    """The signer downloads their sealed release from the same link they signed through."""
    release = get_object_or_404(Release, token=token)
    try:
        data = releases.release_pdf(release)
    except releases.ReleaseError as exc:
        return render(request, "error.html", {"message": str(exc)}, status=404)
    return _pdf(data, f"{releases.release_number(release)}.pdf")


@role_required(User.Role.CREATOR)
def release_pdf(request: HttpRequest, release_id: int) -> HttpResponse:
    """The creator downloads a sealed release of their asset."""
    release = get_object_or_404(releases.releases_of(request.user), pk=release_id)
    return _pdf(releases.release_pdf(release), f"{releases.release_number(release)}.pdf")


def _pem_field(request: HttpRequest, name: str) -> str:
    """A PEM pasted into a text area or uploaded as a file."""
    upload = request.FILES.get(f"{name}_file")
    if upload is not None:
        return upload.read(64 * 1024).decode("utf-8", errors="replace")
    return request.POST.get(name, "")


@role_required(User.Role.BUYER)
def license_signing(request: HttpRequest, license_id) -> HttpResponse:
    """Co-sign a license with the buyer's own key: get a certificate from Outtake's CA for a
    CSR (or register the lab's own), then upload the sealed PDF signed with that key."""
    contract = get_object_or_404(contracts.contracts_for(request.user), license_id=license_id)
    issued = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "csr":
            issued = contracts.certify_request(request.user, _pem_field(request, "csr_pem"))
            messages.success(request, "Outtake's CA issued your certificate; download it below.")
        elif action == "certificate":
            contracts.register_certificate(
                request.user,
                _pem_field(request, "certificate_pem"),
                _pem_field(request, "chain_pem"),
            )
            messages.success(request, "Your certificate is registered for your organisation.")
        elif action == "cosigned":
            upload = request.FILES.get("pdf")
            if upload is None:
                raise contracts.ContractError("choose the co-signed PDF to upload")
            contracts.submit_cosigned(request.user, contract, upload.read())
            messages.success(request, "Co-signed: the license now carries your signature too.")
            return redirect("license-signing", license_id=license_id)
    return render(
        request,
        "rights/license_signing.html",
        {
            "contract": contract,
            "issued": issued,
            "certificates": contracts.certificates_of(request.user),
        },
    )


@role_required(User.Role.BUYER)
def certificate_pem(request: HttpRequest, certificate_id: int) -> HttpResponse:
    """A registered certificate and its chain, e.g. to sign with the key it certifies."""
    cert = get_object_or_404(contracts.certificates_of(request.user), pk=certificate_id)
    response = HttpResponse(
        cert.certificate_pem + cert.chain_pem, content_type="application/x-pem-file"
    )
    response["Content-Disposition"] = f'attachment; filename="certificate-{cert.id}.pem"'
    return response


@role_required(User.Role.CREATOR)
def release_list(request: HttpRequest) -> HttpResponse:
    """The creator's releases, and a new one: a signing link to send, or an uploaded document."""
    assets = assets_of(request.user).order_by("-created_at")[:500]
    form = ReleaseForm(request.POST or None, request.FILES or None, assets=assets)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        asset = get_object_or_404(assets_of(request.user), pk=data["asset"])
        fields = {
            "person": data["person"],
            "kind": data["kind"],
            "minor": data["minor"],
            "guardian_name": data["guardian_name"],
        }
        try:
            if data["document"] is not None:
                document = data["document"].read(releases.MAX_UPLOAD + 1)
                releases.upload_release(request.user, asset, document, **fields)
                messages.success(request, "Release on record.")
            else:
                releases.request_release(request.user, asset, **fields)
                messages.success(request, "Send the new signing link to the person (or owner).")
        except releases.ReleaseError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("releases")
    return render(
        request,
        "rights/releases.html",
        {
            "form": form,
            "releases": releases.releases_of(request.user).order_by("-created_at")[:500],
            "public_url": settings.OUTTAKE_PUBLIC_URL,
        },
    )
