import mimetypes
import re

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.delivery import push
from outtake.delivery.services import (
    DeliveryError,
    acknowledge_removals,
    deliveries_for,
    delivery_for_token,
    download_token,
    file_links,
    package_file,
)
from outtake.storage import get_store

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def download(request, token: str, filename: str):
    """Serve one file of a package (a shard, the index, a document) from an expiring link,
    with HTTP Range so downloads resume."""
    try:
        delivery = delivery_for_token(token)
        blob_key, size, etag = package_file(delivery, filename)
    except PermissionError as exc:
        return HttpResponse(str(exc), status=403, content_type="text/plain")
    except KeyError:
        return HttpResponse("no such file in this package", status=404, content_type="text/plain")
    start, end = 0, size - 1
    status = 200
    header = request.headers.get("Range", "")
    if header:
        match = RANGE_RE.match(header.strip())
        if not match or (not match[1] and not match[2]):
            return _unsatisfiable(size)
        if match[1]:
            start = int(match[1])
            end = min(int(match[2]), size - 1) if match[2] else size - 1
        else:  # a suffix range: the last N bytes
            start = max(size - int(match[2]), 0)
        if start > end or start >= size:
            return _unsatisfiable(size)
        status = 206
    body = get_store().iter_range(blob_key, start, end + 1)
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = StreamingHttpResponse(body, status=status, content_type=kind)
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'attachment; filename="{filename.rsplit("/", 1)[-1]}"'
    response["ETag"] = f'"{etag}"'
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


def _unsatisfiable(size: int) -> HttpResponse:
    response = HttpResponse("range not satisfiable", status=416, content_type="text/plain")
    response["Content-Range"] = f"bytes */{size}"
    return response


@require_POST
@role_required(User.Role.BUYER)
def download_link(request: HttpRequest, delivery_id) -> HttpResponse:
    """Fresh expiring links for the buyer's package: the file list, or the one file of a
    package built before shards."""
    delivery = get_object_or_404(deliveries_for(request.user), pk=delivery_id)
    token, expires = download_token(request.user, delivery)
    if not delivery.files:
        return redirect("download", token=token, filename=delivery.filename)
    links = file_links(token, delivery)
    return render(
        request, "delivery/files.html", {"delivery": delivery, "links": links, "expires": expires}
    )


@role_required(User.Role.BUYER)
def push_page(request: HttpRequest, delivery_id) -> HttpResponse:
    """Push this version into the lab's own bucket; the pushes so far, resumable or not."""
    delivery = get_object_or_404(deliveries_for(request.user), pk=delivery_id)
    error, form = "", {"region": "us-east-1"}
    if request.method == "POST":
        action = request.POST.get("action", "push")
        fields = ("bucket", "prefix", "endpoint", "region", "access_key_id", "secret_access_key")
        form = {f: request.POST.get(f, "") for f in fields}
        try:
            if action == "push":
                push.start_push(request.user, delivery, **form)
            else:
                target = get_object_or_404(
                    push.pushes_for(request.user),
                    pk=request.POST.get("push", ""),
                    delivery=delivery,
                )
                if action == "resume":
                    keys = {f: form[f] for f in ("access_key_id", "secret_access_key")}
                    push.resume_push(request.user, target, **keys)
                elif action == "cancel":
                    push.cancel_push(request.user, target)
            return redirect("delivery-push", delivery_id=delivery.id)
        except push.PushError as exc:
            error = str(exc)
        form.pop("secret_access_key", None)  # never sent back to the browser
    pushes = push.pushes_for(request.user).filter(delivery=delivery)
    return render(
        request,
        "delivery/push.html",
        {
            "delivery": delivery,
            "pushes": pushes,
            "error": error,
            "form": form,
            "keep_hours": settings.OUTTAKE_PUSH_KEEP_CREDENTIALS_HOURS,
        },
        status=400 if error else 200,
    )


@require_POST
@role_required(User.Role.BUYER)
def acknowledge(request: HttpRequest, delivery_id) -> HttpResponse:
    """The buyer confirms it deleted the samples a version's removals.json lists."""
    delivery = get_object_or_404(deliveries_for(request.user), pk=delivery_id)
    try:
        acknowledge_removals(request.user, delivery)
    except (PermissionError, DeliveryError) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Recorded: you deleted the removed samples.")
    return redirect("license", license_id=delivery.license_id)
