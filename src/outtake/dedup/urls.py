from django.urls import path

from outtake.dedup import views

urlpatterns = [
    path("review/duplicates/", views.queue, name="dedup-queue"),
    path("review/duplicates/<int:hold_id>/", views.decide, name="dedup-decide"),
    path("hash-lists/", views.hash_lists, name="hash-lists"),
]
