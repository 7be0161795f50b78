from django.apps import AppConfig


class MailSignalsConfig(AppConfig):
    name = "mailsignals"
    verbose_name = "Mail signals"

    def ready(self):
        from anymail.signals import tracking

        from mailsignals.receivers import tracking_received

        tracking.connect(tracking_received, dispatch_uid="mailsignals.tracking_received")
