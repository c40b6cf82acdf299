from django.apps import AppConfig


class TreatmentsConfig(AppConfig):
    name = "mesoclinic.treatments"
    label = "treatments"
    verbose_name = "Treatments"

    def ready(self) -> None:
        # A malformed CHARTING_LIMITS must stop the start-up with its reason, not surface
        # later as an error page in the middle of charting.
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        from mesoclinic.treatments.limits import load_overrides

        if settings.CHARTING_LIMITS:
            try:
                load_overrides(settings.CHARTING_LIMITS)
            except ValueError as error:
                raise ImproperlyConfigured(f"CHARTING_LIMITS: {error}") from error
