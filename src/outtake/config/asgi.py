"""One ASGI app: tus uploads at /uploads/, static files, and Django for everything else."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outtake.config.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Mount  # noqa: E402
from starlette.staticfiles import StaticFiles  # noqa: E402

from outtake.catalog.upload_endpoint import tus_app  # noqa: E402

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
