#!/usr/bin/python3
"""The mlflow input reads an experiment's meta.yaml as MLflow does: MLflow writes it with
PyYAML (`yaml.safe_dump(..., default_flow_style=False, allow_unicode=True)`, through
libyaml's CSafeDumper when PyYAML has it) and reads it with `yaml.safe_load`. Names that
make PyYAML quote, escape, fold over lines or keep blank lines are written by both dumpers,
and the `experiment` tag each run gets must be what `yaml.safe_load` reads back.

Usage: mlflow_yaml.py --apportion build/examples/apportion"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import yaml

NAMES = [
    "plain", "it's: a sweep", "a #1", "#hash start", "yes", "on", "2024", "1e3", "null", "~", "-lead", "? q",
    "with\ttab", "line1\nline2", "line1\n\nline2", "trailing ", " leading", "émoji 🚀 ü", "nel\x85x", "ls\u2028x",
    "ps\u2029y", "bell\x07x", "esc\x1bx", "a" * 70 + " " + "b" * 30 + " " + "c" * 40, "quote \" and ' both",
    "back\\slash", "x: y", "[list]", "{map}", "@at", "`tick`", "word " * 40, "\u00a0nbsp", "ctrl\x01x",
    "long line with a very long word " + "z" * 120 + " end", "'quoted'", "%pct", "a\\nb", "tab\tand  two  spaces " * 6,
    "trailing\\", "\"dq\" " * 30,
]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apportion", required=True)
    args = parser.parse_args()
    dumpers = [("SafeDumper", yaml.SafeDumper)] + ([("CSafeDumper", yaml.CSafeDumper)] if hasattr(yaml, "CSafeDumper") else [])
    expected = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "mlruns")
        i = 0
        for dumper_name, dumper in dumpers:
            for name in NAMES:
                i += 1
                exp_id, run_id = str(1000 + i), f"{i:032x}"
                os.makedirs(os.path.join(root, exp_id, run_id))
                dump = lambda d: yaml.dump(d, Dumper=dumper, default_flow_style=False, allow_unicode=True)  # noqa: E731
                text = dump({"artifact_location": f"file:///m/{exp_id}", "experiment_id": exp_id,
                             "lifecycle_stage": "active", "name": name})
                with open(os.path.join(root, exp_id, "meta.yaml"), "w", encoding="utf-8") as f:
                    f.write(text)
                with open(os.path.join(root, exp_id, run_id, "meta.yaml"), "w", encoding="utf-8") as f:
                    f.write(dump({"end_time": 2, "experiment_id": exp_id, "lifecycle_stage": "active", "run_id": run_id,
                                  "start_time": 1, "status": 3, "tags": []}))
                expected[run_id] = (dumper_name, name, yaml.safe_load(text)["name"])
        out = subprocess.run([args.apportion, "ingest", "mlflow", root, "--sku", "x", "--count", "1"],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            print(f"FAIL: apportion ingest exited {out.returncode}: {out.stderr.strip()}", file=sys.stderr)
            return 1
        got = {r["id"]: r["tags"]["experiment"] for r in json.loads(out.stdout)["records"]}
    wrong = [(d, n, want, got.get(rid)) for rid, (d, n, want) in expected.items() if got.get(rid) != want]
    for d, n, want, have in wrong:
        print(f"FAIL: {d} {n!r}: yaml.safe_load reads {want!r}, apportion {have!r}", file=sys.stderr)
    print(f"mlflow yaml: {len(expected) - len(wrong)} of {len(expected)} names read as yaml.safe_load reads them")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
