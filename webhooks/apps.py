from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Downstream systems"

    def ready(self):
        from webhooks.receivers import connect

        connect()
