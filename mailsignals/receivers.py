from mailsignals.services import mail_signal_apply


def tracking_received(sender, event, esp_name, **kwargs) -> None:
    """anymail.signals.tracking: one normalised event from the provider's webhook."""
    mail_signal_apply(esp=esp_name, event=event)
