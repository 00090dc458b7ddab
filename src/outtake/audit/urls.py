from django.urls import path

from outtake.audit import views

urlpatterns = [path("audit/", views.events, name="audit")]
