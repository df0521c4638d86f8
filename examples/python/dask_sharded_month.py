#!/usr/bin/python3
"""A month of GPU usage attributed on Dask, one shard per day, exactly.

Each Dask worker process reads one day's usage CSV and reduces it to an
apportion.PartialAggregate: the exact sum of gpu_seconds per (namespace, team). The
aggregates travel back to the client as a few kilobytes each (they pickle), the client
merges them in whatever order they arrive and runs the month's allocation once, so the
single rounding happens once, at the end. The script then runs the same month in this one
process, and through the spec's `inputs` (the csv format with "aggregate": true), and
checks all three results are identical, byte for byte.

    PYTHONPATH=build/python /usr/bin/python3 examples/python/dask_sharded_month.py
        [--days 30] [--rows-per-day 200000] [--workers 2] [--workdir DIR]

Needs Debian's python3-distributed (Dask) besides the built apportion package; exits 77
(skipped) without it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

import apportion

NAMESPACES = [f"ns-{i:03d}" for i in range(200)]
TEAMS = [f"team-{i:02d}" for i in range(20)]


def write_day(path: Path, day: int, rows: int) -> None:
    """One day of usage: namespace, team, pod, gpu_seconds (integers), seeded by the day."""
    rng = np.random.default_rng(day)
    namespace = rng.integers(0, len(NAMESPACES), rows)
    frame = pd.DataFrame({
        "namespace": np.array(NAMESPACES)[namespace],
        "team": np.array(TEAMS)[namespace % len(TEAMS)],  # each namespace belongs to one team
        "pod": [f"pod-{p:07d}" for p in rng.integers(0, 1_000_000, rows)],
        "gpu_seconds": rng.integers(1, 3600, rows),
    })
    frame.to_csv(path, index=False)


def aggregate_day(path: str) -> apportion.PartialAggregate:
    """What a worker does: one shard to exact per-group sums, through the numpy path."""
    frame = pd.read_csv(path, usecols=["namespace", "team", "gpu_seconds"],
                        dtype={"namespace": str, "team": str, "gpu_seconds": np.int64})
    codes, uniques = pd.MultiIndex.from_frame(frame[["namespace", "team"]]).factorize()
    groups = [{"namespace": ns, "team": team} for ns, team in uniques]
    partial = apportion.PartialAggregate()
    partial.add_columns(np.ascontiguousarray(codes, dtype=np.int64),
                        np.ascontiguousarray(frame["gpu_seconds"].to_numpy(), dtype=np.int64),
                        groups, "gpu_seconds")
    return partial


def month_spec(records: list | None = None, inputs: list | None = None) -> dict:
    spec = {
        "apportion": 1,
        "currency": "USD",
        "pools": [{"id": "cluster", "cost": "1234567.89"},
                  {"id": "platform", "cost": "98765.43"}],
        "records": records or [],
        "steps": [
            {"id": "by-namespace", "strategy": "per_namespace", "pool": "cluster"},
            {"id": "by-team", "strategy": "proportional", "pool": "platform", "group_by": ["team"],
             "weight": "gpu_seconds"},
        ],
    }
    if inputs:
        spec["inputs"] = inputs
    return spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()

    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        print("skipped: needs Dask (Debian's python3-distributed)")
        return 77

    with tempfile.TemporaryDirectory(prefix="apportion-dask-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        days = [work / f"usage-2026-11-{d + 1:02d}.csv" for d in range(args.days)]
        for d, path in enumerate(days):
            if not path.exists():
                write_day(path, d, args.rows_per_day)
        rows = args.days * args.rows_per_day
        print(f"{args.days} shards, {rows:,} rows in {work}")

        # Scale-out: one task per day on worker processes; merge as they complete, in
        # whatever order that is (shuffled further, to make the point).
        started = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            futures = client.map(aggregate_day, [str(p) for p in days])
            partials = [f.result() for f in as_completed(futures)]
        random.Random(42).shuffle(partials)
        merged = apportion.PartialAggregate()
        for partial in partials:
            merged.merge(partial)
        sharded = apportion.run(month_spec(merged.to_spec_records()))
        sharded_seconds = time.perf_counter() - started
        print(f"dask: {len(partials)} partial aggregates of {merged.groups} groups merged, "
              f"{merged.rows:,} rows, {sharded_seconds:.1f} s")

        # The same month in one process, shards in calendar order.
        single = apportion.PartialAggregate()
        for path in days:
            single.merge(aggregate_day(str(path)))
        alone = apportion.run(month_spec(single.to_spec_records()))

        # And through the spec alone: the csv input format streaming every day's file.
        inputs = [{"format": "csv", "path": str(p), "tags": "namespace,team", "measures": "gpu_seconds",
                   "aggregate": True} for p in days]
        streamed = apportion.run(month_spec(inputs=inputs))

    canonical = lambda result: json.dumps({k: v for k, v in result.items() if k != "inputs"},  # noqa: E731
                                          sort_keys=True)
    if merged.to_spec_records() != single.to_spec_records() or merged.rows != single.rows:
        print("FAIL: the merged aggregate differs from the single-process one")
        return 1
    if canonical(sharded) != canonical(alone) or canonical(sharded) != canonical(streamed):
        print("FAIL: the sharded result differs from the single-process run")
        return 1
    for step, pool in (("by-namespace", "1234567.89"), ("by-team", "98765.43")):
        costs = [Decimal(l["cost"]) for l in sharded["lines"] if l["step"] == step]
        print(f"{step}: {len(costs)} lines summing to {sum(costs)} USD")
        if sum(costs) != Decimal(pool):
            print(f"FAIL: {step} does not sum to its pool")
            return 1
    print("identical: dask (sharded, merged in any order) = one process = spec inputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
