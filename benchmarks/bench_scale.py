"""Scale: a spec with many ECDSA clients. First apply (baseline: everything generated) vs a no-op
plan and a no-op apply, which read and parse every file but write nothing.
Run: python benchmarks/bench_scale.py [--entries 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from common import median_seconds, report

import mtlsgen


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stores", action="store_true", help="give every client a PKCS#12 keystore")
    args = parser.parse_args()
    store = "    keystore: {formats: [pkcs12], password: {generate: true}}\n" if args.stores else ""
    clients = "".join(f"  client-{i:05d}:\n    validity: 90d\n{store}" for i in range(args.entries))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pki.yaml"
        path.write_text(f"version: 1\nca: {{key: ecdsa-p256}}\nservers:\n  api:\n    sans: [api.example.com]\n"
                        f"clients:\n{clients}")
        spec = mtlsgen.load_spec(path)

        def first() -> None:
            shutil.rmtree(spec.output, ignore_errors=True)
            mtlsgen.apply(spec)

        rows = [("first apply (baseline)", median_seconds(first, args.rounds)),
                ("no-op plan", median_seconds(lambda: mtlsgen.plan(spec), args.rounds)),
                ("no-op apply", median_seconds(lambda: mtlsgen.apply(spec), args.rounds)),
                ("load_spec", median_seconds(lambda: mtlsgen.load_spec(path), args.rounds))]
    report(f"{args.entries + 1} leaves{' with PKCS#12 keystores' if args.stores else ''}, "
           f"median of {args.rounds} rounds", rows, "first apply (baseline)")


if __name__ == "__main__":
    main()
