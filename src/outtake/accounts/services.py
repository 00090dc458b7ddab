"""Accounts: sign-up, login rate limiting, API tokens."""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from outtake.accounts.models import ApiToken, Attestation, LoginFailure, Organization, User
from outtake.audit.services import record
from outtake.core.terms import OWNERSHIP_ATTESTATIONS

TOKEN_PREFIX = "ot_"
ROLE_ORG_KIND = {
    User.Role.CREATOR: Organization.Kind.CREATOR,
    User.Role.BUYER: Organization.Kind.BUYER,
    User.Role.REVIEWER: Organization.Kind.PLATFORM,
}
DEFAULT_SCOPES = {
    User.Role.CREATOR: ["read", "upload"],
    User.Role.BUYER: ["read", "buy", "download"],
    User.Role.REVIEWER: ["read", "upload", "buy", "download", "finance"],
}


class AccountError(ValueError):
    pass


@transaction.atomic
def create_user(
    email: str,
    password: str,
    role: str,
    *,
    org_name: str = "",
    organization: Organization | None = None,
) -> User:
    """Create a user in their own one-person organization (or a given one)."""
    email = (email or "").strip().lower()
    if role not in User.Role.values:
        raise AccountError(f"role must be one of {', '.join(User.Role.values)}")
    if not email or "@" not in email:
        raise AccountError("a valid e-mail address is needed")
    if User.objects.filter(email=email).exists():
        raise AccountError("an account with this e-mail already exists")
    try:
        validate_password(password)
    except ValidationError as exc:
        raise AccountError(" ".join(exc.messages)) from exc
    if organization is None:
        organization = Organization.objects.create(
            name=org_name.strip() or email.split("@")[0], kind=ROLE_ORG_KIND[role]
        )
    user = User.objects.create_user(
        email,
        password,
        role=role,
        organization=organization,
        is_staff=role == User.Role.REVIEWER,
    )
    if role == User.Role.REVIEWER:
        from django.contrib.auth.models import Permission

        user.user_permissions.set(Permission.objects.all())
    record("account.created", actor=user, org=organization, subject=user, data={"role": role})
    return user


def login_blocked(email: str, ip: str | None) -> bool:
    since = timezone.now() - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_S)
    recent = LoginFailure.objects.filter(at__gte=since)
    limit = settings.LOGIN_FAILURE_LIMIT
    by_email = recent.filter(email=email.strip().lower()).count()
    by_ip = recent.filter(ip=ip).count() if ip else 0
    # An address may try a few accounts, but not guess at scale.
    return by_email >= limit or by_ip >= limit * 4


def login(request, email: str, password: str) -> User:
    """Authenticate with rate limiting; raises AccountError with the reason shown to people."""
    ip = request.META.get("REMOTE_ADDR")
    email = (email or "").strip().lower()
    if login_blocked(email, ip):
        raise AccountError("too many failed attempts; wait a few minutes and try again")
    user = authenticate(request, username=email, password=password)
    if user is None:
        LoginFailure.objects.create(email=email, ip=ip or None)
        raise AccountError("e-mail or password is wrong")
    LoginFailure.objects.filter(email=email).delete()
    return user


def _digest(raw: str) -> str:
    # Tokens are 256-bit random, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class NewToken:
    token: ApiToken
    raw: str


def create_token(
    user: User, name: str, scopes: list[str] | None = None, *, lifetime: timedelta | None = None
) -> NewToken:
    scopes = list(scopes if scopes is not None else DEFAULT_SCOPES[user.role])
    unknown = set(scopes) - set(ApiToken.SCOPES)
    if unknown or not scopes:
        raise AccountError(f"scopes must be among {', '.join(ApiToken.SCOPES)}")
    if len(name.strip()) > ApiToken._meta.get_field("name").max_length:
        raise AccountError("a token name has at most 100 characters")
    allowed = set(DEFAULT_SCOPES[user.role])
    if not set(scopes) <= allowed:
        raise AccountError(f"a {user.role} may hold only {', '.join(sorted(allowed))}")
    prefix = secrets.token_hex(4)
    raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name.strip() or "token",
        prefix=prefix,
        digest=_digest(raw),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + lifetime if lifetime else None,
    )
    record(
        "token.created",
        actor=user,
        org=user.organization,
        subject=token,
        data={"name": token.name, "scopes": token.scopes},
    )
    return NewToken(token, raw)


