from django.apps import AppConfig


class ProtocolsConfig(AppConfig):
    name = "mesoclinic.protocols"
    label = "protocols"
    verbose_name = "Protocols"
