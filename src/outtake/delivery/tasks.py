from huey.contrib.djhuey import db_task

from outtake.delivery import services


@db_task(retries=2, retry_delay=60)
def build_delivery(delivery_id: str) -> None:
    services.build(delivery_id)
