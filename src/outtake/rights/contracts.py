"""Dataset license contracts: built from a License at acceptance, rendered, sealed and stored;
the ODRL policy from the same data; buyers' certificates and their co-signatures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import tempfile
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from outtake.accounts.services import warranties_of
from outtake.audit.services import record
from outtake.market.models import License
from outtake.provenance.ca import ensure_intermediate, fingerprint, issue_from_csr
from outtake.provenance.contract import (
    ClipLine,
    LicenseDocument,
    data_fingerprint,
    document_data,
)
from outtake.provenance.documents import render_creators_copy_pdf, render_license_pdf
from outtake.provenance.odrl import build_policy
from outtake.provenance.pdfseal import (
    DOCUMENT_SIGNING,
    SEAL_FIELD,
    out_of_date_reason,
    seal_pdf,
)
from outtake.provenance.verify_contract import verify_contract
from outtake.rights.models import BuyerCertificate, LicenseContract
from outtake.storage import get_store

SIGNING_ROLES = ("admin", "signer")


class ContractError(ValueError):
    pass


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def release_status(clip) -> str:
    """What Schedule A says about the people in a clip."""
    from outtake.rights.releases import release_summary

    return release_summary(clip)


def license_document(license: License) -> LicenseDocument:
    """The contract's data from a License: its pinned snapshots, prices and request scope."""
    request = license.quote.request
    items = list(license.items.select_related("clip__asset", "creator"))
    clips = tuple(
        ClipLine(
            clip_id=str(i.clip_id),
            original_sha256=i.clip.asset.sha256,
            kind=i.clip.kind,
            seconds=float(i.clip.duration_s or 0) if i.clip.kind == "video" else 0.0,
            price_minor=i.price_minor,
            currency=license.currency,
            creator=i.creator.pseudonym,
            release_status=release_status(i.clip),
            terms_snapshot=i.terms_snapshot["terms"],
            start_s=i.clip.start_s if i.clip.kind == "video" else None,
            end_s=i.clip.end_s if i.clip.kind == "video" else None,
        )
        for i in items
    )
    notice_days = [
        i.terms_snapshot["terms"].get("training_stop_notice_days")
        for i in items
        if i.terms_snapshot["terms"].get("training_stop_notice_days") is not None
    ]
    return LicenseDocument(
        license_id=str(license.id),
        date=timezone.localdate(license.created_at),
        buyer=license.buyer.name,
        buyer_id=str(license.buyer_id),
        clips=clips,
        uses=tuple(license.uses),
        accepted_constraints=tuple(license.accepted_constraints),
        creator_share=settings.RATE_CARD.creator_share,
        warranties=warranties_of([i.clip.asset for i in items]),
        exclusive=license.exclusive,
        term_years=getattr(request, "term_years", None),
        territory=tuple(getattr(request, "territory", None) or ()),
        # The strictest clause any creator of the licensed clips chose binds the license.
        training_stop_notice_days=min(notice_days) if notice_days else None,
    )


def document_from(data: dict[str, Any]) -> LicenseDocument:
    fields = dict(data)
    fields["date"] = dt.date.fromisoformat(fields["date"])
    fields["creator_share"] = Decimal(fields["creator_share"])
    fields["clips"] = tuple(ClipLine(**_clip_fields(c)) for c in fields["clips"])
    for name in ("uses", "accepted_constraints", "warranties", "territory"):
        fields[name] = tuple(fields[name])
    return LicenseDocument(**fields)


def _clip_fields(clip: dict[str, Any]) -> dict[str, Any]:
    """A clip as stored; contracts accepted under dataset_license_v1 named the original's hash
    "sha256" and had no in and out times."""
    fields = dict(clip)
    if "sha256" in fields:
        fields["original_sha256"] = fields.pop("sha256")
    return fields


def issue_contract(license: License, user, *, via: str) -> LicenseContract:
    """Record the buyer's acceptance of the license document (who, when, from which account,
    the hash of its data) inside the acceptance transaction; the PDF is rendered from that data
    and sealed once the acceptance commits."""
    from outtake.rights.tasks import seal_license_contract

    doc = license_document(license)
    data = document_data(doc)
    contract = LicenseContract.objects.create(
        license=license,
        template_version=doc.template_version,
        document=data,
        data_sha256=data_fingerprint(data),
        accepted_by=user,
        accepted_org=user.organization,
        accepted_via=via,
        accepted_at=timezone.now(),
    )
    record(
        "license.contract_accepted",
        actor=user,
        org=license.buyer,
        subject=license,
        data={
            "data_sha256": contract.data_sha256,
            "template": f"dataset_license_{doc.template_version}",
            "account": user.email,
            "organization": str(user.organization_id),
            "via": via,
        },
    )
    transaction.on_commit(lambda: seal_license_contract(contract.pk))
    return contract