def revoke_token(user: User, token_id: int) -> None:
    token = ApiToken.objects.get(pk=token_id, user=user)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record("token.revoked", actor=user, org=user.organization, subject=token)


def user_for_token(raw: str, scope: str | None = None) -> User | None:
    """The active user holding this token (and scope), or None."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if scope is not None and scope not in token.scopes:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def _statements(statements: list[str] | None) -> list[str]:
    """The ownership statement codes attested: every one of them, and nothing else."""
    chosen = set(OWNERSHIP_ATTESTATIONS if statements is None else statements)
    unknown = chosen - set(OWNERSHIP_ATTESTATIONS)
    if unknown:
        named = ", ".join(repr(code[:40]) for code in sorted(unknown)[:5])
        raise AccountError(
            f"unknown ownership statement {named}; the statements are "
            f"{', '.join(OWNERSHIP_ATTESTATIONS)}"
        )
    missing = set(OWNERSHIP_ATTESTATIONS) - chosen
    if missing:
        # Footage is only sold under every warranty; a partial attestation is a refusal.
        raise AccountError(f"every ownership statement is needed: {', '.join(sorted(missing))}")
    return sorted(chosen)


def agreement_version() -> str:
    """The creator agreement's own template version: only a new agreement asks creators again."""
    from outtake.provenance import contract

    return contract.AGREEMENT_TEMPLATE


def current_agreements():
    """Acceptances of the current creator agreement template, by any organisation."""
    return Attestation.objects.filter(
        scope=Attestation.Scope.AGREEMENT, agreement_version=agreement_version()
    )


def accepted_current_agreement(organization_id) -> bool:
    """Whether someone of this organisation accepted the current creator agreement template."""
    return current_agreements().filter(organization_id=organization_id).exists()


def needs_agreement(user: User) -> bool:
    """A creator who has not accepted the current creator agreement template."""
    return user.is_creator and not accepted_current_agreement(user.organization_id)


def agreements_of(user: User):
    return Attestation.objects.filter(
        organization=user.organization, scope=Attestation.Scope.AGREEMENT
    )


def _agreement_document(agreement_id: str, name: str, pseudonym: str, terms: dict, chosen):
    from outtake.ledger.payouts import payout_minimums
    from outtake.provenance.contract import CreatorAgreement

    return CreatorAgreement(
        agreement_id=agreement_id,
        date=timezone.localdate(),
        creator_name=name,
        pseudonym=pseudonym,
        default_terms=terms,
        creator_share=settings.RATE_CARD.creator_share,
        payout_minimums=tuple(payout_minimums()),
        attestations=tuple(OWNERSHIP_ATTESTATIONS[c] for c in chosen),
    )


def _agreement(user: User, chosen: list[str]):
    """The creator agreement as this creator would accept it now, with their default terms."""
    from outtake.rights.services import current_version

    if not user.is_creator:
        raise PermissionError("only creators accept the creator agreement")
    org = user.organization
    terms = current_version(org)
    count = Attestation.objects.filter(organization=org, scope=Attestation.Scope.AGREEMENT).count()
    doc = _agreement_document(
        f"{org.pseudonym}-{count + 1}",
        org.name,
        org.pseudonym,
        terms.terms if terms else {},
        chosen,
    )
    return doc, terms


@functools.lru_cache(maxsize=2)
def _blank_agreement_pdf(
    version: str, day: str, minimums: str
) -> bytes:  # the arguments key the cache
    from outtake.provenance.documents import render_agreement_pdf

    doc = _agreement_document(
        "(numbered at acceptance)",
        "(your name, as you sign up)",
        "(given at sign-up)",
        {},
        _statements(None),
    )
    return render_agreement_pdf(doc)


