from huey.contrib.djhuey import db_task

from outtake.rights import contracts


@db_task(retries=2, retry_delay=30)
def seal_license_contract(contract_id: int) -> None:
    contracts.seal_contract(contract_id)
