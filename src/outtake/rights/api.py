import json
from datetime import datetime
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from outtake.accounts import services as accounts
from outtake.accounts.auth import scoped
from outtake.catalog.services import assets_of
from outtake.core.terms import OWNERSHIP_ATTESTATIONS, TermsError, default_terms
from outtake.rights import approvals, claims, contracts, releases, services

router = Router(tags=["rights"])


class TermsIn(Schema):
    uses: dict[str, dict] = {}
    protections: dict[str, bool] = {}
    exclusive_allowed: bool = True
    refused_buyers: list[str] = []
    refused_categories: list[str] = []
    approval_required: bool = False
    min_price_per_minute: str | None = None
    territory: list[str] = []
    term_years: int | None = None
    training_stop_notice_days: int | None = None
    precise_location: bool = False  # deliver GPS finer than about 1 km
    original_c2pa_manifest: bool = False  # deliver originals' own C2PA manifests (redacted)


class TermsOut(Schema):
    version: int
    scope: str
    terms: dict
    created_at: datetime | None


def _out(version, scope: str) -> TermsOut:
    if version is None:
        return TermsOut(version=0, scope=scope, terms=default_terms(), created_at=None)
    return TermsOut(
        version=version.version, scope=scope, terms=version.terms, created_at=version.created_at
    )


def _creator(request):
    if not request.auth.is_creator:
        raise PermissionError("only creators set terms")
    return request.auth


@router.get("/terms", response=TermsOut, auth=scoped("read"))
def get_default_terms(request):
    return _out(services.current_version(_creator(request).organization), "default")


@router.put("/terms", response=TermsOut, auth=scoped("upload"))
def put_default_terms(request, payload: TermsIn):
    return _out(services.set_terms(_creator(request), payload.dict()), "default")


@router.get("/assets/{uuid:asset_id}/terms", response=TermsOut, auth=scoped("read"))
def get_asset_terms(request, asset_id: UUID):
    asset = get_object_or_404(assets_of(_creator(request)), pk=asset_id)
    _, version = services.resolved_terms(asset)
    scope = "asset" if version and version.asset_id else "default"
    return _out(version, scope)


@router.put("/assets/{uuid:asset_id}/terms", response=TermsOut, auth=scoped("upload"))
def put_asset_terms(request, asset_id: UUID, payload: TermsIn):
    asset = get_object_or_404(assets_of(_creator(request)), pk=asset_id)
    return _out(services.set_terms(request.auth, payload.dict(), asset=asset), "asset")


def _contract(request, license_id: UUID):
    return get_object_or_404(contracts.contracts_for(request.auth), license_id=license_id)


@router.get("/licenses/{uuid:license_id}/contract", auth=scoped("read"))
def get_contract(request, license_id: UUID):
    """The license PDF: Outtake's seal, plus the buyer's signature once they co-signed. A
    creator gets the creators' copy when the buyer asked to be shown to them as "an AI lab"."""
    pdf = contracts.contract_pdf_for(request.auth, _contract(request, license_id))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="license-{license_id}.pdf"'
    return response


@router.get("/licenses/{uuid:license_id}/odrl", auth=scoped("read"))
def get_odrl(request, license_id: UUID):
    """The license as an ODRL 2.2 Agreement (JSON-LD), from the data the PDF was made from."""
    policy = contracts.odrl_policy_for(request.auth, _contract(request, license_id))
    return HttpResponse(json.dumps(policy, indent=2), content_type="application/ld+json")


class ContractOut(Schema):
    license_id: UUID
    template_version: str
    data_sha256: str  # "" for a reader the licensee's name is withheld from (it names it)
    document_sha256: str  # the same
    copy_sha256: str  # of the creators' copy such a reader downloads, once made; else ""
    sealed_sha256: str
    accepted_by: str
    accepted_at: datetime
    accepted_via: str
    cosigned_sha256: str
    cosigned_at: datetime | None

    @staticmethod
    def of(c, viewer) -> "ContractOut":
        # The account that accepted is the licensee's business; creators see the licensee as
        # it chose to be shown to them.
        licensee = contracts.reads_as_licensee(viewer, c.license)
        return ContractOut(
            license_id=c.license_id,
            template_version=c.template_version,
            **contracts.hashes_for(viewer, c),
            sealed_sha256=c.sealed_sha256,
            accepted_by=c.accepted_by.email if licensee else c.license.buyer.name_for_creators,
            accepted_at=c.accepted_at,
            accepted_via=c.accepted_via,
            cosigned_sha256=c.cosigned_sha256,
            cosigned_at=c.cosigned_at,
        )


