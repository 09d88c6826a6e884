"""Mail transport: SMTP when MAIL_SERVER is set, otherwise a folder of .eml files.

The folder backend lets a newcomer read exactly what would be sent without any mail server.
"""

from __future__ import annotations

import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_mailman.backends.base import BaseEmailBackend


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


def configure_mail(app: Flask) -> None:
    """Choose the transport from the configuration and bind Flask-Mailman."""
    from portal.extensions import mail

    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = (
            "smtp" if app.config.get("MAIL_SERVER") else "portal.mail.EmlFolderEmailBackend"
        )
    app.config.setdefault("MAIL_FILE_PATH", str(Path(app.instance_path) / "mail"))
    mail.init_app(app)
