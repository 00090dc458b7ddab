from django.urls import path

from outtake.catalog import views

urlpatterns = [
    path("thumbs/<uuid:asset_id>.jpg", views.thumbnail, name="thumbnail"),
    path("sheets/<uuid:asset_id>.jpg", views.contact_sheet, name="contact-sheet"),
    path("previews/<uuid:clip_id>.webp", views.clip_preview, name="clip-preview"),
    path("footage/", views.footage, name="footage"),
    path("footage/assets/", views.footage_assets, name="footage-assets"),
    path("assets/<uuid:asset_id>/", views.asset_detail, name="asset"),
    path("assets/<uuid:asset_id>/tags/", views.asset_tags, name="asset-tags"),
    path("catalogue/", views.catalogue, name="catalogue"),
]
