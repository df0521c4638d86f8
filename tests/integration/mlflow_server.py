#!/usr/bin/python3
"""The mlflow input's `url` and `apportion run --log-to-mlflow URL` against a loopback
server that answers MLflow's tracking REST API the way an MLflow tracking server does
(mlflow.org/docs/latest/rest-api.html: experiments/search, runs/search, runs/get,
runs/log-batch; JSON with int64 times as numbers, pages joined by next_page_token, an
error as {"error_code", "message"} with a 4xx status). MLflow itself is a PyPI package and
cannot be installed here, so the server serves the runs of examples/data/mlflow/mlruns (a
file store as MLflow's FileStore writes it) in small pages, so that paging is exercised.

Checks that
- the live input gives the same records as the same store read as a folder, and as the
  server's answers saved to a file;
- the costs written through runs/log-batch are those written into a file store, a second
  write sends nothing, and a changed price sends a new point one step on;
- the token in MLFLOW_TRACKING_TOKEN is sent, and an error answer is the server's message,
  without the token.

Usage: mlflow_server.py --apportion build/examples/apportion
Exits 77 (skipped) when the build has no HTTP client (libcurl)."""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent.parent
STORE = ROOT / "examples" / "data" / "mlflow" / "mlruns"
STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
TOKEN = "s3cret-token"


class Failure(Exception):
    pass


def check(ok: bool, what: str) -> None:
    if not ok:
        raise Failure(what)


def values(folder: Path) -> list:
    if not folder.is_dir():
        return []
    return [{"key": str(f.relative_to(folder)), "value": f.read_text()} for f in sorted(folder.rglob("*")) if f.is_file()]


def load_store(store: Path) -> tuple[list, list]:
    """The store's experiments and runs as the REST API gives them."""
    experiments, runs = [], []
    for exp_dir in sorted(p for p in store.iterdir() if p.is_dir() and (p / "meta.yaml").exists()):
        meta = yaml.safe_load((exp_dir / "meta.yaml").read_text())
        experiments.append({"experiment_id": meta["experiment_id"], "name": meta["name"],
                            "artifact_location": meta["artifact_location"], "lifecycle_stage": meta["lifecycle_stage"],
                            "creation_time": meta["creation_time"], "last_update_time": meta["last_update_time"]})
        for run_dir in sorted(p for p in exp_dir.iterdir() if p.is_dir() and (p / "meta.yaml").exists()):
            info = yaml.safe_load((run_dir / "meta.yaml").read_text())
            metrics = []
            for f in sorted((run_dir / "metrics").rglob("*")):
                if f.is_file():
                    points = [line.split() for line in f.read_text().splitlines() if line.strip()]
                    ts, value, step = max(points, key=lambda p: (int(p[2]), int(p[0]), float(p[1])))
                    metrics.append({"key": str(f.relative_to(run_dir / "metrics")), "value": float(value),
                                    "timestamp": int(ts), "step": int(step)})
            run_info = {"run_id": info["run_id"], "run_uuid": info["run_uuid"], "run_name": info["run_name"],
                        "experiment_id": info["experiment_id"], "user_id": info["user_id"],
                        "status": STATUS[info["status"]], "start_time": info["start_time"],
                        "artifact_uri": info["artifact_uri"], "lifecycle_stage": info["lifecycle_stage"]}
            if info.get("end_time") is not None:
                run_info["end_time"] = info["end_time"]
            runs.append({"info": run_info, "data": {"metrics": metrics, "params": values(run_dir / "params"),
                                                    "tags": values(run_dir / "tags")}, "inputs": {}})
    return experiments, runs


