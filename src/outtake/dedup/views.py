from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from outtake.dedup import services
from outtake.dedup.models import DuplicateHold


@staff_member_required
def queue(request):
    """Pending holds, each upload beside the clip it matched, with the matching frames."""
    return render(request, "dedup/queue.html", {"holds": services.pending_holds()})


@staff_member_required
@require_POST
def decide(request, hold_id: int):
    hold = get_object_or_404(DuplicateHold, pk=hold_id)
    services.decide(hold, request.user, request.POST.get("decision", ""))
    return redirect("dedup-queue")
