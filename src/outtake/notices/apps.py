from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "outtake.notices"
    label = "notices"
