from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from outtake.accounts.views import role_required
from outtake.dedup import services
from outtake.dedup.forms import HashListForm
from outtake.dedup.models import DuplicateHold, HashList
from outtake.storage import get_store


@staff_member_required
def queue(request):
    """Pending holds, each upload beside the clip it matched, with the matching frames."""
    return render(request, "dedup/queue.html", {"holds": services.pending_holds()})


@staff_member_required
def hold_frame(request, hold_id: int, n: int, side: str):
    """A picture of a hold's n-th shown frame pair: the new upload's side or the existing."""
    hold = get_object_or_404(DuplicateHold, pk=hold_id)
    if side not in ("new", "old") or not 0 <= n < len(hold.frames):
        raise Http404("no such frame")
    response = HttpResponse(get_store().get_bytes(hold.frames[n][side]), "image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@staff_member_required
@require_POST
def decide(request, hold_id: int):
    hold = get_object_or_404(DuplicateHold, pk=hold_id)
    services.decide(hold, request.user, request.POST.get("decision", ""))
    return redirect("dedup-queue")


@role_required("buyer", "creator")
def hash_lists(request):
    """A lab's lists of what it already has, or a creator's of what they published."""
    purpose = HashList.Purpose.CORPUS if request.user.is_buyer else HashList.Purpose.PUBLISHED
    form = HashListForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = services.upload_list(
                request.user,
                form.cleaned_data["file"],
                kind=form.cleaned_data["kind"],
                purpose=purpose,
                name=form.cleaned_data["name"],
            )
        except services.DedupError as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"{made.name}: {made.matches.count()} clip(s) matched.")
            return redirect("hash-lists")
    lists = HashList.objects.filter(owner=request.user.organization, purpose=purpose)
    return render(
        request,
        "dedup/hash_lists.html",
        {"form": form, "purpose": purpose, "lists": lists.order_by("-created_at")},
    )
