from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from outtake.catalog import services
from outtake.catalog.upload_endpoint import tus_app


@db_task(retries=2, retry_delay=30)
def ingest_asset(asset_id: str) -> None:
    services.ingest(asset_id)


@db_periodic_task(crontab(minute="*/15"))
def clean_abandoned_uploads() -> None:
    """Partial uploads nobody resumed within the expiry are deleted (the tus expiration rule)."""
    tus_app().cleanup_expired()
