"""Whether rights let a creator upload, and a clip be sold, now: the creator agreement's current
version accepted, and releases for the people and property shown. Uploads and quotes ask here."""

from __future__ import annotations

from outtake.accounts.services import accepted_current_agreement, agreement_version
from outtake.rights.releases import release_problem

AGREEMENT_MISSING = "creator has not accepted the current creator agreement"


class AgreementRequired(PermissionError):
    """A creator who must (re)accept the creator agreement first; the message says how."""


def require_current_agreement(user) -> None:
    """Refuse an upload by a creator who has not accepted the current agreement version."""
    if user.is_creator and not accepted_current_agreement(user.organization_id):
        raise AgreementRequired(
            f"Accept the current creator agreement ({agreement_version()}) before uploading: "
            "read and accept it at /agreement/ (or POST /api/agreement with your token). "
            "Your clips are not offered to buyers until you do."
        )


def sale_problem(clip) -> str:
    """Why rights keep a clip out of sale now, or "": the shown reason in quotes."""
    if not accepted_current_agreement(clip.asset.owner_id):
        return AGREEMENT_MISSING
    return release_problem(clip)
