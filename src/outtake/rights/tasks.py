from huey.contrib.djhuey import db_task

from outtake.rights import contracts, releases
from outtake.rights.models import Release


@db_task(retries=2, retry_delay=30)
def seal_license_contract(contract_id: int) -> None:
    contracts.seal_contract(contract_id)


@db_task(retries=2, retry_delay=30)
def seal_release(release_id: int) -> None:
    """Seal a release as soon as it is signed, so its PDF exists before anyone asks."""
    releases.release_pdf(Release.objects.get(pk=release_id))
