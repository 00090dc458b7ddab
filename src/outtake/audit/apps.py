from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "outtake.audit"
    label = "audit"
