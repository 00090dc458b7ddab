from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "outtake.delivery"
    label = "delivery"
