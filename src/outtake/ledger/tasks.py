import logging

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from outtake.ledger import card_refunds
from outtake.ledger.models import Invoice
from outtake.ledger.payments import NoAnswer, card_provider
from outtake.ledger.statements import issue_monthly_statements, previous_month

log = logging.getLogger(__name__)


@db_periodic_task(crontab(day="1", hour="3", minute="0"))
def monthly_statements() -> None:
    """On the first of each month, issue every creator's statement for the month before."""
    issue_monthly_statements(*previous_month(timezone.now()))


@db_task(retries=5, retry_delay=60, retry_backoff=2)
def expire_card_checkouts(invoice_id: int) -> None:
    """After a payment or a cancellation changed what is due, close the invoice's card pages
    that still ask for the old amount (retried while the provider does not answer)."""
    card_provider().expire_checkouts(Invoice.objects.get(pk=invoice_id))


@db_task(
    retries=card_refunds.RETRIES,
    retry_delay=card_refunds.FIRST_RETRY_DELAY,
    retry_backoff=card_refunds.RETRY_BACKOFF,
    context=True,
)
def send_card_refund(refund_id: int, task=None) -> None:
    """Ask the card provider for a refund's card part once the refund commits; without an
    answer, ask again with the same key after 1, 3, 9 … minutes (about 6 hours in all, well
    inside the day Stripe keeps a key), then tell reviewers."""
    card_refunds.send_card_refund(refund_id, last_try=task.retries == 0)


@db_periodic_task(crontab(minute="40"))
def ask_again_for_waiting_card_refunds() -> None:
    """Hourly: card refunds still waiting for the provider's first answer lost their job (a
    worker restarted, the queue write failed): ask again under the same key while Stripe keeps
    it, then tell reviewers instead. Each sweep asks once; it starts no chain of retries, so
    a long outage does not pile them up (the next sweep is the retry)."""
    for refund_id in card_refunds.waiting_card_refunds():
        try:
            card_refunds.send_card_refund(refund_id, last_try=False)
        except NoAnswer:
            log.warning("card refund %s: no answer again; asked next hour", refund_id)
        except Exception:  # one refund's fault must not keep the others from being asked
            log.exception("card refund %s: asking again failed; asked next hour", refund_id)