def blank_agreement_pdf() -> bytes:
    """The current creator agreement for anyone to read before signing up: Outtake's default
    terms, every ownership statement, the creator not yet named. Rendered once a day."""
    minimums = json.dumps(settings.OUTTAKE_PAYOUT_MINIMUMS, sort_keys=True)
    return _blank_agreement_pdf(agreement_version(), timezone.localdate().isoformat(), minimums)


def current_agreement_pdf(user: User) -> bytes:
    """The current agreement to read before accepting it (not stored, nothing recorded)."""
    from outtake.provenance.documents import render_agreement_pdf

    doc, _ = _agreement(user, _statements(None))
    return render_agreement_pdf(doc)


@transaction.atomic
def accept_creator_agreement(user: User, statements: list[str] | None = None) -> Attestation:
    """Record a creator's acceptance of the creator agreement (as it reads now, with their
    default terms) and their ownership attestation: the agreement's data and the SHA-256 of
    that data. The PDF is rendered from that data and sealed once the acceptance commits."""
    from outtake.accounts.tasks import seal_creator_agreement  # tasks import this module
    from outtake.provenance.contract import data_fingerprint, document_data

    chosen = _statements(statements)
    doc, terms = _agreement(user, chosen)
    org = user.organization
    data = document_data(doc)
    attestation = Attestation.objects.create(
        organization=org,
        user=user,
        scope=Attestation.Scope.AGREEMENT,
        statements=chosen,
        agreement_version=doc.template_version,
        document=data,
        data_sha256=data_fingerprint(data),
        document_key=f"contracts/agreements/{org.id}/{doc.agreement_id}.pdf",
    )
    record(
        "account.ownership_attested",
        actor=user,
        org=org,
        subject=attestation,
        data={
            "agreement": doc.agreement_id,
            "account": user.email,
            "template": f"creator_agreement_{doc.template_version}",
            "data_sha256": attestation.data_sha256,
            "statements": chosen,
            "terms_version": terms.version if terms else 0,
        },
    )
    transaction.on_commit(lambda: seal_creator_agreement(attestation.pk))
    return attestation


def seal_agreement(attestation_id: int) -> bytes:
    """Render an accepted agreement from its data, seal it with Outtake's platform seal (the
    reason names the accepted data's SHA-256) and store it at its key: once, then the stored
    bytes every time.

    Rendering and sealing take seconds, so they run outside any transaction (on SQLite a write
    transaction locks the whole database); only storing takes the row's lock. Two sealers at
    once both render, and the first to store wins."""
    from outtake.provenance.contract import CreatorAgreement
    from outtake.provenance.documents import render_agreement_pdf
    from outtake.provenance.pdfseal import seal_pdf
    from outtake.storage import get_store

    attestation = Attestation.objects.get(pk=attestation_id)
    try:
        return get_store().get_bytes(attestation.document_key)
    except FileNotFoundError:
        if attestation.document is None:  # sealed at acceptance, before the data was kept
            raise
    doc = CreatorAgreement.from_data(attestation.document)
    pdf = render_agreement_pdf(doc)
    digest = hashlib.sha256(pdf).hexdigest()
    sealed = seal_pdf(
        pdf,
        settings.OUTTAKE_PKI_DIR,
        reason=f"Creator agreement {doc.agreement_id} accepted; "
        f"data SHA-256 {attestation.data_sha256}; document SHA-256 {digest}",
    )
    return _store_agreement(attestation_id, doc.agreement_id, digest, sealed)


@transaction.atomic
def _store_agreement(attestation_id: int, agreement_id: str, digest: str, sealed: bytes) -> bytes:
    from outtake.storage import get_store

    attestation = Attestation.objects.select_for_update().get(pk=attestation_id)
    store = get_store()
    try:
        return store.get_bytes(attestation.document_key)
    except FileNotFoundError:
        pass
    store.put_bytes(attestation.document_key, sealed)
    record(
        "account.agreement_sealed",
        org=attestation.organization,
        subject=attestation,
        data={
            "agreement": agreement_id,
            "data_sha256": attestation.data_sha256,
            "document_sha256": digest,
            "sealed_sha256": hashlib.sha256(sealed).hexdigest(),
        },
    )
    return sealed


