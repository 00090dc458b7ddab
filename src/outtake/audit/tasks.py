from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from outtake.audit import services


@db_periodic_task(crontab(minute="0"))
def hourly_checkpoint() -> None:
    services.create_checkpoint()
