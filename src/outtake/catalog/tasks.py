from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from outtake.catalog import services


@db_task(retries=2, retry_delay=30)
def ingest_asset(asset_id: str) -> None:
    services.ingest(asset_id)


@db_periodic_task(crontab(minute="*/15"))
def clean_abandoned_uploads() -> None:
    from outtake.config.asgi import tus_app

    tus_app().cleanup_expired()
