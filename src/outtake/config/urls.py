from django.contrib import admin
from django.urls import include, path

from outtake.config.api import api

admin.site.site_header = "Outtake review"
admin.site.site_title = "Outtake review"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("outtake.accounts.urls")),
    path("", include("outtake.catalog.urls")),
    path("", include("outtake.rights.urls")),
    path("", include("outtake.market.urls")),
    path("", include("outtake.ledger.urls")),
    path("", include("outtake.delivery.urls")),
    path("", include("outtake.notices.urls")),
    path("", include("outtake.audit.urls")),
    path("", include("outtake.dedup.urls")),
]