def seal_contract(contract_id: int) -> LicenseContract:
    """Render the accepted data to PDF, seal it with Outtake's platform seal, store it (once).

    Rendering and sealing take seconds, so they run outside any transaction (on SQLite a write
    transaction locks the whole database); only storing takes the row's lock. Two sealers at
    once both render, and the first to store wins."""
    contract = LicenseContract.objects.get(pk=contract_id)
    if contract.sealed_key:
        return contract
    pdf = render_license_pdf(document_from(contract.document))
    digest = _sha256(pdf)
    sealed = seal_pdf(
        pdf,
        settings.OUTTAKE_PKI_DIR,
        reason=f"Dataset license {contract.license_id} accepted; document SHA-256 {digest}",
    )
    return _store_seal(contract_id, digest, sealed)


@transaction.atomic
def _store_seal(contract_id: int, digest: str, sealed: bytes) -> LicenseContract:
    contract = LicenseContract.objects.select_for_update().get(pk=contract_id)
    if contract.sealed_key:
        return contract
    key = f"contracts/licenses/{contract.license_id}/sealed.pdf"
    get_store().put_bytes(key, sealed)
    contract.document_sha256, contract.sealed_key = digest, key
    contract.sealed_sha256, contract.sealed_at = _sha256(sealed), timezone.now()
    contract.save(update_fields=["document_sha256", "sealed_key", "sealed_sha256", "sealed_at"])
    record(
        "license.contract_sealed",
        org=contract.license.buyer,
        subject=contract.license,
        data={
            "data_sha256": contract.data_sha256,
            "document_sha256": digest,
            "sealed_sha256": contract.sealed_sha256,
        },
    )
    return contract


def contracts_for(user) -> QuerySet[LicenseContract]:
    """Contracts a user may read: the buyer's own, those with the creator's clips, all for
    reviewers."""
    qs = LicenseContract.objects.select_related("license")
    if user.is_reviewer:
        return qs
    if user.is_buyer:
        return qs.filter(license__buyer=user.organization)
    return qs.filter(license__items__creator=user.organization).distinct()


def contract_pdf(contract: LicenseContract) -> bytes:
    """The latest signed version: co-signed by the buyer if they did, else Outtake's seal
    (sealed now if the background job has not run yet)."""
    if not contract.sealed_key:
        contract = seal_contract(contract.pk)
    return get_store().get_bytes(contract.cosigned_key or contract.sealed_key)


def odrl_policy(contract: LicenseContract) -> dict[str, Any]:
    """The ODRL Agreement, from the same accepted data the PDF was rendered from."""
    return build_policy(document_from(contract.document), settings.OUTTAKE_PUBLIC_URL)


def reads_as_licensee(user, license: License) -> bool:
    """Reviewers and the buyer's own people read a license (its contract, notices about it) as
    accepted, naming who acted for the licensee; creators read the licensee as it chose to be
    shown to them."""
    return user.is_reviewer or user.organization_id == license.buyer_id


def withheld_from(user, contract: LicenseContract) -> bool:
    """Whether this reader gets the creators' copy: the buyer asked to be shown to creators
    as "an AI lab", and the reader is not the buyer or a reviewer."""
    return contract.license.buyer.show_as_ai_lab and not reads_as_licensee(user, contract.license)


def hashes_for(user, contract: LicenseContract) -> dict[str, str]:
    """The SHA-256s of a contract this reader may see: of the accepted data, of its render
    before sealing, and of the creators' copy (once made) when that is what the reader gets.
    The data and its render name the licensee and nothing in them is secret from creators, so
    a reader the name is withheld from could hash each candidate lab's name until one matched:
    that reader gets their copy's hash instead. The sealed original's hash is no such clue (a
    seal is randomised) and stays, as the copy itself names it."""
    if not withheld_from(user, contract):
        return {
            "data_sha256": contract.data_sha256,
            "document_sha256": contract.document_sha256,
            "copy_sha256": "",
        }
    return {"data_sha256": "", "document_sha256": "", "copy_sha256": contract.copy_sha256}


def _as_shown_to_creators(contract: LicenseContract) -> LicenseDocument:
    buyer = contract.license.buyer.name_for_creators
    return dataclasses.replace(document_from(contract.document), buyer=buyer)


