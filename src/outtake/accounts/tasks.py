from huey.contrib.djhuey import db_task

from outtake.accounts import services


@db_task(retries=2, retry_delay=30)
def seal_creator_agreement(attestation_id: int) -> None:
    """Seal an accepted creator agreement once its acceptance commits, before anyone asks."""
    services.seal_agreement(attestation_id)
