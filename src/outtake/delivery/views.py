import mimetypes

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST, require_safe

from outtake.accounts.models import User
from outtake.accounts.views import role_required
from outtake.delivery import push
from outtake.delivery.ranges import Unsatisfiable, byte_range, if_range_allows
from outtake.delivery.services import (
    DeliveryError,
    acknowledge_removals,
    deliveries_for,
    delivery_for_token,
    download_links,
    package_file,
)
from outtake.storage import get_store


@require_safe
def download(request, token: str, filename: str):
    """Serve one file of a package (a shard, the index, a document) from its expiring link,
    with HTTP Range (and If-Range) so downloads resume."""
    try:
        delivery = delivery_for_token(token, filename)
        blob_key, size, sha256 = package_file(delivery, filename)
    except PermissionError as exc:
        return HttpResponse(str(exc), status=403, content_type="text/plain")
    except KeyError:
        return HttpResponse("no such file in this package", status=404, content_type="text/plain")
    etag = f'"{sha256}"'
    span = None
    if "Range" in request.headers and if_range_allows(request.headers.get("If-Range"), etag):
        try:
            span = byte_range(request.headers["Range"], size)
        except Unsatisfiable:
            response = HttpResponse("range not satisfiable", status=416, content_type="text/plain")
            response["Content-Range"] = f"bytes */{size}"
            return response
    start, end = span or (0, size - 1)
    body = get_store().iter_range(blob_key, start, end + 1) if size else iter(())
    kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = StreamingHttpResponse(body, status=206 if span else 200, content_type=kind)
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'attachment; filename="{filename.rsplit("/", 1)[-1]}"'
    response["ETag"] = etag
    if span:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    return response


@require_POST
@role_required(User.Role.BUYER)
def download_link(request: HttpRequest, delivery_id) -> HttpResponse:
    """Fresh expiring links for the buyer's package: the file list, or the one file of a
    package built before shards."""
    delivery = get_object_or_404(deliveries_for(request.user), pk=delivery_id)
    links, expires = download_links(request.user, delivery)
    if not delivery.files:
        return redirect(links[0]["url"])
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
