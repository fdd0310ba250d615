"""The JDK HTTPS server the interop tests run (tests/interop/java/MtlsServer.java, client auth: need)."""

from __future__ import annotations

import selectors
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

JAVA_SOURCE = Path(__file__).resolve().parents[1] / "interop" / "java" / "MtlsServer.java"
FAST_JVM = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")  # start-up flags only


def compile_server(out: Path) -> Path:
    """MtlsServer compiled into `out`, which is returned (the class path)."""
    result = subprocess.run(["javac", "-d", str(out), str(JAVA_SOURCE)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return out


@contextmanager
def java_server(classes: Path, entry: Path, ext: str, log: Path) -> Iterator[int]:
    """MtlsServer on the entry's keystore.<ext> and truststore.<ext> (ext: jks or p12); yields its port,
    kills it after. Its stderr goes to `log`, quoted when it prints no port."""
    store_type = {"jks": "JKS", "p12": "PKCS12"}[ext]
    args = [str(entry / f"keystore.{ext}"), store_type, f"@{entry / 'keystore.password'}",
            str(entry / f"truststore.{ext}"), store_type, f"@{entry / 'truststore.password'}"]
    with log.open("w") as stderr:
        process = subprocess.Popen(["java", *FAST_JVM, "-cp", str(classes), "MtlsServer", *args],
                                   stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            ready = selector.select(timeout=30)
        line = process.stdout.readline() if ready else ""
        assert line.strip().isdigit(), f"no port from MtlsServer: {line!r} {log.read_text()}"
        yield int(line)
    finally:
        process.kill()
        process.wait(timeout=10)
