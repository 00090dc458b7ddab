from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from outtake.delivery import push, services


@db_task(retries=2, retry_delay=60)
def build_delivery(delivery_id: str) -> None:
    services.build(delivery_id)


@db_periodic_task(crontab(minute="*/10"))
def deliver_removals() -> None:
    """Revoked clips leave every delivered license in its next version, within minutes."""
    services.deliver_removals()


@db_task()
def push_delivery(push_id: str) -> None:
    """No automatic retries: a failed push is recorded and its buyer resumes it."""
    push.run_push(push_id)


@db_periodic_task(crontab(minute="30"))
def forget_push_credentials() -> None:
    push.forget_old_credentials()
