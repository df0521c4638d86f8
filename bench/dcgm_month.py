#!/usr/bin/env python3
"""Writes a month of dcgm-exporter samples as a Prometheus query_range answer, to measure
how the dcgm input reads a long range (docs/performance.md, "Series").

usage: bench/dcgm_month.py OUT_DIR [--gpus 64] [--step 60] [--openmetrics URL]

OUT_DIR gets dcgm-month.json (June 2026, one series per GPU, a sample every `step`
seconds, utilisation pseudo-random but fixed) and two specs splitting 100,000.00 by
namespace over gpu_seconds: series.json (30 daily buckets) and flat.json (one period).
Measure with: /usr/bin/time -f "%e s %M KB" build/examples/apportion run OUT_DIR/series.json

With --openmetrics URL it also writes the same samples as OpenMetrics text (dcgm-month.om,
for `promtool tsdb create-blocks-from openmetrics`) and live-series.json, series.json
reading the Prometheus at URL instead of the file (docs/performance.md, "Live sources").
"""
import argparse
import json
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("out")
parser.add_argument("--gpus", type=int, default=64)
parser.add_argument("--step", type=int, default=60)
parser.add_argument("--openmetrics", metavar="URL")
args = parser.parse_args()
os.makedirs(args.out, exist_ok=True)
random.seed(1)
t0 = 1780272000  # 2026-06-01T00:00:00Z
n = 30 * 86400 // args.step
metrics, samples = [], []
with open(os.path.join(args.out, "dcgm-month.json"), "w") as f:
    f.write('{"status":"success","data":{"resultType":"matrix","result":[')
    for g in range(args.gpus):
        metric = {"DCGM_FI_DRIVER_VERSION": "550.54.15", "Hostname": "gpu-node-%d" % (g // 8),
                  "UUID": "GPU-%08x-0000-0000-0000-000000000000" % g, "__name__": "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
                  "container": "main", "device": "nvidia%d" % (g % 8), "gpu": str(g % 8),
                  "instance": "10.0.%d.21:9400" % (g // 8), "job": "dcgm-exporter", "modelName": "NVIDIA H100 80GB HBM3",
                  "namespace": ["nlp", "vision", "search", "ads"][g % 4], "pod": "job-%d-0" % g}
        utilisation = ["%.3f" % random.random() for _ in range(n)]
        values = ",".join('[%d,"%s"]' % (t0 + i * args.step, u) for i, u in enumerate(utilisation))
        if args.openmetrics:
            metrics.append(metric)
            samples.append(utilisation)
        f.write(("" if g == 0 else ",") + '{"metric":' + json.dumps(metric, separators=(",", ":")) + ',"values":[' + values + "]}")
    f.write("]}}")
spec = {"apportion": 1,
        "inputs": [{"format": "dcgm", "path": "dcgm-month.json", "max_gap": 2 * args.step}],
        "pools": [{"id": "cluster", "cost": "100000.00"}], "records": [],
        "steps": [{"id": "ns", "strategy": "proportional", "pool": "cluster", "group_by": ["namespace"], "weight": "gpu_seconds"}]}
with open(os.path.join(args.out, "flat.json"), "w") as f:
    json.dump(spec, f, indent=1)
spec["series"] = {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z", "step": "1d"}
with open(os.path.join(args.out, "series.json"), "w") as f:
    json.dump(spec, f, indent=1)
if args.openmetrics:
    with open(os.path.join(args.out, "dcgm-month.om"), "w") as f:
        f.write("# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge\n")
        for metric, utilisation in zip(metrics, samples):
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(metric.items()) if k != "__name__")
            for i, u in enumerate(utilisation):
                f.write("DCGM_FI_PROF_GR_ENGINE_ACTIVE{%s} %s %d\n" % (labels, u, t0 + i * args.step))
        f.write("# EOF\n")
    spec["inputs"] = [{"format": "dcgm", "url": args.openmetrics, "step": args.step, "max_gap": 2 * args.step}]
    with open(os.path.join(args.out, "live-series.json"), "w") as f:
        json.dump(spec, f, indent=1)
