from mailsignals.services import mail_signal_apply, tracking_event_apply


def tracking_received(sender, event, esp_name, **kwargs) -> None:
    """anymail.signals.tracking: one normalised event from the provider's webhook (an open or a
    click, or a bounce, complaint or unsubscribe: each function acts only on its own kinds)."""
    tracking_event_apply(esp=esp_name, event=event)
    mail_signal_apply(esp=esp_name, event=event)
