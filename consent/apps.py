from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from consent import checks  # noqa: F401  (registers the system checks)

        # Lists and journeys register what an officer may ask "is this contact eligible for?".
        autodiscover_modules("eligibility_targets")
        # Lists register their retention rules, requests what keeps a contact (consent.retention).
        autodiscover_modules("retention_rules")
