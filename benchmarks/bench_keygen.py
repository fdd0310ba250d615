"""RSA key generation: one thread after another (baseline) vs the thread pool apply uses.

cryptography releases the GIL while it searches for primes, so threads should scale with cores.
Run: python benchmarks/bench_keygen.py [--keys 8] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
from concurrent.futures import ThreadPoolExecutor

from common import median_seconds, report

from mtlsgen.crypto.keys import generate_key


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--type", default="rsa-2048")
    args = parser.parse_args()
    workers = os.cpu_count() or 2

    def sequential() -> None:
        for _ in range(args.keys):
            generate_key(args.type)

    def threaded() -> None:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(generate_key, [args.type] * args.keys))

    rows = [("sequential (baseline)", median_seconds(sequential, args.rounds)),
            (f"thread pool, {workers} workers (mtlsgen apply)", median_seconds(threaded, args.rounds))]
    report(f"{args.keys} × {args.type} keys, median of {args.rounds} rounds, {workers} cores", rows,
           "sequential (baseline)")


if __name__ == "__main__":
    main()
