"""PAdES seals on contract PDFs with pyHanko, and their offline validation.

Outtake seals the accepted document with a certification signature from its "pdf-seal"
certificate (a leaf of the installation's CA, separate from the C2PA signing certificate). The
certification allows exactly one kind of later change, form filling, so a buyer can add its own
approval signature in an incremental update and anything else appended shows up as a violation.

Validation keeps the two kinds of signature apart. A seal is a signature by one of Outtake's own
pdf-seal certificates (ca.is_own_certificate: issued by the root itself under that name) and is
checked against Outtake's root alone. Every other signature (a buyer's) is checked against the
roots the verifier chose to trust alone, never Outtake's, so no other certificate of the
installation, and no buyer, can pass as the seal or be trusted by default.
No timestamp server and no network: fetching is disabled. A seal is judged as of the time it
states (only Outtake holds the seal key); every other signature as of now (see verify_pdf).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path

from cryptography import x509
from pyhanko.keys import (
    load_cert_from_pemder,
    load_certs_from_pemder,
    load_certs_from_pemder_data,
    load_private_key_from_pemder_data,
)
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from outtake.provenance.ca import Leaf, ensure_root, is_own_certificate, issue_leaf

PDF_SEAL_PURPOSE = "pdf-seal"
SEAL_FIELD = "OuttakeSeal"
BUYER_FIELD = "LicenseeSignature"

# id-kp-documentSigning (RFC 9336) for standard validators; Adobe's "Authentic Documents Trust"
# purpose so Acrobat accepts the seal once the root is trusted there.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
ADOBE_AUTHENTIC_DOCUMENTS = x509.ObjectIdentifier("1.2.840.113583.1.1.5")
SEAL_EKU = (DOCUMENT_SIGNING, ADOBE_AUTHENTIC_DOCUMENTS)

# What a PDF signer's certificate may say it is for: the two above, Microsoft's document signing,
# and e-mail protection, which is what most personal signing certificates a buyer owns carry.
# A TLS-only certificate is refused. Key usage: non-repudiation (ours) or digital signature, which
# is all some personal signing certificates carry.
_SIGNING_PURPOSES = KeyUsageConstraints(
    key_usage={"non_repudiation", "digital_signature"},
    extd_key_usage={
        DOCUMENT_SIGNING.dotted_string,
        "adobe_authentic_documents_trust",
        "microsoft_document_signing",
        "email_protection",
    },
)


def issue_seal_certificate(pki: Path) -> Leaf:
    """The installation's PDF seal certificate (issued once, then reused)."""
    return issue_leaf(pki, PDF_SEAL_PURPOSE, eku=list(SEAL_EKU))


def _sign(pdf: bytes, signer: signers.Signer, meta: signers.PdfSignatureMetadata) -> bytes:
    writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
    return signers.sign_pdf(writer, meta, signer=signer).getvalue()


