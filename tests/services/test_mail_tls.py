"""The mail server's certificate is checked when the portal upgrades to TLS (MAIL_USE_TLS):
an unverified STARTTLS would hand reset links to anyone on the way (ASVS 5.0 V12.3.2)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal.mail import MailmanMailer
from portal.services.environment import OutgoingEmail
from tests.conftest import SmtpSink, _free_port
from tests.helpers import require


class TlsSink(SmtpSink):
    """A sink that also notes whether each message came over TLS."""

    def __init__(self) -> None:
        super().__init__()
        self.over_tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.over_tls.append(session.ssl is not None)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, as an in-house mail server might have."""
    require(shutil.which("openssl") is not None, "openssl is needed to make a certificate")
    cert, key = tmp_path / "mail.pem", tmp_path / "mail.key"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def starttls_server(app: Flask, certificate: tuple[Path, Path]) -> Iterator[TlsSink]:
    """An SMTP server on loopback that offers STARTTLS with that certificate."""
    from aiosmtpd.controller import Controller

    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*certificate)
    sink = TlsSink()
    port = _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port, tls_context=server_context)
    controller.start()
    keys = ("MAIL_BACKEND", "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_SSL_CA_FILE")
    saved = {key: app.config.get(key) for key in keys}
    app.config.update(
        MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=True
    )
    try:
        yield sink
    finally:
        controller.stop()
        app.config.update(saved)


def _send(app: Flask) -> None:
    connection = MailmanMailer(app).connect()
    try:
        connection.send(
            OutgoingEmail(
                from_address="feedback@portal.localhost",
                to_address="nia@example.com",
                subject="Choose a new password",
                text="Your link: https://feedback.example.org/account/reset/token",
                html="",
                headers={},
            )
        )
    finally:
        connection.close()


def test_starttls_to_a_server_whose_certificate_nobody_vouches_for_is_refused(
    app: Flask, starttls_server: TlsSink
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        _send(app)
    assert starttls_server.messages == []


def test_starttls_to_a_server_trusted_by_mail_ssl_ca_file_is_sent_encrypted(
    app: Flask, starttls_server: TlsSink, certificate: tuple[Path, Path]
) -> None:
    app.config["MAIL_SSL_CA_FILE"] = str(certificate[0])
    _send(app)
    assert [m["Subject"] for m in starttls_server.messages] == ["Choose a new password"]
    assert starttls_server.over_tls == [True]
