from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.core.money import Money
from outtake.ledger.services import creator_earnings


@role_required(User.Role.CREATOR)
def earnings(request: HttpRequest) -> HttpResponse:
    card = settings.RATE_CARD
    return render(
        request,
        "ledger/earnings.html",
        {
            "earnings": creator_earnings(request.user.organization, card.currency),
            "payout_minimum": Money.from_decimal(card.payout_minimum, card.currency),
            "share_percent": f"{card.creator_share * 100:.0f}",
        },
    )
