from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from outtake.ledger.models import Invoice
from outtake.ledger.payments import card_provider
from outtake.ledger.statements import issue_monthly_statements, previous_month


@db_periodic_task(crontab(day="1", hour="3", minute="0"))
def monthly_statements() -> None:
    """On the first of each month, issue every creator's statement for the month before."""
    issue_monthly_statements(*previous_month(timezone.now()))


@db_task(retries=5, retry_delay=60, retry_backoff=2)
def expire_card_checkouts(invoice_id: int) -> None:
    """After a payment or a cancellation changed what is due, close the invoice's card pages
    that still ask for the old amount (retried while the provider does not answer)."""
    card_provider().expire_checkouts(Invoice.objects.get(pk=invoice_id))
