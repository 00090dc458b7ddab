from django.urls import path

from outtake.delivery import views

urlpatterns = [
    path("download/<str:token>/<path:filename>", views.download, name="download"),
    path("deliveries/<uuid:delivery_id>/download/", views.download_link, name="delivery-download"),
    path("deliveries/<uuid:delivery_id>/push/", views.push_page, name="delivery-push"),
    path(
        "deliveries/<uuid:delivery_id>/acknowledge/",
        views.acknowledge,
        name="delivery-acknowledge",
    ),
]
