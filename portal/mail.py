"""Mail transport: SMTP when MAIL_SERVER is set, otherwise a folder of .eml files.

The folder backend lets a newcomer read exactly what would be sent without any mail server.
The outbox (a service) sends through `MailmanMailer`, its environment's mailer, and so never
imports Flask-Mailman itself.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import ssl
import threading
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from flask import Flask
from flask_mailman import EmailMultiAlternatives
from flask_mailman.backends.base import BaseEmailBackend
from flask_mailman.backends.smtp import EmailBackend as SmtpEmailBackend
from flask_mailman.utils import DNS_NAME

from portal.extensions import mail
from portal.services.environment import OutgoingEmail


class EmlFolderEmailBackend(BaseEmailBackend):
    """Writes each message to its own .eml file (open it in any mail program).

    Named ...EmailBackend because Flask-Mailman loads a dotted MAIL_BACKEND as a class only
    when the name ends so; anything else it takes for a module holding `EmailBackend`."""

    _lock = threading.Lock()

    def __init__(self, file_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from flask import current_app

        self.folder = Path(file_path or current_app.config["MAIL_FILE_PATH"])

    def send_messages(self, email_messages: list[Any]) -> int:
        """Write the messages; returns how many were written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        written = 0
        for message in email_messages:
            mime = message.message()
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
            ident = re.sub(r"[^A-Za-z0-9]+", "-", str(mime.get("Message-ID", "")))[:60].strip("-")
            with self._lock:
                path = self.folder / f"{stamp}-{ident or written}.eml"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(mime.as_bytes())
            written += 1
        return written


class VerifiedSmtpEmailBackend(SmtpEmailBackend):
    """Flask-Mailman's SMTP backend, except that STARTTLS checks the server's certificate and
    name, as MAIL_USE_SSL already does. Flask-Mailman upgrades with no SSL context, and
    smtplib then makes an unverified one: anyone on the way could read reset links.
    MAIL_SSL_CA_FILE names extra trusted certificates (an in-house mail server's)."""

    connection: smtplib.SMTP | None

    def __init__(self, *args: Any, ca_file: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ca_file = ca_file or None

    @cached_property
    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.ssl_certfile or self.ssl_keyfile:
            context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
        return context

    def open(self) -> bool | None:
        if self.connection or not self.use_tls or self.use_ssl:
            return bool(super().open())
        # STARTTLS: connect in plain text, upgrade with the verifying context, then log in.
        params: dict[str, Any] = {"local_hostname": DNS_NAME.get_fqdn()}
        if self.timeout is not None:
            params["timeout"] = self.timeout
        try:
            self.connection = smtplib.SMTP(self.host, self.port, **params)
            self.connection.starttls(context=self.ssl_context)
            if self.username and self.password:
                self.connection.login(self.username, self.password)
            return True
        except OSError:
            if self.connection is not None:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    self.connection.close()
                self.connection = None
            if not self.fail_silently:
                raise
            return None


class MailmanConnection:
    """An open Flask-Mailman connection that sends the outbox's emails."""

    def __init__(self, backend: BaseEmailBackend) -> None:
        self._backend = backend

    def send(self, email: OutgoingEmail) -> None:
        """Send one email (with its HTML part as an alternative, when it has one)."""
        message = EmailMultiAlternatives(
            subject=email.subject,
            body=email.text,
            from_email=email.from_address,
            to=[email.to_address],
            headers=dict(email.headers),
            connection=self._backend,
        )
        if email.html:
            message.attach_alternative(email.html, "text/html")
        message.send()

    def close(self) -> None:
        """Close the connection."""
        self._backend.close()


class MailmanMailer:
    """One app's mail transport, as its configuration says when a connection is opened."""

    def __init__(self, app: Flask) -> None:
        self._app = app

    def connect(self) -> MailmanConnection:
        """An open connection; raises when the mail server cannot be reached."""
        config = self._app.config
        if config["MAIL_BACKEND"] == "smtp":
            backend = mail.get_connection(
                backend="portal.mail.VerifiedSmtpEmailBackend",
                ca_file=config.get("MAIL_SSL_CA_FILE") or None,
                host=config["MAIL_SERVER"],
                port=config["MAIL_PORT"],
                username=config["MAIL_USERNAME"] or None,
                password=config["MAIL_PASSWORD"] or None,
                use_tls=config["MAIL_USE_TLS"],
                use_ssl=config["MAIL_USE_SSL"],
                timeout=config["MAIL_TIMEOUT"],
            )
        else:
            backend = mail.get_connection(backend=config["MAIL_BACKEND"])
        backend.open()
        return MailmanConnection(backend)


def configure_mail(app: Flask) -> None:
    """Choose the transport from the configuration and bind Flask-Mailman."""
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = (
            "smtp" if app.config.get("MAIL_SERVER") else "portal.mail.EmlFolderEmailBackend"
        )
    app.config.setdefault("MAIL_FILE_PATH", str(Path(app.instance_path) / "mail"))
    mail.init_app(app)
