from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from outtake.ledger.statements import issue_monthly_statements, previous_month


@db_periodic_task(crontab(day="1", hour="3", minute="0"))
def monthly_statements() -> None:
    """On the first of each month, issue every creator's statement for the month before."""
    issue_monthly_statements(*previous_month(timezone.now()))
