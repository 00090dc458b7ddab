from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "outtake.market"
    label = "market"
