from django.urls import path

from outtake.ledger import views

urlpatterns = [
    path("earnings/", views.earnings, name="earnings"),
]