@router.get(
    "/licenses/{uuid:license_id}/contract/record", response=ContractOut, auth=scoped("read")
)
def get_contract_record(request, license_id: UUID):
    """Who accepted, when, from which account, and the hashes of what they accepted."""
    return ContractOut.of(_contract(request, license_id), request.auth)


@router.post(
    "/licenses/{uuid:license_id}/contract/cosigned", response=ContractOut, auth=scoped("buy")
)
def post_cosigned(request, license_id: UUID, pdf: UploadedFile = File(...)):
    """Upload the sealed PDF co-signed (incrementally) with a registered certificate."""
    contract = _contract(request, license_id)
    return ContractOut.of(
        contracts.submit_cosigned(request.auth, contract, pdf.read()), request.auth
    )


class CertificateIn(Schema):
    certificate_pem: str
    chain_pem: str = ""


class CsrIn(Schema):
    csr_pem: str


class CertificateOut(Schema):
    id: int
    subject: str
    fingerprint: str
    issued_by_outtake: bool
    certificate_pem: str
    chain_pem: str


@router.post("/certificates", response={201: CertificateOut}, auth=scoped("buy"))
def post_certificate(request, payload: CertificateIn):
    """Register the buyer's own signing certificate (and the chain to its root)."""
    cert = contracts.register_certificate(request.auth, payload.certificate_pem, payload.chain_pem)
    return Status(201, CertificateOut.from_orm(cert))


@router.post("/certificates/csr", response={201: CertificateOut}, auth=scoped("buy"))
def post_csr(request, payload: CsrIn):
    """Have Outtake's CA certify your key (purpose "buyer"); the private key stays with you."""
    return Status(
        201, CertificateOut.from_orm(contracts.certify_request(request.auth, payload.csr_pem))
    )


class AttestIn(Schema):
    statements: list[str] | None = None  # codes; default: all of them


class AttestationOut(Schema):
    id: int
    scope: str
    asset_id: UUID | None
    statements: list[str]
    agreement_version: str
    data_sha256: str  # of the agreement's data as accepted, which its sealed PDF is made from
    document_sha256: str  # only acceptances sealed at acceptance, before the data was kept
    at: datetime


class AgreementOut(Schema):
    current_version: str
    needs_acceptance: bool
    acceptances: list[AttestationOut]


@router.get("/agreement", response=AgreementOut, auth=scoped("read"))
def get_agreement(request):
    """Whether the creator has accepted the current creator agreement, and when they did."""
    user = _creator(request)
    return AgreementOut(
        current_version=accounts.agreement_version(),
        needs_acceptance=accounts.needs_agreement(user),
        acceptances=[AttestationOut.from_orm(a) for a in accounts.agreements_of(user)],
    )


@router.get("/agreement/document", auth=scoped("read"))
def get_agreement_document(request):
    """The current creator agreement (PDF) with your details and default terms, to read first."""
    pdf = accounts.current_agreement_pdf(_creator(request))
    return HttpResponse(pdf, content_type="application/pdf")


@router.post("/agreement", response={201: AttestationOut}, auth=scoped("upload"))
def post_agreement(request, payload: AttestIn):
    """Accept the current creator agreement, attesting ownership of what you upload."""
    user = _creator(request)
    return Status(
        201, AttestationOut.from_orm(accounts.accept_creator_agreement(user, payload.statements))
    )


@router.post(
    "/assets/{uuid:asset_id}/attestation", response={201: AttestationOut}, auth=scoped("upload")
)
def post_asset_attestation(request, asset_id: UUID, payload: AttestIn):
    """Attest ownership of one upload (the same as upload metadata `attest=1`)."""
    asset = get_object_or_404(assets_of(_creator(request)), pk=asset_id)
    return Status(
        201,
        AttestationOut.from_orm(accounts.attest_upload(request.auth, asset, payload.statements)),
    )


class AwaitingAttestationOut(Schema):
    statements: dict[str, str]  # code -> the statement, as the upload pages show it
    assets: list[UUID]  # your uploads not yet attested, oldest first


class BulkAttestIn(Schema):
    assets: list[UUID] | Literal["all"]  # these uploads, or every one not yet attested
    statements: list[str] | None = None  # codes; default: all of them


class BulkAttestationOut(Schema):
    attested: list[AttestationOut]
    skipped: list[UUID]  # named in `assets` but attested before, or rejected: left as they were


