"""HTTP to an address checked beforehand: the portal's calls on someone's say-so (webhooks,
chat rooms, identity providers' discovery and tokens, single sign-on's key sets) resolve the
name, check every address (portal/services/addresses.py), then connect to the checked one,
whatever the name resolves to a moment later (no DNS rebinding between check and use)."""

from __future__ import annotations

import http.client
import socket
import ssl


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to `address`, sending `host` as the Host header."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """The same over TLS: the certificate is still checked against the host name."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def connection(
    https: bool, host: str, port: int, address: str, timeout: float
) -> http.client.HTTPConnection:
    """A connection to the checked `address` for `host`, over TLS when `https`."""
    kind = PinnedHTTPSConnection if https else PinnedHTTPConnection
    return kind(host, port, address, timeout)
