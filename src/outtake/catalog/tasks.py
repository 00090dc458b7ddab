import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from outtake.catalog import services
from outtake.catalog.upload_endpoint import tus_app

log = logging.getLogger("outtake.catalog")


@db_task(retries=2, retry_delay=30, context=True)
def ingest_asset(asset_id: str, task=None) -> None:
    """A failure that may pass raises, so huey tries this asset (only it) again; the last
    attempt rejects the asset with a reason instead (services.ingest)."""
    services.ingest(asset_id, last_attempt=task is None or not task.retries)


@db_task(retries=2, retry_delay=60)
def reanalyse_asset(asset_id: str, force: bool = False) -> None:
    """One asset per task: a crash retries only that asset (its clips stay until then)."""
    try:
        services.reanalyse(asset_id, force=force)
    except services.CatalogError as exc:
        log.info("asset %s not reanalysed: %s", asset_id, exc)  # retrying cannot help


@db_periodic_task(crontab(minute="*/15"))
def clean_abandoned_uploads() -> None:
    """Partial uploads nobody resumed within the expiry are deleted (the tus expiration rule)."""
    tus_app().cleanup_expired()