@router.get("/assets/attestations", response=AwaitingAttestationOut, auth=scoped("read"))
def get_awaiting_attestations(request):
    """The ownership statements, and your uploads awaiting them: read these first."""
    awaiting = accounts.unattested_uploads(_creator(request)).values_list("id", flat=True)
    return AwaitingAttestationOut(statements=OWNERSHIP_ATTESTATIONS, assets=list(awaiting))


@router.post("/assets/attestations", response={201: BulkAttestationOut}, auth=scoped("upload"))
def post_asset_attestations(request, payload: BulkAttestIn):
    """Attest ownership of many uploads at once: each gets its own attestation, as with
    /assets/{id}/attestation. An id that is not your upload refuses the whole request."""
    if payload.assets == "all":
        awaiting, skipped = accounts.unattested_uploads(_creator(request)), []
    else:
        awaiting, skipped = accounts.unattested_among(_creator(request), payload.assets)
    done = accounts.attest_uploads(request.auth, awaiting, payload.statements)
    return Status(
        201,
        BulkAttestationOut(attested=[AttestationOut.from_orm(a) for a in done], skipped=skipped),
    )


class ApprovalOut(Schema):
    id: int
    quote_id: UUID
    buyer: str
    status: str
    requested_at: datetime
    decided_at: datetime | None


@router.get("/approvals", response=list[ApprovalOut], auth=scoped("read"))
def list_approvals(request):
    """Deals waiting for (or decided by) this creator in allow-list mode."""
    return [
        ApprovalOut(
            id=a.id,
            quote_id=a.quote_id,
            buyer=a.quote.buyer.name_for_creators,
            status=a.status,
            requested_at=a.requested_at,
            decided_at=a.decided_at,
        )
        for a in approvals.approvals_for(_creator(request))
    ]


@router.post("/approvals/{int:approval_id}/{decision}", response=ApprovalOut, auth=scoped("upload"))
def decide_approval(request, approval_id: int, decision: str):
    """decision: "approve" or "refuse"."""
    if decision not in ("approve", "refuse"):
        raise TermsError("decision must be approve or refuse")
    approval = get_object_or_404(approvals.approvals_for(_creator(request)), pk=approval_id)
    a = approvals.decide(request.auth, approval, approve=decision == "approve")
    return ApprovalOut(
        id=a.id,
        quote_id=a.quote_id,
        buyer=a.quote.buyer.name_for_creators,
        status=a.status,
        requested_at=a.requested_at,
        decided_at=a.decided_at,
    )


class ClaimIn(Schema):
    name: str
    email: str
    grounds: str


class RemovalIn(Schema):
    email: str
    reason: str  # where you appear (e.g. the time in the clip) and why you ask
    clip_id: UUID | None = None  # None: every clip of the asset
    name: str = ""


class Received(Schema):
    id: int
    detail: str


@router.post("/assets/{uuid:asset_id}/claims", response={201: Received}, auth=None)
def post_claim(request, asset_id: UUID, payload: ClaimIn):
    """A third party (no account needed) claims rights in an asset; its sales pause."""
    user = request.user if request.user.is_authenticated else None
    claim = claims.file_claim(
        asset_id,
        name=payload.name,
        email=payload.email,
        grounds=payload.grounds,
        user=user,
        ip=request.META.get("REMOTE_ADDR"),
    )
    return Status(201, Received(id=claim.id, detail="received; sales are paused"))


@router.post("/assets/{uuid:asset_id}/removal-requests", response={201: Received}, auth=None)
def post_removal(request, asset_id: UUID, payload: RemovalIn):
    """A person shown asks to be removed (data protection; no account needed): the clip (or,
    without clip_id, the asset) is not offered while a reviewer checks the request; upheld,
    its licensees are told to remove it. 429 after a few requests a day."""
    removal = claims.request_removal(
        asset_id,
        email=payload.email,
        reason=payload.reason,
        clip_id=payload.clip_id,
        name=payload.name,
        ip=request.META.get("REMOTE_ADDR"),
    )
    return Status(
        201, Received(id=removal.id, detail="received; sales are paused while a reviewer checks")
    )


class WithdrawIn(Schema):
    reason: str = ""


@router.post("/assets/{uuid:asset_id}/withdraw", response={201: Received}, auth=scoped("upload"))
def post_withdraw(request, asset_id: UUID, payload: WithdrawIn):
    """Withdraw an asset from future sales; licensed buyers are notified."""
    asset = get_object_or_404(assets_of(_creator(request)), pk=asset_id)
    revocation = claims.withdraw_asset(request.auth, asset, payload.reason)
    return Status(201, Received(id=revocation.id, detail="withdrawn"))


class NoticeOut(Schema):
    id: int
    license_id: UUID
    kind: str
    asset_id: UUID
    clip_ids: list[str]
    training_stop_notice_days: int | None
    sent_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None