def contract_pdf_for(user, contract: LicenseContract) -> bytes:
    """The license PDF this reader downloads: the creators' copy when the buyer's identity is
    withheld from them, else the latest signed version."""
    if withheld_from(user, contract):
        return creators_copy_pdf(contract)
    return contract_pdf(contract)


def odrl_policy_for(user, contract: LicenseContract) -> dict[str, Any]:
    """The ODRL Agreement this reader gets: the assignee named as it chose to be shown to
    creators when its identity is withheld from them."""
    if not withheld_from(user, contract):
        return odrl_policy(contract)
    policy = build_policy(_as_shown_to_creators(contract), settings.OUTTAKE_PUBLIC_URL)
    policy["assignee"]["dct:description"] = (
        "Named as the licensee chose to be shown to creators; its identity is withheld at its "
        "request."
    )
    return policy


def _creators_copy_key(contract: LicenseContract) -> str:
    return f"contracts/licenses/{contract.license_id}/creators_copy.pdf"


def creators_copy_pdf(contract: LicenseContract) -> bytes:
    """The creators' copy of a license whose buyer asked to be shown to creators as "an AI lab".
    A sealed PDF cannot be edited, so the same document is rendered with the buyer named as
    shown, saying whose copy it is and the SHA-256 of the sealed original, and sealed with
    Outtake's seal like the original; made once (outside any transaction, as seal_contract),
    then read from storage. It is made once its SHA-256 is on the contract, as hashes_for says:
    a file in storage without it (its record rolled back) is never served, but made anew."""
    if contract.copy_sha256:
        return get_store().get_bytes(_creators_copy_key(contract))
    contract = seal_contract(contract.pk)
    pdf = render_creators_copy_pdf(
        _as_shown_to_creators(contract), sealed_sha256=contract.sealed_sha256
    )
    sealed = seal_pdf(
        pdf,
        settings.OUTTAKE_PKI_DIR,
        reason=f"Creators' copy of dataset license {contract.license_id}; "
        f"sealed original SHA-256 {contract.sealed_sha256}",
    )
    return _store_creators_copy(contract, _sha256(pdf), sealed)


@transaction.atomic
def _store_creators_copy(contract: LicenseContract, digest: str, sealed: bytes) -> bytes:
    contract = LicenseContract.objects.select_for_update().get(pk=contract.pk)  # one writer
    key = _creators_copy_key(contract)
    if contract.copy_sha256:  # another sealer stored first
        return get_store().get_bytes(key)
    get_store().put_bytes(key, sealed)  # over any copy whose record rolled back
    contract.copy_sha256 = _sha256(sealed)
    contract.save(update_fields=["copy_sha256"])
    record(
        "license.creators_copy_sealed",
        org=contract.license.buyer,
        subject=contract.license,
        data={
            "sealed_sha256": contract.sealed_sha256,
            "document_sha256": digest,
            "copy_sha256": contract.copy_sha256,
        },
    )
    return sealed


