"""The tus endpoint wired to Outtake: token check on the way in, an asset on completion."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings

from outtake.accounts.models import User
from outtake.accounts.services import attest_upload, user_for_token
from outtake.catalog.services import register_upload
from outtake.rights.sellability import require_current_agreement
from outtake.uploads.tus import TusApp, Upload


async def _authenticate(token: str) -> str | None:
    user = await sync_to_async(user_for_token)(token, "upload")
    if user is None or not (user.is_creator or user.is_reviewer):
        return None
    await sync_to_async(require_current_agreement)(user)  # a 403 saying what to do
    return str(user.pk)


def _register(upload: Upload) -> None:
    user = User.objects.get(pk=int(upload.owner))
    asset = register_upload(
        user,
        Path(upload.data_path),
        upload.metadata.get("filename", "upload"),
        upload.metadata.get("sha256", ""),
        upload_id=upload.id,
        sidecar=upload.metadata.get("sidecar", ""),
    )
    if upload.metadata.get("attest") == "1":
        attest_upload(user, asset)


async def _on_complete(upload: Upload) -> None:
    await sync_to_async(_register, thread_sensitive=True)(upload)


@cache
def tus_app() -> TusApp:
    return TusApp(
        Path(settings.OUTTAKE_UPLOAD_DIR),
        authenticate=_authenticate,
        on_complete=_on_complete,
        max_size=settings.OUTTAKE_MAX_UPLOAD_BYTES,
        expire_after_s=settings.OUTTAKE_UPLOAD_EXPIRE_S,
    )
