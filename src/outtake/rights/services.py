"""Terms: default and per-asset versions, and their resolution into snapshots."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from outtake.audit.services import record
from outtake.core.money import Money
from outtake.core.terms import default_terms, validate_terms, with_protection_texts
from outtake.rights.models import TermsVersion


def current_version(org, asset=None) -> TermsVersion | None:
    qs = TermsVersion.objects.filter(organization=org)
    qs = qs.filter(asset=asset) if asset is not None else qs.filter(asset__isnull=True)
    return qs.order_by("-version").first()


@transaction.atomic
def set_terms(user, terms: dict[str, Any], asset=None) -> TermsVersion:
    """Save a new version of the creator's default terms, or of one asset's override."""
    org = user.organization
    if asset is not None and asset.owner_id != org.id:
        raise PermissionError("not your asset")
    clean = validate_terms(terms)
    latest = current_version(org, asset)
    version = TermsVersion.objects.create(
        organization=org,
        asset=asset,
        version=(latest.version + 1) if latest else 1,
        terms=clean,
        created_by=user,
    )
    record(
        "terms.version",
        actor=user,
        org=org,
        subject=version,
        data={
            "asset": str(asset.id) if asset else None,
            "version": version.version,
            "terms": clean,
        },
    )
    return version


def resolved_terms(asset) -> tuple[dict[str, Any], TermsVersion | None]:
    """The terms an asset is offered under now: its override, else the creator's default."""
    version = current_version(asset.owner, asset) or current_version(asset.owner)
    return (dict(version.terms) if version else default_terms()), version


def snapshot(asset) -> dict[str, Any]:
    """What a license stores: the resolved terms, in the protections' words of today, and
    where they came from."""
    terms, version = resolved_terms(asset)
    return {
        "terms": with_protection_texts(terms),
        "terms_version_id": version.id if version else None,
        "terms_version": version.version if version else 0,
        "scope": "asset" if version and version.asset_id else "default",
    }


def below_floor(clip, terms: dict[str, Any]) -> bool:
    """Whether a video clip's price per minute is under the creator's minimum (photos are
    priced per item and have no per-minute floor)."""
    floor = terms.get("min_price_per_minute")
    if floor is None or clip.kind != "video" or not clip.duration_s:
        return False
    # Compare in minor units: price / minutes < floor  <=>  price * 60 < floor * seconds.
    floor_minor = Money.from_decimal(Decimal(floor), clip.currency).minor
    return clip.price_minor * 60 < floor_minor * clip.duration_s
