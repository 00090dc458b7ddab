from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from outtake.notices import webhooks


@db_task()
def deliver_webhook(delivery_id: int) -> None:
    webhooks.attempt(delivery_id)


@db_periodic_task(crontab(minute="*"))
def retry_webhooks() -> None:
    """Later attempts (and any a stopped worker dropped) are picked up here when due."""
    webhooks.retry_due()
