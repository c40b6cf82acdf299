from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "mesoclinic.inventory"
    label = "inventory"
    verbose_name = "Inventory"
