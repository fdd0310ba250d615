"""One command for the cases of issue 13: mtlsgen beside its baseline, whole commands, runs interleaved.

    python benchmarks/run.py                  # every case; scaling rows N = 10, 100, 1000
    python benchmarks/run.py --big            # adds the N = 10,000 row (one run each; minutes)
    python benchmarks/run.py --only startup seed --rounds 7

Every cell is a whole process (interpreter start included): median and min–max of --rounds runs,
mtlsgen and its baseline alternating run by run, so that load from other users of a shared machine
hits both alike (ratios are what counts); CPU is the median user + system time. Peak RSS is
mtlsgen's own (wait4). Baselines:
- start-up: `python -c pass`;
- the seed's openssl + keytool commands (seed_commands.sh), as written and with ECDSA keys;
- cfssl (Debian's golang-cfssl, cfssl_commands.sh): `gencert -initca`, then one `gencert` a leaf;
- the in-process floor: the same keys and certificates made with cryptography in one process, no files.
cfssl, openssl and keytool are installed with apt-get when missing.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import shutil
import sys
import tempfile
from datetime import date
from pathlib import Path

from baselines import CFSSL, SEED, cfssl_version, emptied, install_missing
from cases import SEED_SPEC, floor, p12_spec, pem_spec
from measure import Command, cell, cpu, interleaved, ratio, rss

MTLSGEN = str(Path(sys.executable).with_name("mtlsgen"))
ROOT = Path(__file__).resolve().parent.parent
CASES = ("startup", "seed", "ecdsa", "noop-p12", "scale")


def row(case: str, mine: Command, base_name: str = "", base: Command | None = None,
        floor_run: Command | None = None, target: str = "") -> None:
    print(f"| {case} | {cell(mine)} | {cpu(mine)} | {base_name} | {cell(base)} | {cpu(base)} | "
          f"{ratio(mine, base)} | {cell(floor_run)} | {rss(mine)} | {target} |", flush=True)


def spec_folder(tmp: Path, name: str, text: str) -> tuple[Path, list[str]]:
    folder = emptied(tmp / name)
    (folder / "pki.yaml").write_text(text)
    return folder, [MTLSGEN, "apply", str(folder / "pki.yaml")]


def first_apply(folder: Path, apply: list[str]) -> Command:
    return Command(apply, prepare=lambda: shutil.rmtree(folder / "certs", ignore_errors=True))


def startup(rounds: int) -> None:
    bare = Command([sys.executable, "-c", "pass"])
    version = Command([MTLSGEN, "--version"])
    validate = Command([MTLSGEN, "validate", str(ROOT / "examples" / "pki.yaml")])
    interleaved(rounds, bare, version, validate)
    row("`mtlsgen --version`", version, "`python -c pass`", bare)
    row("`mtlsgen validate examples/pki.yaml`", validate, "`python -c pass`", bare, target="≤ 0.15 s")


def seed(tmp: Path, rounds: int) -> None:
    folder, apply = spec_folder(tmp, "seed", SEED_SPEC)
    mine = first_apply(folder, apply)
    base = Command(["bash", str(SEED), "seed"], cwd=tmp / "seed-sh", prepare=lambda: emptied(tmp / "seed-sh"))
    interleaved(rounds, mine, base)
    row("the seed's PKI (RSA-4096 root, server, 1 client; p12 + JKS + truststore), first apply", mine,
        "seed openssl + keytool commands", base, target="≥ 5× faster")
    noop = Command(apply)
    interleaved(rounds, noop)
    row("the seed's PKI, no-op apply", noop, "(the seed's commands cannot be re-run)")


def ecdsa(tmp: Path, rounds: int, clients: int = 100) -> None:
    folder, apply = spec_folder(tmp, "ecdsa", p12_spec(clients))
    mine = first_apply(folder, apply)
    base = Command(["bash", str(SEED), "ecdsa", str(clients)], cwd=tmp / "ecdsa-sh",
                   prepare=lambda: emptied(tmp / "ecdsa-sh"))
    interleaved(rounds, mine, base)
    row(f"1 server + {clients} ECDSA clients, PEM + PKCS#12, first apply", mine,
        "the seed's commands with ECDSA keys", base, target="≥ 6× faster")


def noop_p12(tmp: Path, rounds: int, clients: int = 1000) -> None:
    folder, apply = spec_folder(tmp, "noop-p12", p12_spec(clients))
    first = Command(apply)
    interleaved(1, first)
    row(f"1 server + {clients} ECDSA clients, PEM + PKCS#12, first apply", first)
    noop = Command(apply)
    # The baseline: the same no-op without the store cache (what every run cost before it: each store
    # decrypted), the cache deleted before each run.
    cache = folder / "certs" / ".mtlsgen-stores.json"
    uncached = Command(apply, prepare=lambda: cache.unlink(missing_ok=True))
    interleaved(rounds, noop, uncached)
    row(f"no-op apply, 1 server + {clients} ECDSA clients, PEM + PKCS#12", noop, "the same without the store cache",
        uncached, target="≤ 1.0 s")
    shutil.rmtree(folder)


def scale(tmp: Path, rounds: int, sizes: list[int]) -> None:
    floor(0)  # cryptography's import, paid once outside the timings
    for n in sizes:
        big = n >= 10_000  # minutes a run: one run each, and no cfssl (one process a leaf: ~3 min more)
        folder, apply = spec_folder(tmp, f"pem-{n}", pem_spec(n))
        mine = first_apply(folder, apply)
        base = None if big else Command(["bash", str(CFSSL), str(n)], cwd=tmp / "cfssl",
                                        prepare=lambda: emptied(tmp / "cfssl"))
        floor_run = Command(call=lambda n=n: floor(n))  # type: ignore[misc]
        interleaved(1 if big else rounds, *[c for c in (mine, base, floor_run) if c is not None])
        target = "≥ 5× faster than cfssl, ≤ 3× the floor" if n == 1000 else "first ≤ 15 s" if big else ""
        row(f"1 server + {n:,} ECDSA clients, PEM only, first apply", mine,
            "" if big else f"cfssl {cfssl_version()}", base, floor_run, target)
        noop = Command(apply)
        interleaved(1 if big else rounds, noop)
        target = "≤ 0.5 s" if n == 1000 else "≤ 3 s" if big else ""
        row(f"1 server + {n:,} ECDSA clients, PEM only, no-op apply", noop, target=target)
        shutil.rmtree(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="runs per cell (default 5)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[10, 100, 1000], help="scaling rows' N")
    parser.add_argument("--big", action="store_true", help="add the N = 10,000 scaling row (minutes)")
    parser.add_argument("--only", nargs="*", choices=CASES, default=list(CASES))
    args = parser.parse_args()
    install_missing()
    # Bytecode as an installed wheel has it: with PYTHONDONTWRITEBYTECODE set (as on CI machines) an
    # editable install would recompile every mtlsgen module in every timed run (~50-80 ms each).
    compileall.compile_dir(str(ROOT / "mtlsgen"), quiet=1)
    sizes = [*args.sizes, *([10_000] if args.big else [])]
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{date.today()}: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
          f"{args.rounds} runs per cell, interleaved\n")
    print("| case | mtlsgen, median (min–max) | CPU | baseline | baseline, median (min–max) | CPU | ratio | "
          "in-process floor | mtlsgen peak RSS | target |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="mtlsgen-bench-") as name:
        tmp = Path(name)
        if "startup" in args.only:
            startup(args.rounds)
        if "seed" in args.only:
            seed(tmp, args.rounds)
        if "ecdsa" in args.only:
            ecdsa(tmp, args.rounds)
        if "noop-p12" in args.only:
            noop_p12(tmp, args.rounds)
        if "scale" in args.only:
            scale(tmp, args.rounds, sizes)


if __name__ == "__main__":
    main()
