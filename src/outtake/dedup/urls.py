from django.urls import path

from outtake.dedup import views

urlpatterns = [
    path("review/duplicates/", views.queue, name="dedup-queue"),
    path("review/duplicates/<int:hold_id>/", views.decide, name="dedup-decide"),
    path(
        "review/duplicates/<int:hold_id>/frames/<int:n>-<str:side>.jpg",
        views.hold_frame,
        name="dedup-hold-frame",
    ),
    path("hash-lists/", views.hash_lists, name="hash-lists"),
]
