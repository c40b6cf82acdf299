from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "mesoclinic.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from mesoclinic.accounts import signals  # noqa: F401
