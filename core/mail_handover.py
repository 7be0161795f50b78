"""Handing one message to the mail server with a mark recorded at the last moment it can still be
withdrawn, so a sender killed at any point leaves a record that says which side of that moment it
died on (journeys.services.advance: an email step is sent exactly once).

Over SMTP the server takes responsibility for a message when it reads the end of its data (the
line with a single "."); a connection that drops before that line delivers nothing (RFC 5321
4.1.1.4). So the whole conversation (MAIL, RCPT, DATA and the message itself) runs before the
mark, and only the three bytes that end the data come after it: a sender killed before the mark
sent nothing (its claim may be taken over and the mail sent), one killed after it may have sent
(the step is never repeated). Other backends (a provider's API) offer no such point: the mark
comes before the call.
"""

from __future__ import annotations

import contextlib
import smtplib
from collections.abc import Callable

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.message import sanitize_address

END_OF_DATA = b".\r\n"


class MaybeDelivered(smtplib.SMTPException):
    """The conversation failed after the end of the data was written: the server may have the
    message (it may have answered 250 into a dead connection). Never retried as unsent."""


class MailSession:
    """One connection to the mail server shared by a batch of sends (connect, TLS and login once,
    not per email). Opened on first use; a conversation that failed is dropped, not reused."""

    def __init__(self):
        self.connection = None

    def __enter__(self) -> MailSession:
        return self

    def __exit__(self, *exc) -> None:
        self.drop()

    def open(self):
        if self.connection is None:
            connection = get_connection()
            connection.open()
            self.connection = connection
        return self.connection

    def send(self, message, *, hand_over: Callable[[], bool]) -> bool:
        """send_with_hand_over on this session's connection. A server that closed a connection
        kept open from an earlier send (idle timeout, a limit of messages per connection) is
        connected to again once: nothing of this message had been handed over."""
        reused = self.connection is not None
        try:
            return self._attempt(message, hand_over)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            if not reused:
                raise
        return self._attempt(message, hand_over)

    def _attempt(self, message, hand_over: Callable[[], bool]) -> bool:
        try:
            sent = send_with_hand_over(self.open(), message, hand_over=hand_over)
        except Exception:
            self.drop()  # a conversation that failed is not reused
            raise
        if not sent:
            self.drop()  # left unfinished on purpose
        return sent

    def drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            # A server already gone leaves nothing to close.
            with contextlib.suppress(smtplib.SMTPException, OSError):
                connection.close()


def send_with_hand_over(connection, message, *, hand_over: Callable[[], bool]) -> bool:
    """Send `message` on the open `connection`, calling hand_over() (which must commit its mark)
    at the last moment the message can still be withdrawn. False, with nothing delivered, if
    hand_over() returns False. Raises MaybeDelivered when the conversation fails after that
    moment; any other error means nothing was delivered."""
    if isinstance(connection, SMTPBackend) and connection.connection is not None:
        return _smtp(connection.connection, message, hand_over)
    if not hand_over():
        return False
    connection.send_messages([message])
    return True


def _smtp(smtp: smtplib.SMTP, email_message, hand_over: Callable[[], bool]) -> bool:
    # smtplib.SMTP.sendmail, with its data() split before the end-of-data line.
    encoding = email_message.encoding or settings.DEFAULT_CHARSET
    sender = sanitize_address(email_message.from_email, encoding)
    recipients = [sanitize_address(a, encoding) for a in email_message.recipients()]
    data = email_message.message().as_bytes(linesep="\r\n")
    smtp.ehlo_or_helo_if_needed()
    options = [f"size={len(data)}"] if smtp.does_esmtp and smtp.has_extn("size") else []
    code, reply = smtp.mail(sender, options)
    if code != 250:
        smtp.rset()
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    refused = {}
    for recipient in recipients:
        code, reply = smtp.rcpt(recipient)
        if code not in (250, 251):
            refused[recipient] = (code, reply)
    if len(refused) == len(recipients):
        smtp.rset()
        raise smtplib.SMTPRecipientsRefused(refused)
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    body = smtplib._quote_periods(data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    smtp.send(body)
    if not hand_over():
        # Without its end the server discards the message: the conversation is left unfinished.
        smtp.close()
        return False
    try:
        smtp.send(END_OF_DATA)
        code, reply = smtp.getreply()
    except (smtplib.SMTPException, OSError) as error:
        raise MaybeDelivered(str(error)) from error
    if code != 250:
        # The server read the end and refused the message: it will not deliver it.
        raise smtplib.SMTPDataError(code, reply)
    return True