def seal_pdf(pdf: bytes, pki: Path, *, reason: str) -> bytes:
    """Certify the accepted document with Outtake's seal; the result only admits form filling
    (a co-signature) as a later change."""
    leaf = issue_seal_certificate(pki)
    root = load_cert_from_pemder(str(ensure_root(pki).cert_path))
    signer = signers.SimpleSigner(
        signing_cert=next(load_certs_from_pemder_data(leaf.cert_pem)),
        signing_key=load_private_key_from_pemder_data(leaf.key_pem, None),
        cert_registry=SimpleCertificateStore.from_certs([root]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        certify=True,
        docmdp_permissions=MDPPerm.FILL_FORMS,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        name="Outtake",
    )
    return _sign(pdf, signer, meta)


def cosign_pdf(
    pdf: bytes,
    key_pem: Path,
    cert_pem: Path,
    *,
    chain_pems: tuple[Path, ...] = (),
    reason: str = "Accepted by the licensee",
    field_name: str = BUYER_FIELD,
) -> bytes:
    """Add a signature with the signer's own key as an incremental update; the seal stays intact."""
    signer = signers.SimpleSigner.load(
        str(key_pem), str(cert_pem), ca_chain_files=tuple(str(p) for p in chain_pems)
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
    )
    return _sign(pdf, signer, meta)


@dataclass(frozen=True)
class SignatureReport:
    field: str
    signer: str
    signed_at: str  # as the signer claims it: there is no trusted timestamp
    intact: bool  # the signed bytes hash to what was signed
    valid: bool  # the cryptographic signature verifies
    trusted: bool  # the certificate chains to a given root and suits document signing
    seal: bool  # made by one of Outtake's own pdf-seal certificates
    certified: bool  # a certification (author) signature rather than an approval
    coverage: str  # "entire file" or "earlier revision"
    changes_after: str  # what later revisions changed, as pyHanko's difference analysis judges it
    ok: bool  # everything above holds and later changes are allowed by the certification
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _signer_name(cert) -> str:
    subject = cert.subject.native
    return ", ".join(subject[k] for k in ("common_name", "organization_name") if k in subject)


def verify_pdf(
    path: Path | str, root: Path | str, trusted: list[Path | str] | tuple = ()
) -> list[SignatureReport]:
    """Validate every signature in a PDF offline. A signature by Outtake's pdf-seal certificate
    under `root` (PEM) is a seal, validated against that root only; any other signature is
    validated against the `trusted` PEM files (each may hold several certificates) only.

    There is no trusted timestamp. A seal is judged as of the signing time it states: only
    Outtake holds the seal key, so a seal made before its certificate expired still verifies
    afterwards (its time is also on record in the audit chain). Any other signing time is the
    signer's own word, so any other signature is judged as of now: its certificate must be
    valid today, even when the verifier trusts that certificate itself (pyHanko does not check
    a trust anchor's dates)."""
    outtake_root = load_cert_from_pemder(str(root))
    root_x509 = x509.load_der_x509_certificate(outtake_root.dump())
    others = [cert for p in trusted for cert in load_certs_from_pemder([str(p)])]
    now = dt.datetime.now(dt.UTC)
    reports = []
    with open(path, "rb") as fh:
        try:
            reader = PdfFileReader(fh, strict=False)
            embedded = reader.embedded_signatures
        except Exception as exc:  # a damaged file is a verification result, not a crash
            return [_failed("", f"unreadable PDF: {exc}")]
        for sig in embedded:
            try:
                signer = x509.load_der_x509_certificate(sig.signer_cert.dump())
                seal = is_own_certificate(signer, root_x509, PDF_SEAL_PURPOSE)
                out_of_date = "" if seal else out_of_date_reason(signer, now)
                # Our certificates carry no CRL or OCSP address, so "soft-fail" is what lets an
                # offline check pass; a certificate that names one still cannot be fetched.
                context = ValidationContext(
                    trust_roots=[outtake_root] if seal else others,
                    allow_fetching=False,
                    revocation_mode="soft-fail",
                    moment=sig.self_reported_timestamp if seal else now,
                )
                status = validate_pdf_signature(
                    sig, signer_validation_context=context, key_usage_settings=_SIGNING_PURPOSES
                )
            except Exception as exc:
                reports.append(_failed(str(sig.field_name), f"{exc.__class__.__name__}: {exc}"))
                continue
            level = status.modification_level
            reports.append(
                SignatureReport(
                    field=str(sig.field_name),
                    signer=_signer_name(status.signing_cert),
                    signed_at=status.signer_reported_dt.isoformat()
                    if status.signer_reported_dt
                    else "",
                    intact=status.intact,
                    valid=status.valid,
                    trusted=status.trusted and not out_of_date,
                    seal=seal,
                    certified=sig.docmdp_level is not None,
                    coverage="entire file"
                    if status.coverage.name == "ENTIRE_FILE"
                    else "earlier revision",
                    changes_after=level.name.lower().replace("_", " ") if level else "unknown",
                    ok=status.bottom_line and not out_of_date,
                    error=_problem(status, seal, out_of_date),
                )
            )
    return reports


def out_of_date_reason(cert: x509.Certificate, now: dt.datetime) -> str:
    """Why a certificate is not valid at `now` ("" when it is)."""
    if cert.not_valid_after_utc <= now:
        return f"its certificate expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC"
    if cert.not_valid_before_utc > now:
        return f"its certificate is valid only from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    return ""


def _problem(status, seal: bool, out_of_date: str) -> str:
    if not status.intact:
        return "the signed bytes were changed after signing"
    if not status.valid:
        return "the signature does not verify"
    if out_of_date:
        # Without a trusted timestamp the signer's stated time proves nothing.
        return (
            f"not trusted: {out_of_date}; a co-signature carries no trusted timestamp, so it "
            "is judged as of now"
        )
    if not status.trusted:
        indication = status.trust_problem_indic
        why = indication.name.lower() if indication else "no path to a given root"
        if seal:
            return f"not trusted: {why}"
        return f"not trusted: {why} (not Outtake's seal: trust its signer's root to count it)"
    if not status.bottom_line:
        return "a later revision made changes the certification does not allow"
    return ""


def _failed(field: str, error: str) -> SignatureReport:
    return SignatureReport(field, "", "", False, False, False, False, False, "", "", False, error)