def agreement_pdf(attestation: Attestation) -> bytes:
    """The sealed PDF of an accepted agreement (sealed now if the background job has not run
    yet)."""
    from outtake.storage import get_store

    try:
        return get_store().get_bytes(attestation.document_key)
    except FileNotFoundError:
        return seal_agreement(attestation.pk)


@transaction.atomic
def attest_upload(user: User, asset, statements: list[str] | None = None) -> Attestation:
    """The per-upload ownership attestation (upload metadata attest=1, or the API)."""
    if asset.owner_id != user.organization_id:
        raise PermissionError("not your asset")
    chosen = _statements(statements)
    attestation = Attestation.objects.create(
        organization=user.organization,
        user=user,
        scope=Attestation.Scope.UPLOAD,
        asset=asset,
        statements=chosen,
    )
    record(
        "asset.attested",
        actor=user,
        org=user.organization,
        subject=asset,
        data={"statements": chosen},
    )
    return attestation


def unattested_uploads(user: User):
    """This creator's uploads with no ownership attestation yet (rejected ones aside): those
    made before each upload needed its own, or sent without `attest=1`. Oldest first."""
    from outtake.catalog.models import Asset

    attested = Attestation.objects.filter(scope=Attestation.Scope.UPLOAD, asset=OuterRef("pk"))
    return (
        Asset.objects.filter(owner=user.organization)
        .exclude(status=Asset.Status.REJECTED)
        .exclude(Exists(attested))
        .order_by("created_at", "id")
    )


def unattested_among(user: User, asset_ids) -> tuple:
    """Of these uploads, those awaiting an ownership attestation and the ids of the others
    (attested before, or rejected). Ids that are not this creator's uploads are refused."""
    from outtake.catalog.models import Asset

    wanted = set(asset_ids)
    mine = Asset.objects.filter(owner=user.organization, pk__in=wanted)
    strangers = wanted - set(mine.values_list("pk", flat=True))
    if strangers:
        raise AccountError(f"not your uploads: {', '.join(sorted(map(str, strangers)))}")
    awaiting = unattested_uploads(user).filter(pk__in=wanted)
    return awaiting, sorted(wanted - set(awaiting.values_list("pk", flat=True)), key=str)


@transaction.atomic
def attest_uploads(user: User, assets, statements: list[str] | None = None) -> list[Attestation]:
    """Attest many uploads at once with one reading of the statements: attest_upload for each,
    so each has its own attestation and audit event. All of them or, on any refusal, none."""
    chosen = _statements(statements)
    return [attest_upload(user, asset, chosen) for asset in assets]


def upload_attestation(asset) -> Attestation | None:
    """The latest ownership attestation made for this upload, if any."""
    return Attestation.objects.filter(scope=Attestation.Scope.UPLOAD, asset=asset).first()


def warranties_of(assets) -> tuple[str, ...]:
    """The ownership statements attested for every one of these assets, both by its creator
    with the agreement and for the upload itself: the warranties a license may state on their
    behalf."""
    assets = {a.pk: a for a in assets}
    latest: dict = {}  # (scope, organisation or asset) -> the statements of its latest
    scopes = Q(scope=Attestation.Scope.UPLOAD, asset_id__in=list(assets)) | Q(
        scope=Attestation.Scope.AGREEMENT,
        organization_id__in={a.owner_id for a in assets.values()},
    )
    for attestation in Attestation.objects.filter(scopes).order_by("at", "id"):
        upload = attestation.scope == Attestation.Scope.UPLOAD
        whose = attestation.asset_id if upload else attestation.organization_id
        latest[attestation.scope, whose] = set(attestation.statements)
    common: set[str] | None = None
    for asset in assets.values():
        agreed = latest.get((Attestation.Scope.AGREEMENT, asset.owner_id), set())
        attested = agreed & latest.get((Attestation.Scope.UPLOAD, asset.pk), set())
        common = attested if common is None else common & attested
    return tuple(OWNERSHIP_ATTESTATIONS[c] for c in OWNERSHIP_ATTESTATIONS if c in (common or ()))