def _pem(certs: list[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def _load_pems(text: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(text.encode()) if text.strip() else []
    except ValueError as exc:
        raise ContractError(f"not PEM certificates: {exc}") from exc


def _signer(user) -> None:
    if not user.is_buyer or user.org_role not in SIGNING_ROLES:
        raise PermissionError("only a buyer's admin or signer manages signing certificates")


@transaction.atomic
def register_certificate(user, certificate_pem: str, chain_pem: str = "") -> BuyerCertificate:
    """A buyer's own signing certificate; its chain (or itself) becomes a trust anchor for
    that buyer's signatures only."""
    _signer(user)
    certs = _load_pems(certificate_pem)
    if len(certs) != 1:
        raise ContractError("give exactly one certificate (the issuers go in the chain)")
    cert = certs[0]
    if why := out_of_date_reason(cert, timezone.now()):
        raise ContractError(f"this certificate cannot sign now: {why}")
    return _save_certificate(user, cert, _load_pems(chain_pem), issued_by_outtake=False)


@transaction.atomic
def certify_request(user, csr_pem: str) -> BuyerCertificate:
    """Outtake's buyer CA (an intermediate, apart from Outtake's own seals) certifies a buyer's
    key from their CSR."""
    _signer(user)
    org = user.organization
    try:
        pem = issue_from_csr(
            settings.OUTTAKE_PKI_DIR,
            csr_pem.encode(),
            common_name=user.email,
            org=org.name,
            eku=[DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION],
        )
    except ValueError as exc:
        raise ContractError(str(exc)) from exc
    pki = settings.OUTTAKE_PKI_DIR
    chain = [
        x509.load_pem_x509_certificate(path.read_bytes())
        for path in (ensure_intermediate(pki).cert_path, pki / "root.pem")
    ]
    return _save_certificate(
        user, x509.load_pem_x509_certificate(pem), chain, issued_by_outtake=True
    )


def certificates_of(user) -> QuerySet[BuyerCertificate]:
    """The signing certificates registered for the user's organisation, newest first."""
    return BuyerCertificate.objects.filter(organization=user.organization).order_by("-created_at")


def _save_certificate(user, cert, chain, *, issued_by_outtake: bool) -> BuyerCertificate:
    digest = fingerprint(cert)
    if BuyerCertificate.objects.filter(fingerprint=digest).exists():
        raise ContractError("this certificate is already registered")
    saved = BuyerCertificate.objects.create(
        organization=user.organization,
        created_by=user,
        certificate_pem=_pem([cert]),
        chain_pem=_pem(chain),
        fingerprint=digest,
        subject=cert.subject.rfc4514_string()[:300],
        issued_by_outtake=issued_by_outtake,
    )
    record(
        "certificate.registered",
        actor=user,
        org=user.organization,
        subject=saved,
        data={"fingerprint": digest, "subject": saved.subject, "outtake": issued_by_outtake},
    )
    return saved


def _signer_fingerprints(pdf: bytes) -> dict[str, str]:
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        signatures = PdfFileReader(BytesIO(pdf), strict=False).embedded_signatures
        return {str(sig.field_name): _sha256(sig.signer_cert.dump()) for sig in signatures}
    except Exception as exc:  # a damaged upload is a refusal with its reason, not a 500
        raise ContractError(f"unreadable signed PDF: {exc}") from exc


@transaction.atomic
def submit_cosigned(user, contract: LicenseContract, pdf: bytes) -> LicenseContract:
    """Keep the buyer's co-signed PDF once it is our sealed PDF plus an incremental signature by
    one of the buyer's registered certificates, with every signature valid."""
    _signer(user)
    contract = LicenseContract.objects.select_for_update().get(pk=contract.pk)
    if contract.license.buyer_id != user.organization_id:
        raise PermissionError("not your license")
    if not contract.sealed_key:
        raise ContractError("the contract is still being sealed; download it first")
    sealed = get_store().get_bytes(contract.sealed_key)
    if not pdf.startswith(sealed) or len(pdf) == len(sealed):
        raise ContractError("sign the sealed PDF Outtake issued, as an incremental update")
    certs = {
        c.fingerprint: c
        for c in BuyerCertificate.objects.filter(
            organization=user.organization, revoked_at__isnull=True
        )
    }
    signers = _signer_fingerprints(pdf)
    buyer_fields = {f for f, fp in signers.items() if f != SEAL_FIELD and fp in certs}
    if not buyer_fields:
        raise ContractError("no signature by a certificate registered for your organisation")
    with tempfile.TemporaryDirectory() as tmp:
        # Each registered certificate in use vouches for itself: the buyer's signature counts
        # only when it is made by exactly one of them.
        anchors = Path(tmp) / "anchors.pem"
        anchors.write_text("".join(certs[signers[f]].certificate_pem for f in buyer_fields))
        path = Path(tmp) / "cosigned.pdf"
        path.write_bytes(pdf)
        ok, rows = verify_contract(path, settings.OUTTAKE_PKI_DIR / "root.pem", [anchors])
    bad = [row for row in rows if not row["ok"]]
    if not ok:
        why = f"{bad[0]['field']} does not validate: {bad[0]['error']}" if bad else "no seal"
        raise ContractError(f"signature {why}")
    key = f"contracts/licenses/{contract.license_id}/cosigned.pdf"
    get_store().put_bytes(key, pdf)
    contract.cosigned_key, contract.cosigned_sha256 = key, _sha256(pdf)
    contract.cosigned_at, contract.cosigned_by = timezone.now(), user
    contract.save(update_fields=["cosigned_key", "cosigned_sha256", "cosigned_at", "cosigned_by"])
    record(
        "license.contract_cosigned",
        actor=user,
        org=user.organization,
        subject=contract.license,
        data={
            "cosigned_sha256": contract.cosigned_sha256,
            "certificates": sorted(signers[f] for f in buyer_fields),
        },
    )
    return contract
