"""Render contracts from their data to PDF through the versioned templates in templates/.

A document names its template version, so a license sold under v1 re-renders under v1 after v2
exists. The PDF's dates come from the document, not the clock, so the same data gives the same
bytes and the hash the buyer accepted can be recomputed.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from outtake.core.terms import ALL_PROTECTIONS, PROTECTIONS, USES
from outtake.provenance.contract import (
    PLATFORM,
    CreatorAgreement,
    LicenseDocument,
    ReleaseDocument,
)

TEMPLATES = Path(__file__).parent / "templates"
# Every template so far is laid out by this stylesheet; a new layout gets a new file so the
# documents already made re-render unchanged.
STYLESHEET = TEMPLATES / "contract_v1.css"

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,  # a missing field must fail, never print blank in a contract
    trim_blocks=True,
    lstrip_blocks=True,
)


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


def _common() -> dict:
    return {"platform": PLATFORM, "uses": USES, "default_protections": PROTECTIONS}


def license_html(doc: LicenseDocument) -> str:
    shares, fee = doc.creator_shares()
    return _env.get_template(f"dataset_license_{doc.template_version}.html").render(
        doc=doc,
        clauses=doc.constraint_clauses(),
        protections=doc.protections(),
        shares=shares,
        fee=fee,
        share_percent=_percent(doc.creator_share),
        snapshots=doc.terms_snapshots(),
        protection_text=doc.protection_texts(),
        **_common(),
    )


def agreement_html(doc: CreatorAgreement) -> str:
    return _env.get_template(f"creator_agreement_{doc.template_version}.html").render(
        doc=doc,
        share_percent=_percent(doc.creator_share),
        protection_text=ALL_PROTECTIONS,
        **_common(),
    )


def release_html(doc: ReleaseDocument) -> str:
    signature = base64.b64encode(doc.signature_png).decode()
    return _env.get_template(f"release_{doc.template_version}.html").render(
        doc=doc,
        kind_title=doc.kind.capitalize(),
        signature_src=f"data:image/png;base64,{signature}",
        **_common(),
    )


def html_to_pdf(html: str) -> bytes:
    # Imported here: WeasyPrint loads Pango at import, which workers that never render don't need.
    from weasyprint import CSS, HTML

    css = CSS(filename=str(STYLESHEET))
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf(
        stylesheets=[css],
        pdf_identifier=True,  # /ID from the content: deterministic
    )


def render_license_pdf(doc: LicenseDocument) -> bytes:
    return html_to_pdf(license_html(doc))


def render_creators_copy_pdf(doc: LicenseDocument, *, sealed_sha256: str) -> bytes:
    """The creators' copy of a license whose Licensee is shown to creators under another name
    (`doc.buyer` is that name): a cover saying whose copy it is, that the Licensee's identity is
    withheld at its request and the sealed original's SHA-256, then the license rendered by its
    own template, every page marked as the copy."""
    from weasyprint import CSS, HTML

    cover = _env.get_template("creators_copy_v1.html").render(
        doc=doc, sealed_sha256=sealed_sha256, **_common()
    )
    css = [CSS(filename=str(STYLESHEET)), CSS(filename=str(TEMPLATES / "creators_copy_v1.css"))]
    parts = [
        HTML(string=html, base_url=str(TEMPLATES)).render(stylesheets=css)
        for html in (cover, license_html(doc))
    ]
    pages = [page for part in parts for page in part.pages]
    return parts[0].copy(pages).write_pdf(pdf_identifier=True)


def render_agreement_pdf(doc: CreatorAgreement) -> bytes:
    return html_to_pdf(agreement_html(doc))


def render_release_pdf(doc: ReleaseDocument) -> bytes:
    return html_to_pdf(release_html(doc))