def _notice_out(n, viewer) -> NoticeOut:
    """Creators see the licensee as it chose to be shown to them, not who acknowledged."""
    by = None
    if n.acknowledged_by is not None:
        licensee = contracts.reads_as_licensee(viewer, n.license)
        by = n.acknowledged_by.email if licensee else n.license.buyer.name_for_creators
    return NoticeOut(
        id=n.id,
        license_id=n.license_id,
        kind=n.revocation.kind,
        asset_id=n.revocation.asset_id,
        clip_ids=n.clip_ids,
        training_stop_notice_days=n.training_stop_notice_days,
        sent_at=n.sent_at,
        acknowledged_by=by,
        acknowledged_at=n.acknowledged_at,
    )


@router.get("/revocation-notices", response=list[NoticeOut], auth=scoped("read"))
def list_notices(request):
    """Buyers: notices to acknowledge. Creators: who acknowledged their revocations."""
    return [_notice_out(n, request.auth) for n in claims.notices_for(request.auth)]


@router.post(
    "/revocation-notices/{int:notice_id}/acknowledge", response=NoticeOut, auth=scoped("read")
)
def acknowledge_notice(request, notice_id: int):
    notice = get_object_or_404(claims.notices_for(request.auth), pk=notice_id)
    return _notice_out(claims.acknowledge(request.auth, notice), request.auth)


class ReleaseIn(Schema):
    person: str  # who is shown; for a property release, the property and its owner
    kind: str = "model"  # or "property": a private place or an artwork the creator marked
    clip_id: UUID | None = None
    minor: bool = False
    guardian_name: str = ""


class ReleaseOut(Schema):
    id: int
    kind: str
    asset_id: UUID
    clip_id: UUID | None
    person: str
    method: str
    minor: bool
    signed_at: datetime | None
    revoked_at: datetime | None
    link: str  # send it to the person: they sign, and may later revoke, there


def _release_out(r) -> ReleaseOut:
    return ReleaseOut(
        id=r.id,
        kind=r.kind,
        asset_id=r.asset_id,
        clip_id=r.clip_id,
        person=r.person,
        method=r.method,
        minor=r.minor,
        signed_at=r.signed_at,
        revoked_at=r.revoked_at,
        link=f"{settings.OUTTAKE_PUBLIC_URL}/release/{r.token}/",
    )


def _clip(asset, clip_id):
    return get_object_or_404(asset.clips, pk=clip_id) if clip_id else None


@router.get("/releases", response=list[ReleaseOut], auth=scoped("read"))
def list_releases(request):
    return [_release_out(r) for r in releases.releases_of(_creator(request))]


@router.get("/releases/{int:release_id}/pdf", auth=scoped("read"))
def get_release_pdf(request, release_id: int):
    """A release signed by link, as a PDF sealed with Outtake's platform seal."""
    release = get_object_or_404(releases.releases_of(_creator(request)), pk=release_id)
    response = HttpResponse(releases.release_pdf(release), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="{releases.release_number(release)}.pdf"'
    )
    return response


@router.post("/assets/{uuid:asset_id}/releases", response={201: ReleaseOut}, auth=scoped("upload"))
def post_release_request(request, asset_id: UUID, payload: ReleaseIn):
    """A signing link for a person shown (their consent is recorded when they sign)."""
    asset = get_object_or_404(assets_of(_creator(request)), pk=asset_id)
    release = releases.request_release(
        request.auth,
        asset,
        person=payload.person,
        clip=_clip(asset, payload.clip_id),
        minor=payload.minor,
        guardian_name=payload.guardian_name,
        kind=payload.kind,
    )
    return Status(201, _release_out(release))


@router.post(
    "/assets/{uuid:asset_id}/releases/upload", response={201: ReleaseOut}, auth=scoped("upload")
)
def post_release_upload(
    request,
    asset_id: UUID,
    person: Form[str],
    document: UploadedFile = File(...),
    clip_id: Form[UUID | None] = None,
    minor: Form[bool] = False,
    guardian_name: Form[str] = "",
    kind: Form[str] = "model",
):
    """A release signed elsewhere (PDF or image): kind "model" or "property"."""
    asset = get_object_or_404(assets_of(_creator(request)), pk=asset_id)
    release = releases.upload_release(
        request.auth,
        asset,
        document.read(releases.MAX_UPLOAD + 1),
        person=person,
        clip=_clip(asset, clip_id),
        minor=minor,
        guardian_name=guardian_name,
        kind=kind,
    )
    return Status(201, _release_out(release))
