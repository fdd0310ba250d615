"""One TLS connection on 127.0.0.1 between two ssl contexts, and what each side saw: verify's tool.

The server runs in a thread; the connection succeeds when the client reads the server's greeting.
A refusal only counts when the *server* refused (the client's own check of the server is another
matter), which `Outcome.refused_by_server` tells apart.
"""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path

HANDSHAKE_TIMEOUT = 10.0


@dataclass(frozen=True)
class Outcome:
    """How one loopback connection went, from each side."""

    server_error: str = ""
    client_error: str = ""
    client_rejected_server: bool = False  # the client's own check of the server failed

    @property
    def ok(self) -> bool:
        return not (self.server_error or self.client_error)

    @property
    def detail(self) -> str:
        # The side that gave up first says why; the other only saw an alert.
        if self.client_rejected_server or not self.server_error:
            return f"client: {self.client_error}"
        return f"server: {self.server_error}"

    @property
    def refused_by_server(self) -> bool:
        return bool(self.server_error) and not self.client_rejected_server


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "verify_message", None) or getattr(exc, "reason", None) or exc)


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, server_name: str) -> Outcome:
    """One TLS connection on loopback; it succeeds when the client reads the server's greeting."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(HANDSHAKE_TIMEOUT)
    port = listener.getsockname()[1]
    server_error: list[str] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(HANDSHAKE_TIMEOUT)
            with server.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")
        except (ssl.SSLError, OSError) as exc:
            server_error.append(_reason(exc))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_error, rejected = "", False
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=HANDSHAKE_TIMEOUT) as raw, \
                client.wrap_socket(raw, server_hostname=server_name) as tls:
            if tls.recv(2) != b"ok":
                client_error = "the server closed the connection"
    except ssl.SSLCertVerificationError as exc:
        client_error, rejected = _reason(exc), True
    except (ssl.SSLError, OSError) as exc:
        client_error = _reason(exc)
    finally:
        thread.join(HANDSHAKE_TIMEOUT)
        listener.close()
    return Outcome(server_error[0] if server_error else "", client_error, rejected)


def context(side: ssl._SSLMethod, trusted: bytes, cert: Path | None, key: Path | None,
             password: str | None) -> ssl.SSLContext:
    context = ssl.SSLContext(side)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=trusted.decode())
    if cert is not None:
        context.load_cert_chain(cert, key, password=password)
    return context


def with_crls(server: ssl.SSLContext, crl_file: Path) -> ssl.SSLContext:
    """The server context checking every CA of a client's chain against the CRLs in `crl_file`, as
    nginx `ssl_crl` and Tomcat `certificateRevocationListFile` do."""
    server.load_verify_locations(cafile=crl_file)
    server.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    return server
