from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "outtake.rights"
    label = "rights"
