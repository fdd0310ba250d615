"""One command for the cases of issue 13: mtlsgen beside its baseline, whole commands, ≥ 5 runs each.

    python benchmarks/run.py                 # N = 10, 100, 1000 and the 1,000-client cases
    python benchmarks/run.py --sizes 10 100 --rounds 5
    python benchmarks/run.py --sizes 10000   # the 10,000-client row (minutes)

Every timing is of a whole `mtlsgen` process (interpreter start included), median and min–max of
`--rounds` runs; peak RSS is the child's own (wait4). Baselines:
- no-op with stores: the same command with the store cache (`certs/.mtlsgen-stores.json`) deleted
  before each run (what every run cost before the cache: each store decrypted, and the cache rewritten);
- start-up: `python -c pass`;
- in-process floor: the same keys and certificates made with cryptography in one process, no files.
cfssl and the seed's openssl/keytool script are not run by this command yet (issue 13).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

MTLSGEN = str(Path(sys.executable).with_name("mtlsgen"))
ROOT = Path(__file__).resolve().parent.parent


def spec_text(clients: int, *, stores: bool) -> str:
    store = "    keystore: {formats: [pkcs12]}\n    truststore: {formats: [pkcs12]}\n" if stores else ""
    body = "".join(f"  client-{i:05d}:\n{store}" for i in range(clients)) or "  {}\n"
    return (f"version: 1\nca: {{key: ecdsa-p256}}\ndefaults: {{key: ecdsa-p256}}\nservers:\n  api:\n"
            f"    sans: [api.example.com]\n{store}clients:\n{body}")


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one command, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    return seconds, usage.ru_maxrss


def timed(rounds: int, once: Callable[[], tuple[float, int]],
          before: Callable[[], None] = lambda: None) -> tuple[list[float], int]:
    times, peak = [], 0
    for _ in range(rounds):
        before()
        seconds, rss = once()
        times.append(seconds)
        peak = max(peak, rss)
    return times, peak


def cell(times: list[float]) -> str:
    return f"{statistics.median(times):7.3f} s ({min(times):.3f}–{max(times):.3f})"


ROWS: list[str] = []


def row(case: str, mine: list[float], base: list[float] | None, base_name: str, extra: str = "") -> None:
    ratio = "–"
    if base:
        mine_s, base_s = statistics.median(mine), statistics.median(base)
        ratio = f"{base_s / mine_s:.1f}× faster" if mine_s <= base_s else f"{mine_s / base_s:.1f}× the baseline"
    line = f"| {case} | {cell(mine)} | {base_name} {cell(base) if base else ''} | {ratio} | {extra} |"
    ROWS.append(line)
    print(line, flush=True)


def floor(clients: int) -> float:
    """Seconds to make the same keys and certificates (ECDSA P-256) in this process, no files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    start = time.perf_counter()
    now = datetime.now(timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    for i in range(clients + 1):
        key = ec.generate_private_key(ec.SECP256R1())
        name = f"client-{i}"
        (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
         .issuer_name(ca.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now).not_valid_after(now + timedelta(days=90))
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"{name}.example.com")]), critical=False)
         .sign(ca_key, hashes.SHA256()))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-stores", action="store_true", help="skip the 1,000 clients with PKCS#12 case")
    args = parser.parse_args()
    rounds = args.rounds
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {rounds} runs per cell\n")
        print("| case | mtlsgen, median (min–max) | baseline, median (min–max) | ratio | peak RSS |")
        print("|---|---|---|---|---|")

        start_up, _ = timed(rounds, lambda: run([sys.executable, "-c", "pass"], env))
        version, _ = timed(rounds, lambda: run([MTLSGEN, "--version"], env))
        row("`mtlsgen --version`", version, start_up, "`python -c pass`")
        validate, _ = timed(rounds, lambda: run([MTLSGEN, "validate", str(ROOT / "examples" / "pki.yaml")], env))
        row("`mtlsgen validate examples/pki.yaml`", validate, start_up, "`python -c pass`")

        for n in args.sizes:
            folder = tmp / f"pem-{n}"
            folder.mkdir()
            (folder / "pki.yaml").write_text(spec_text(n, stores=False))
            apply = [MTLSGEN, "apply", str(folder / "pki.yaml")]
            first, rss_first = timed(rounds, lambda a=apply: run(a, env),  # type: ignore[misc]
                                     before=lambda f=folder: shutil.rmtree(f / "certs", ignore_errors=True))  # type: ignore[misc]
            floor_times = [floor(n) for _ in range(rounds)]
            row(f"first apply, 1 server + {n} ECDSA clients, PEM only", first, floor_times,
                "in-process floor", f"{rss_first / 1024:.0f} MB")
            noop, rss_noop = timed(rounds, lambda a=apply: run(a, env))  # type: ignore[misc]
            row(f"no-op apply, 1 server + {n} ECDSA clients, PEM only", noop, None, "", f"{rss_noop / 1024:.0f} MB")
            shutil.rmtree(folder)

        if not args.no_stores:
            folder = tmp / "p12-1000"
            folder.mkdir()
            (folder / "pki.yaml").write_text(spec_text(1000, stores=True))
            apply = [MTLSGEN, "apply", str(folder / "pki.yaml")]
            first_p12, rss = timed(1, lambda: run(apply, env))
            row("first apply, 1 server + 1000 ECDSA clients, PEM + PKCS#12 (1 run)", first_p12, None, "",
                f"{rss / 1024:.0f} MB")
            cached, rss_cached = timed(rounds, lambda: run(apply, env))

            def drop_cache() -> None:
                (folder / "certs" / ".mtlsgen-stores.json").unlink(missing_ok=True)

            uncached, _ = timed(rounds, lambda: run(apply, env), before=drop_cache)
            row("no-op apply, 1 server + 1000 ECDSA clients, PEM + PKCS#12", cached, uncached,
                "the same, store cache deleted", f"{rss_cached / 1024:.0f} MB")


if __name__ == "__main__":
    main()
