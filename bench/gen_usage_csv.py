#!/usr/bin/python3
"""Writes a synthetic usage CSV for the streaming-ingest benchmark (not committed data):

    bench/gen_usage_csv.py ROWS OUT.csv

Columns namespace (200 values), team (20 values), pod (1,000,000 values), gpu_seconds
(an integer). Deterministic: the same ROWS give the same bytes.
"""
import sys

import numpy as np


def main() -> None:
    rows, out = int(sys.argv[1]), sys.argv[2]
    rng = np.random.default_rng(42)
    namespaces = np.array([f"ns-{i:03d}" for i in range(200)])
    teams = np.array([f"team-{i:02d}" for i in range(20)])
    block = 1_000_000
    with open(out, "w", encoding="ascii", newline="") as f:
        f.write("namespace,team,pod,gpu_seconds\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            ns = namespaces[rng.integers(0, 200, n)]
            team = teams[rng.integers(0, 20, n)]
            pod = rng.integers(0, 1_000_000, n)
            secs = rng.integers(0, 86_400, n)
            lines = [f"{a},{b},pod-{c},{d}\n" for a, b, c, d in zip(ns.tolist(), team.tolist(), pod.tolist(), secs.tolist())]
            f.write("".join(lines))


if __name__ == "__main__":
    main()
