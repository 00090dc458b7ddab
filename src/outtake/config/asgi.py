"""One ASGI app: tus uploads at /uploads/, static files, and Django for everything else."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outtake.config.settings")

import django

django.setup()

from asgiref.sync import sync_to_async  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.staticfiles import StaticFiles  # noqa: E402

from outtake.accounts.models import User  # noqa: E402
from outtake.accounts.services import user_for_token  # noqa: E402
from outtake.catalog.services import register_upload  # noqa: E402
from outtake.uploads.tus import TusApp, Upload  # noqa: E402


async def _authenticate(token: str) -> str | None:
    user = await sync_to_async(user_for_token)(token, "upload")
    if user is None or not (user.is_creator or user.is_reviewer):
        return None
    return str(user.pk)


def _register(upload: Upload) -> None:
    user = User.objects.get(pk=int(upload.owner))
    register_upload(
        user,
        Path(upload.data_path),
        upload.metadata.get("filename", "upload"),
        upload.metadata.get("sha256", ""),
    )


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


static = StaticFiles(
    directory=settings.STATICFILES_DIRS[0],
    packages=[("django.contrib.admin", "static"), ("ninja", "static")],
)

application = Starlette(
    routes=[
        Mount("/uploads", app=tus_app()),
        Mount("/static", app=static),
        Mount("/", app=get_asgi_application()),
    ]
)
