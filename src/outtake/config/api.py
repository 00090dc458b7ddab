"""The HTTP API: one NinjaAPI, a router per app, and one mapping of domain errors to HTTP."""

from django.core.exceptions import ObjectDoesNotExist
from ninja import NinjaAPI

from outtake import __version__
from outtake.accounts.api import router as accounts
from outtake.accounts.services import AccountError
from outtake.audit.api import router as audit
from outtake.catalog.api import router as catalog
from outtake.catalog.services import CatalogError
from outtake.core.terms import TermsError
from outtake.dedup.api import router as dedup
from outtake.dedup.services import DedupError
from outtake.delivery.api import router as delivery
from outtake.delivery.services import DeliveryError
from outtake.ledger.api import router as ledger
from outtake.ledger.services import LedgerError
from outtake.market.api import router as market
from outtake.market.services import MarketError
from outtake.notices.api import router as notices
from outtake.notices.webhooks import WebhookError
from outtake.rights.api import router as rights
from outtake.rights.claims import ClaimError, TooManyRequests
from outtake.rights.contracts import ContractError
from outtake.rights.releases import ReleaseError

api = NinjaAPI(
    title="Outtake API",
    version=__version__,
    urls_namespace="api",
    description="Creators license unpublished footage to AI labs. Authenticate with "
    "`Authorization: Bearer <token>` (scopes: read, upload, buy, "
    "download, finance) or a browser session.",
)
for router in (accounts, catalog, rights, market, ledger, delivery, notices, audit, dedup):
    api.add_router("/", router)

DOMAIN_ERRORS = (
    AccountError,
    CatalogError,
    TermsError,
    MarketError,
    LedgerError,
    DeliveryError,
    ContractError,
    DedupError,
    ClaimError,
    ReleaseError,
    WebhookError,
)


@api.exception_handler(PermissionError)
def forbidden(request, exc):
    return api.create_response(request, {"detail": str(exc) or "forbidden"}, status=403)


@api.exception_handler(ObjectDoesNotExist)
def not_found(request, exc):
    return api.create_response(request, {"detail": "not found"}, status=404)


@api.exception_handler(TooManyRequests)
def too_many(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=429)


for _error in DOMAIN_ERRORS:
    api.add_exception_handler(
        _error,
        lambda request, exc: api.create_response(request, {"detail": str(exc)}, status=400),
    )
