from django.urls import path

from outtake.market import views

urlpatterns = [
    path("requests/", views.request_list, name="requests"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<uuid:request_id>/quote/", views.requote, name="requote"),
    path("quotes/<uuid:quote_id>/", views.quote_detail, name="quote"),
    path("quotes/<uuid:quote_id>/accept/", views.quote_accept, name="quote-accept"),
    path("licenses/", views.license_list, name="licenses"),
    path("licenses/<uuid:license_id>/", views.license_detail, name="license"),
    path("licenses/<uuid:license_id>/package/", views.license_package, name="license-package"),
]
