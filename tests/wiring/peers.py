"""Real peers for the wiring tests: Tomcat 10 and nginx started from a snippet, a Python HTTPS server,
and snippets run by bash as printed. Every server listens on 127.0.0.1 on a free high port and is
stopped when its `with` block ends, whatever happened inside it."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOMCAT_HOME = Path("/usr/share/tomcat10")  # Debian's tomcat10-common
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
INDEX = "hello from the wiring test\n"
FAST_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s:\n{log.read_text(errors='replace')}")


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any *_PASSWORD variable: a snippet must set its own."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PASSWORD")}
    return {**env, **extra}


def run_shell(text: str, cwd: Path, timeout: float = 60, **env: str) -> subprocess.CompletedProcess[str]:
    """A snippet as printed, run by bash; any failing command fails it."""
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", text], cwd=cwd, env=clean_env(**env),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)


@contextmanager
def background(command: list[str], port: int, log: Path, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command` in its own process group, wait until `port` accepts, stop the group afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, process, log)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


def _export_lines(snippet: str) -> list[str]:
    """The `export VAR=…` lines a configuration snippet's header tells the user to run."""
    return [m.group(1) for m in re.finditer(r"^\s*(?:#\s*)?(export [A-Z0-9_]+=\"\$\(cat .*\)\")\s*$", snippet, re.M)]


@contextmanager
def tomcat(connector: str, base: Path, port: int) -> Iterator[None]:
    """Tomcat 10 with `connector` (the snippet, as printed) inside <Service>, started the way the
    snippet's comment says: its export lines run first, its -D line in CATALINA_OPTS."""
    for sub in ("conf", "logs", "temp", "work", "webapps/ROOT"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy(TOMCAT_HOME / "etc" / "web.xml", base / "conf" / "web.xml")
    (base / "webapps" / "ROOT" / "index.html").write_text(INDEX)
    (base / "conf" / "server.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Server port="-1" shutdown="SHUTDOWN">\n'
        '  <Service name="Catalina">\n' + connector +
        '    <Engine name="Catalina" defaultHost="localhost">\n'
        '      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>\n'
        "    </Engine>\n  </Service>\n</Server>\n")
    property_source = next(line.strip() for line in connector.splitlines() if line.strip().startswith("-D"))
    script = "\n".join([*_export_lines(connector), f"exec {TOMCAT_HOME}/bin/catalina.sh run"])
    env = clean_env(CATALINA_HOME=str(TOMCAT_HOME), CATALINA_BASE=str(base), CATALINA_PID=str(base / "pid"),
                    JAVA_OPTS=f"-Xmx128m {FAST_JVM}", CATALINA_OPTS=property_source)
    with background(["bash", "-c", script], port, base / "catalina.out", env=env):
        yield


@contextmanager
def nginx(server_block: str, prefix: Path, port: int) -> Iterator[None]:
    with background([NGINX, "-p", str(prefix), "-c", str(nginx_conf(server_block, prefix))], port,
                    prefix / "nginx.out"):
        yield


def nginx_conf(server_block: str, prefix: Path) -> Path:
    """A whole nginx.conf around the snippet: no daemon, no workers, every path under `prefix`."""
    (prefix / "html").mkdir(parents=True, exist_ok=True)
    (prefix / "html" / "index.html").write_text(INDEX)
    temp = {name: prefix / "temp" / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"daemon off;\nmaster_process off;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log info;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log {prefix}/access.log;\n  root {prefix}/html;\n"
        + "".join(f"  {name}_temp_path {path};\n" for name, path in temp.items())
        + server_block + "}\n")
    return conf


@dataclass(frozen=True)
class Response:
    exit_code: int
    status: str
    body: str
    error: str


def curl(url: str, *args: str | Path, cwd: Path | None = None) -> Response:
    result = subprocess.run(["curl", "-sS", "--max-time", "20", "-w", "\n%{http_code}", *map(str, args), url],
                            cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    body, _, status = result.stdout.rpartition("\n")
    return Response(result.returncode, status, body, result.stderr)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.connection, ssl.SSLSocket)
        peer = self.connection.getpeercert() or {}
        cn = next((v for rdn in peer.get("subject", ()) for k, v in rdn if k == "commonName"), "?")
        body = f"hello {cn}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read responses, not the server's access log on stderr."""


@contextmanager
def python_https_server(context: ssl.SSLContext) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 answering `hello <client CN>`; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
