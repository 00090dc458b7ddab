from django.urls import path

from outtake.rights import views

urlpatterns = [
    path("terms/", views.terms, name="terms"),
    path("assets/<uuid:asset_id>/terms/", views.asset_terms, name="asset-terms"),
]
