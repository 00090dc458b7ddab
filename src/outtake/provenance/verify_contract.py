"""What `outtake verify-contract FILE` runs: every signature in a contract PDF, checked offline."""

from __future__ import annotations

from pathlib import Path

from outtake.provenance.pdfseal import verify_pdf


def verify_contract(
    pdf_path: Path | str, root_pem_paths: list[Path | str]
) -> tuple[bool, list[dict]]:
    """(ok, one row per signature). ok needs at least one signature, and every signature intact,
    valid, chained to one of the given roots, and not followed by changes its certification
    forbids. An unsigned PDF is not a sealed contract, so it is not ok."""
    rows = [report.as_dict() for report in verify_pdf(pdf_path, root_pem_paths)]
    return bool(rows) and all(row["ok"] for row in rows), rows
