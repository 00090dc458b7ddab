from django.urls import path

from outtake.notices import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/read/", views.mark_read, name="inbox-read"),
    path("inbox/webhooks/", views.webhook_list, name="webhooks"),
]
