from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "outtake.ledger"
    label = "ledger"
