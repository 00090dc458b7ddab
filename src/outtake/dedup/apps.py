from django.apps import AppConfig


class DedupConfig(AppConfig):
    name = "outtake.dedup"
    label = "dedup"
