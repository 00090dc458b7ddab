from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.audit import services


@role_required(*User.Role.values)
def events(request: HttpRequest) -> HttpResponse:
    """The audit events about the user's organisation, and the chain head to compare."""
    return render(
        request,
        "audit/events.html",
        {
            "events": services.events_about(request.user).order_by("-id")[:200],
            "head": services.latest_head(),
        },
    )
