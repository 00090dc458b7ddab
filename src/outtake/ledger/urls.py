from django.urls import path

from outtake.ledger import views

urlpatterns = [
    path("earnings/", views.earnings, name="earnings"),
    path("earnings/statement/", views.statement_page, name="statement"),
    path("earnings/statements/<int:pk>.<str:fmt>", views.stored_statement, name="stored-statement"),
    path("earnings/tax/", views.tax_and_payouts, name="tax"),
    path("earnings/tax/<int:year>.csv", views.yearly_export, name="yearly-export"),
    path("invoices/<int:invoice_id>/pay-by-card/", views.pay_by_card, name="pay-by-card"),
    path("earnings/collections/", views.my_collections, name="my-collections"),
    path("collections/", views.collections, name="collections"),
    path("collections/<int:pk>/license/", views.license_collection, name="license-collection"),
    path("prices/", views.prices, name="prices"),
]
