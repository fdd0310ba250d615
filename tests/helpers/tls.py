"""A real TLS connection on 127.0.0.1 between two ssl contexts, for the tests that need one."""

from __future__ import annotations

import socket
import ssl
import threading
from dataclasses import dataclass


@dataclass
class Handshake:
    server_error: str | None = None
    client_error: str | None = None
    client_cn: str | None = None
    received: bytes = b""


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str = "localhost") -> Handshake:
    """One real TLS connection on 127.0.0.1; the server reads the client's certificate and says hello."""
    out = Handshake()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(15)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError as exc:
            out.server_error = f"accept: {exc}"
            return
        with conn:
            try:
                with server.wrap_socket(conn, server_side=True) as tls:
                    peer = tls.getpeercert() or {}
                    out.client_cn = next((v for rdn in peer.get("subject", ()) for k, v in rdn
                                          if k == "commonName"), None)
                    tls.sendall(b"hello")
            except (ssl.SSLError, OSError) as exc:
                out.server_error = str(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as raw, \
                client.wrap_socket(raw, server_hostname=server_hostname) as tls:
            out.received = tls.recv(5)
    except (ssl.SSLError, OSError) as exc:
        out.client_error = str(exc)
    finally:
        thread.join(15)
        listener.close()
    return out