class MlflowServer:
    """MLflow's tracking API over the runs given; records each request."""

    def __init__(self, experiments: list, runs: list, token: str | None = None):
        self.experiments, self.runs, self.token, self.requests = experiments, runs, token, []
        me = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def answer(self, status: int, doc: dict) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                url = urllib.parse.urlsplit(self.path)
                query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                me.requests.append({"method": self.command, "path": url.path, "body": body,
                                    "auth": self.headers.get("Authorization"),
                                    "type": self.headers.get("Content-Type")})
                if me.token and self.headers.get("Authorization") != f"Bearer {me.token}":
                    return self.answer(401, {"error_code": "UNAUTHENTICATED",
                                             "message": "You are not authenticated. Please provide a token."})
                try:
                    self.answer(200, me.route(self.command, url.path, body, query))
                except KeyError as e:
                    self.answer(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": f"Run '{e.args[0]}' not found"})

            do_GET = do_POST = handle_one  # noqa: N815 (the stdlib's names)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def page(items: list, body: dict, size: int, key: str) -> dict:
        start = int(body.get("page_token") or 0)
        out = {key: items[start:start + size]}
        if start + size < len(items):
            out["next_page_token"] = str(start + size)
        return out

    def run(self, run_id: str) -> dict:
        for r in self.runs:
            if r["info"]["run_id"] == run_id:
                return r
        raise KeyError(run_id)

    def route(self, method: str, path: str, body: dict, query: dict) -> dict:
        api = path.removeprefix("/api/2.0/mlflow/")
        if api == "experiments/search":
            active = [e for e in self.experiments if e["lifecycle_stage"] == "active"]
            return self.page(active, body, 1, "experiments")
        if api == "runs/search":
            check(method == "POST", "runs/search is a POST")
            wanted = [r for r in self.runs if r["info"]["experiment_id"] in body["experiment_ids"]
                      and r["info"]["lifecycle_stage"] == "active"]
            return self.page(wanted, body, 2, "runs")
        if api == "runs/get":
            return {"run": self.run(query["run_id"])}
        if api == "runs/log-batch":
            run = self.run(body["run_id"])
            latest = {m["key"]: m for m in run["data"]["metrics"]}
            for m in body.get("metrics", []):
                old = latest.get(m["key"])
                if old is None or (m["step"], m["timestamp"], m["value"]) >= (old["step"], old["timestamp"], old["value"]):
                    latest[m["key"]] = m
            run["data"]["metrics"] = list(latest.values())
            tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
            tags.update({t["key"]: t["value"] for t in body.get("tags", [])})
            run["data"]["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
            return {}
        raise Failure(f"unexpected request {method} {path}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def apportion(args, *argv: str, ok: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([args.apportion, *argv], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    if ok and proc.returncode != 0:
        raise Failure(f"apportion {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc


INPUT = {"sku": {"a100-80gb": "onprem/a100", "h100-sxm": "cloud/h100"},
         "tier": {"spot": "spot", "*": "on_demand"}, "tier_from": "capacity"}


def spec(source: dict, rate: str = "1.60") -> dict:
    example = json.loads((ROOT / "examples" / "data" / "training-from-mlflow.json").read_text())
    example["catalog"]["skus"][0]["prices"][0]["rate"] = rate
    example["inputs"] = [{"format": "mlflow", **source, **INPUT}]
    return example


def metric_files(store: Path) -> dict:
    out = {}
    for f in sorted(store.rglob("metrics/*")):
        if f.name in ("training_cost_usd", "gpu_hours", "cost_per_epoch"):
            out[(f.parent.parent.name, f.name)] = f.read_text().splitlines()
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--apportion", required=True)
    args = parser.parse_args()
    probe = apportion(args, "ingest", "mlflow", "--url", "http://127.0.0.1:9", "--sku", "x", "--retries", "0", ok=False)
    if "without libcurl" in probe.stderr:
        print("skipped: this build has no HTTP client")
        return 77
    work = Path(tempfile.mkdtemp(prefix="apportion-mlflow-"))
    try:
        experiments, runs = load_store(STORE)
        sku = ["--sku", "a100-80gb=onprem/a100,h100-sxm=cloud/h100", "--tier", "spot=spot,*=on_demand",
               "--tier-from", "capacity"]

        # The input: live, as a folder, and as the answers saved to a file.
        with MlflowServer(experiments, json.loads(json.dumps(runs))) as server:
            live = apportion(args, "ingest", "mlflow", "--url", server.url, *sku)
            pages = [r["path"] for r in server.requests]
            check(pages.count("/api/2.0/mlflow/experiments/search") == 3, f"experiments paged one a page: {pages}")
            check(pages.count("/api/2.0/mlflow/runs/search") == 3, f"six active runs two a page: {pages}")
            check(all(r["type"] == "application/json" for r in server.requests), "JSON bodies")
        folder = apportion(args, "ingest", "mlflow", str(STORE), *sku)
        check(json.loads(live.stdout)["records"] == json.loads(folder.stdout)["records"], "live and folder give the same records")
        check("deleted" in folder.stderr and "deleted" not in live.stderr,
              "the folder tells of its deleted run; the server leaves it out (run_view_type ACTIVE_ONLY)")
        active = [e for e in experiments if e["lifecycle_stage"] == "active"]
        saved = work / "runs.json"
        saved.write_text(json.dumps({"experiments": active,
                                     "runs": [r for r in runs if r["info"]["lifecycle_stage"] == "active"]}))
        from_file = apportion(args, "ingest", "mlflow", str(saved), *sku)
        check(from_file.stdout == live.stdout, "live and the saved answers give the same bytes")

        # The write-back: a server and a file store get the same points.
        shutil.copytree(STORE, work / "mlruns")
        spec_file = work / "spec.json"
        spec_file.write_text(json.dumps(spec({"path": str(STORE)})))
        apportion(args, "run", str(spec_file), "--log-to-mlflow", str(work / "mlruns"))
        written = metric_files(work / "mlruns")
        check(len(written) == 18, f"three metrics for each of six runs: {sorted(written)}")
        with MlflowServer(experiments, json.loads(json.dumps(runs)), token=TOKEN) as server:
            env = {"MLFLOW_TRACKING_TOKEN": TOKEN}
            out = apportion(args, "run", str(spec_file), "--log-to-mlflow", server.url, env=env)
            check("18 metric points and 36 tags written to 6 runs" in out.stderr, out.stderr)
            batches = [r["body"] for r in server.requests if r["path"].endswith("runs/log-batch")]
            check(len(batches) == 6, f"one log-batch a run: {len(batches)}")
            check(all(r["auth"] == f"Bearer {TOKEN}" for r in server.requests), "the token is sent")
            for b in batches:
                for m in b["metrics"]:
                    line = f"{m['timestamp']} {m['value']!r} {m['step']}"
                    check(written[(b["run_id"], m["key"])] == [line], f"{b['run_id']} {m['key']}: {line} vs file")
            tags = {t["key"]: t["value"] for t in batches[0]["tags"]}
            check(tags["apportion.spec"] == "spec.json" and tags["apportion.training_cost"].endswith(" USD"), str(tags))

            again = apportion(args, "run", str(spec_file), "--log-to-mlflow", server.url, env=env)
            check("all up to date" in again.stderr, again.stderr)
            check(sum(r["path"].endswith("log-batch") for r in server.requests) == 6, "a second write sends nothing")

            spec_file.write_text(json.dumps(spec({"path": str(STORE)}, rate="1.70")))
            apportion(args, "run", str(spec_file), "--log-to-mlflow", server.url, env=env)
            repriced = [r["body"] for r in server.requests if r["path"].endswith("runs/log-batch")][6:]
            check(len(repriced) == 4, f"the four A100 runs are repriced: {len(repriced)}")
            for b in repriced:
                keys = sorted(m["key"] for m in b["metrics"])
                check(keys == ["cost_per_epoch", "training_cost_usd"], f"new cost points only: {keys}")
                check(all(m["step"] == 1 for m in b["metrics"]), "one step on")

            # A wrong token: the server's own message, never the token.
            bad = apportion(args, "run", str(spec_file), "--log-to-mlflow", server.url,
                            env={"MLFLOW_TRACKING_TOKEN": "wrong-token"}, ok=False)
            check(bad.returncode != 0 and "UNAUTHENTICATED" in bad.stderr and "You are not authenticated" in bad.stderr,
                  bad.stderr)
            check("wrong-token" not in bad.stderr, "the token is never shown")
            # The live input through a spec, with the token from the environment.
            live_spec = work / "live.json"
            live_spec.write_text(json.dumps(spec({"url": server.url, "bearer_token_env": "MLFLOW_TRACKING_TOKEN"}, rate="1.70")))
            via_spec = apportion(args, "run", str(live_spec), "--format", "csv", env=env)
            via_folder = apportion(args, "run", str(spec_file), "--format", "csv")
            check(via_spec.stdout == via_folder.stdout, "a spec reading the server prices the runs as one reading the store")
        print("mlflow server: ok")
        return 0
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
