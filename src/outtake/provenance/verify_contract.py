"""What `outtake verify-contract FILE` runs: every signature in a contract PDF, checked offline."""

from __future__ import annotations

from pathlib import Path

from outtake.provenance.pdfseal import verify_pdf


def verify_contract(
    pdf_path: Path | str, root: Path | str, trusted: list[Path | str] | tuple = ()
) -> tuple[bool, list[dict]]:
    """(ok, one row per signature). ok needs Outtake's seal, a certification signature by its
    pdf-seal certificate under `root`, and every signature intact, valid, trusted and not
    followed by changes its certification forbids. A buyer's signature is trusted only through
    the `trusted` roots and never stands in for the seal; an unsigned PDF is not a contract."""
    rows = [report.as_dict() for report in verify_pdf(pdf_path, root, trusted)]
    return not missing_seal(rows) and all(row["ok"] for row in rows), rows


def missing_seal(rows: list[dict]) -> str:
    """Why a contract has no valid seal ("" when it has one), for people reading the result."""
    if any(row["seal"] and row["certified"] for row in rows):
        return ""
    if any(row["seal"] for row in rows):
        return "Outtake's seal is not the certifying signature of this document"
    return "no seal by Outtake's pdf-seal certificate under the given root"
