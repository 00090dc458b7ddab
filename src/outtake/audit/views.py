from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.audit import services


@role_required(*User.Role.values)
def events(request: HttpRequest) -> HttpResponse:
    """The audit events about the user's organisation, each with its chain hash as the API
    shows it, and the chain head to compare."""
    events = services.events_about(request.user).order_by("-id")[:200]
    return render(
        request,
        "audit/events.html",
        {
            "events": [(e, services.shown_event(request.user, e)[1]) for e in events],
            "head": services.latest_head(),
        },
    )
