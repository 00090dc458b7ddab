from datetime import datetime
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Router, Schema

from outtake.accounts.auth import scoped
from outtake.catalog.services import assets_of
from outtake.core.terms import default_terms
from outtake.rights import services

router = Router(tags=["rights"])


class TermsIn(Schema):
    uses: dict[str, dict] = {}
    protections: dict[str, bool] = {}
    exclusive_allowed: bool = True
    refused_buyers: list[str] = []


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
