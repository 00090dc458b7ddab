from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from outtake.accounts.models import User
from outtake.accounts.views import is_htmx, role_required
from outtake.notices import services, webhooks

INBOX_SIZE = 200


def _inbox(request: HttpRequest) -> dict:
    return {
        "notices": services.inbox(request.user)[:INBOX_SIZE],
        "unread": services.inbox(request.user, unread_only=True).count(),
    }


@role_required(*User.Role.values)
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "notices/inbox.html", _inbox(request))


@require_POST
@role_required(*User.Role.values)
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark one notice (`id`) or all of them read."""
    raw = request.POST.getlist("id")
    ids = [int(i) for i in raw if i.isdigit()] if raw else None
    services.mark_read(request.user, ids)
    if is_htmx(request):
        return render(request, "notices/inbox_list.html", {**_inbox(request), "oob": True})
    return redirect("inbox")


@role_required(User.Role.CREATOR, User.Role.BUYER)
def webhook_list(request: HttpRequest) -> HttpResponse:
    """The organisation's endpoints: add one (its secret shown once), test, switch on, remove."""
    created = None
    if request.method == "POST":
        action, endpoint_id = request.POST.get("action", ""), request.POST.get("id", "")
        if action == "add":
            kinds = request.POST.get("kinds", "").replace(",", " ").split()
            created = webhooks.add(request.user, request.POST.get("url", ""), kinds)
        elif endpoint_id.isdigit() and action in ("remove", "test", "enable"):
            {"remove": webhooks.remove, "test": webhooks.send_test, "enable": webhooks.enable}[
                action
            ](request.user, int(endpoint_id))
        if created is None:
            return redirect("webhooks")
    endpoints = list(webhooks.endpoints(request.user))
    for endpoint in endpoints:
        endpoint.recent = list(endpoint.deliveries.all()[:5])
    return render(request, "notices/webhooks.html", {"endpoints": endpoints, "created": created})
