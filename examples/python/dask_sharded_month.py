#!/usr/bin/python3
"""A month of GPU usage attributed on Dask, one shard per day, exactly.

Each Dask worker process reads one day's usage CSV into a DataFrame and feeds its columns
(categorical tags, an integer measure) through apportion.record_batch into an
apportion.PartialAggregate: the exact sum of gpu_seconds per (namespace, team), through the
same column path a run reads DataFrames by, with no row objects. The aggregates travel back
to the client serialized (a few kilobytes each), the client merges them in whatever order
they arrive and runs the month's allocation once, so the single rounding happens once, at
the end. The script then attributes the same month in this one process, the days' frames
given to apportion.run(spec, records=[...]) directly, and through the spec's `inputs` (the
csv format streaming every day's file), and checks all three results are identical, byte
for byte. Each way prints its time; --way runs one alone (to measure its peak memory).

    PYTHONPATH=build/python /usr/bin/python3 examples/python/dask_sharded_month.py
        [--days 30] [--rows-per-day 200000] [--workers 2] [--workdir DIR]
        [--way all|dask|single|inputs]

Needs Debian's python3-distributed (Dask) besides the built apportion package; exits 77
(skipped) without it.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
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
        "pod": np.char.add("pod-", rng.integers(0, 1_000_000, rows).astype("U7")),
        "gpu_seconds": rng.integers(1, 3600, rows),
    })
    frame.to_csv(path, index=False)


def read_day(path: str) -> pd.DataFrame:
    """A day's columns as the steps read them: tags categorical, gpu_seconds int64."""
    return pd.read_csv(path, usecols=["namespace", "team", "gpu_seconds"],
                       dtype={"namespace": "category", "team": "category", "gpu_seconds": np.int64})


def aggregate_day(path: str) -> tuple[bytes, int]:
    """What a worker does: one shard to exact per-group sums through the column path, sent
    back serialized; with the worker's peak memory so far (KiB)."""
    partial = apportion.PartialAggregate()
    partial.add_batch(apportion.record_batch(read_day(path), tags=["namespace", "team"], measures=["gpu_seconds"],
                                             source=Path(path).name))
    return partial.serialize(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


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


def canonical(result: dict) -> str:
    return json.dumps({k: v for k, v in result.items() if k != "inputs"}, sort_keys=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rows-per-day", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--way", choices=["all", "dask", "single", "inputs"], default="all")
    args = parser.parse_args()

    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        print("skipped: needs Dask (Debian's python3-distributed)")
        return 77

    results = {}
    with tempfile.TemporaryDirectory(prefix="apportion-dask-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        days = [work / f"usage-2026-11-{d + 1:02d}.csv" for d in range(args.days)]
        for d, path in enumerate(days):
            if not path.exists():
                write_day(path, d, args.rows_per_day)
        rows = args.days * args.rows_per_day
        print(f"{args.days} shards, {rows:,} rows in {work}")

        if args.way in ("all", "dask"):
            # Scale-out: one task per day on worker processes; merge as they complete, in
            # whatever order that is (shuffled further, to make the point).
            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                started = time.perf_counter()
                futures = client.map(aggregate_day, [str(p) for p in days])
                sent = [f.result() for f in as_completed(futures)]
                random.Random(42).shuffle(sent)
                merged = apportion.PartialAggregate()
                for blob, _ in sent:
                    merged.merge(apportion.PartialAggregate.deserialize(blob))
                results["dask"] = apportion.run(month_spec(merged.to_spec_records()))
                seconds = time.perf_counter() - started
            if merged.rows != rows:
                print(f"FAIL: the merged aggregate holds {merged.rows} rows, not {rows}")
                return 1
            print(f"dask: {len(sent)} partial aggregates ({sum(len(b) for b, _ in sent):,} bytes) of "
                  f"{merged.groups} groups merged, {merged.rows:,} rows, {seconds:.1f} s; "
                  f"worker peak {max(m for _, m in sent) / 1024:.0f} MiB")

        if args.way in ("all", "single"):
            # The same month in one process: every day's frame given to the run as columns.
            started = time.perf_counter()
            frames = [read_day(str(p)) for p in days]
            read = time.perf_counter() - started
            # max_records guards against runaway input; batch rows count against it row by row.
            results["single"] = apportion.run(month_spec(), records=frames, tags=["namespace", "team"],
                                              measures=["gpu_seconds"], max_records=max(rows, 1))
            print(f"one process, run(spec, records=frames): {time.perf_counter() - started:.1f} s "
                  f"(read_csv {read:.1f} s, the run {time.perf_counter() - started - read:.1f} s)")
            del frames

        if args.way in ("all", "inputs"):
            # And through the spec alone: the csv input format streaming every day's file.
            started = time.perf_counter()
            inputs = [{"format": "csv", "path": str(p), "tags": "namespace,team,pod", "measures": "gpu_seconds"}
                      for p in days]
            results["inputs"] = apportion.run(month_spec(inputs=inputs))
            print(f"one process, the spec's csv inputs: {time.perf_counter() - started:.1f} s")

    first = next(iter(results.values()))
    if any(canonical(r) != canonical(first) for r in results.values()):
        print(f"FAIL: the results differ: {', '.join(results)}")
        return 1
    for step, pool in (("by-namespace", "1234567.89"), ("by-team", "98765.43")):
        costs = [Decimal(l["cost"]) for l in first["lines"] if l["step"] == step]
        print(f"{step}: {len(costs)} lines summing to {sum(costs)} USD")
        if sum(costs) != Decimal(pool):
            print(f"FAIL: {step} does not sum to its pool")
            return 1
    if len(results) > 1:
        print("identical: " + " = ".join({"dask": "dask (sharded, merged in any order)", "single": "one process",
                                          "inputs": "spec inputs"}[w] for w in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
