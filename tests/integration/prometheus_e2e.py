#!/usr/bin/python3
"""Integration test against a real Prometheus server.

Starts small exporters on loopback serving the DCGM exporter, kube-state-metrics and vLLM
samples under tests/data/integration (the vLLM counters grow on every scrape, and one
server "restarts" half way, resetting its counters), starts Debian's `prometheus` scraping
them every second, waits for enough scrapes, asks its HTTP API for `query_range` answers,
and reads them with `apportion ingest` and `apportion run`. Every figure the library gives
is checked against a computation of its own here, in exact fractions, from the same
answers; the vLLM increases are also checked against what the exporters served.

The other way too: `apportion run --format prometheus` writes a spec's costs as a metrics
file (checked with `promtool check metrics`), served as node_exporter's textfile collector
would serve it; Prometheus scrapes it, and every line's cost it answers equals the result's.

Usage: prometheus_e2e.py --apportion build/examples/apportion [--prometheus PATH]
       [--save DIR]   (keep the answers and the spec there)
Exits 77 (skipped) when no prometheus binary is found, unless
APPORTION_REQUIRE_PROMETHEUS=1 (CI sets it: there the test must run).
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

SKIPPED = 77
DATA = Path(__file__).resolve().parent.parent / "data" / "integration"
STEP = 1          # seconds: the scrape interval and the query step
MAX_GAP = "1.5"   # seconds: a gap longer than this counts as no data
SCRAPES = 14      # scrapes of every exporter before querying
QWEN_RESTART = 6  # the Qwen server restarts (counters drop) at this scrape


def go_float(value: Fraction) -> str:
    """A float as the Prometheus Go and Python clients print it: 1.8432e+06, 614400.0."""
    text = repr(float(value))
    if "e" not in text and abs(value) >= 1_000_000:
        digits = text.split(".")[0]
        mantissa = (digits[0] + "." + digits[1:]).rstrip("0").rstrip(".")
        text = f"{mantissa}e+{len(digits) - 1:02d}"
    return text


class Exporter:
    """Serves one sample file at /metrics. With `growth`, every counter (and histogram
    part) is scaled by (8 + n) / 8 at the n-th scrape, so each scrape adds 1/8 of the
    template; after `restart_at` scrapes it starts again from (n - restart_at + 1) / 8."""

    def __init__(self, sample: Path, growth: bool = False, restart_at: int | None = None):
        self.lines = sample.read_text().splitlines()
        self.growth, self.restart_at = growth, restart_at
        self.scrapes = 0
        self.served: list[dict[str, Fraction]] = []  # per scrape: series -> value
        self.lock = threading.Lock()
        counters = set()
        for line in self.lines:
            if line.startswith("# TYPE ") and line.split()[3] in ("counter", "histogram"):
                counters.add(line.split()[2])
        self.counters = counters
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def family(self, name: str) -> str:
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in self.counters:
                return name[: -len(suffix)]
        return name

    def render(self) -> str:
        with self.lock:
            n = self.scrapes
            self.scrapes += 1
            if self.restart_at is not None and n >= self.restart_at:
                factor = Fraction(n - self.restart_at + 1, 8)
            else:
                factor = Fraction(8 + n, 8)
            out, served = [], {}
            for line in self.lines:
                if not self.growth or line.startswith("#"):
                    out.append(line)
                    continue
                series, value = line.rsplit(" ", 1)
                name = series.split("{")[0]
                if self.family(name) in self.counters:
                    v = Fraction(Decimal(value)) * factor
                    served[series] = v
                    out.append(f"{series} {go_float(v)}")
                else:
                    out.append(line)
            self.served.append(served)
            return "\n".join(out) + "\n"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def stop_process(process: subprocess.Popen) -> None:
    """Asks a server to stop, and kills it if it has not in 20 s."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def exact(text) -> Fraction:
    return Fraction(Decimal(str(text)))


def rounded(value: Fraction) -> Decimal:
    """The library's rounding of an exact sum: half-even to 12 fractional digits."""
    scaled = value * 10**12
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    return Decimal(floor).scaleb(-12)


def as_decimal(x) -> Decimal:
    return Decimal(str(x))


class Failure(Exception):
    pass


def check(condition: bool, what: str):
    if not condition:
        raise Failure(what)


def run_apportion(apportion: str, *args: str) -> dict:
    proc = subprocess.run([apportion, *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise Failure(f"apportion {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return json.loads(proc.stdout, parse_float=Decimal, parse_int=Decimal)


# ---- Expected figures, computed here from the raw answers ------------------------------

def matrix(answer: dict) -> list[dict]:
    check(answer["status"] == "success", f"Prometheus answered {answer}")
    check(answer["data"]["resultType"] == "matrix", "expected a matrix")
    return answer["data"]["result"]


def held_seconds(values: list, i: int) -> Fraction:
    """What sample i stands for: the time to the next sample, nothing beyond MAX_GAP."""
    if i + 1 >= len(values):
        return Fraction(0)
    dt = exact(values[i + 1][0]) - exact(values[i][0])
    return dt if dt <= exact(MAX_GAP) else Fraction(0)


MIG_SLICES = {"1g.10gb": 1, "2g.20gb": 2, "3g.40gb": 3, "4g.40gb": 4, "7g.80gb": 7}


def largest_remainder(parts: list, keys: list) -> list:
    """The library's rounding of one GPU's exact parts to 1e-12: they sum to the exact total
    rounded half-even; leftover units go to the largest remainders, then the larger parts,
    then the smaller tags (allocate_by_weights in include/apportion/allocate.hpp)."""
    total = sum(parts)
    if total == 0:
        return [Fraction(0)] * len(parts)
    unit = Fraction(1, 10**12)
    whole = Fraction(rounded(total))
    scaled = [p * whole / total / unit for p in parts]
    floors = [x.numerator // x.denominator for x in scaled]
    order = sorted(range(len(parts)), key=lambda i: (floors[i] - scaled[i], -scaled[i], keys[i], i))
    for i in order[:int(whole / unit) - sum(floors)]:
        floors[i] += 1
    return [f * unit for f in floors]


def expected_dcgm(answer: dict) -> dict:
    """GPU-seconds per pod, as docs/ingest.md says: a sample holds its GPU (or MIG instance,
    n/7 of the GPU) until its series' next sample, if within MAX_GAP; every stretch of time
    is split evenly among the pods holding it (the idle series when no pod does); a GPU's
    records are rounded together. Utilisation is the mean of DCGM_FI_PROF_GR_ENGINE_ACTIVE,
    a ratio."""
    records = {}
    for s in matrix(answer):
        m = s["metric"]
        pod, instance = m.get("pod", ""), m.get("GPU_I_ID", "")
        tags = {"gpu": m["UUID"], "node": m["Hostname"], "gpu_model": m["modelName"]}
        if instance:
            tags.update(mig_instance=instance, mig_profile=m["GPU_I_PROFILE"])
        if pod:
            tags.update({k: m[k] for k in ("namespace", "container") if m.get(k)}, pod=pod)
        values = s["values"]
        records[pod or ("idle", m["UUID"])] = {
            "tags": sorted(tags.items()), "gpu": m["UUID"], "slice": (m["UUID"], instance), "allocated": bool(pod),
            "fraction": Fraction(MIG_SLICES[m["GPU_I_PROFILE"]], 7) if instance else Fraction(1),
            "held": [(exact(values[i][0]), exact(values[i + 1][0])) for i in range(len(values) - 1)
                     if held_seconds(values, i) > 0],
            "util": sum(exact(v) for _, v in values) / len(values), "seconds": Fraction(0)}
    slices = defaultdict(list)
    for key, r in records.items():
        slices[r["slice"]].append(key)
    for keys in slices.values():
        cuts = sorted({t for k in keys for a, b in records[k]["held"] for t in (a, b)})
        for a, b in zip(cuts, cuts[1:]):
            holding = [k for k in keys if any(x <= a and b <= y for x, y in records[k]["held"])]
            holders = [k for k in holding if records[k]["allocated"]] or holding
            for k in holders:
                records[k]["seconds"] += (b - a) / len(holders) * records[k]["fraction"]
    gpus = defaultdict(list)
    for key, r in records.items():
        gpus[r["gpu"]].append(key)
    out = {}
    for keys in gpus.values():
        parts = largest_remainder([records[k]["seconds"] for k in keys], [records[k]["tags"] for k in keys])
        for k, seconds in zip(keys, parts):
            out[k] = (seconds, records[k]["util"])
    return out


def expected_ksm(answer: dict) -> dict:
    """GPU-seconds per pod: replicas from each node's nvidia.com/gpu.replicas label, a request
    held only while its pod is not Succeeded or Failed, one timeline per pod name."""
    series = matrix(answer)
    replicas = {s["metric"]["node"]: max(int(s["metric"]["label_nvidia_com_gpu_replicas"]), 1) for s in series
                if s["metric"]["__name__"] == "kube_node_labels" and "label_nvidia_com_gpu_replicas" in s["metric"]}
    phases = defaultdict(dict)  # (namespace, pod, uid) -> time -> phase
    for s in series:
        m = s["metric"]
        if m["__name__"] == "kube_pod_status_phase":
            for t, v in s["values"]:
                if exact(v) != 0:
                    phases[(m["namespace"], m["pod"], m.get("uid", ""))][exact(t)] = m["phase"]
    timelines = defaultdict(dict)  # (pod, container, resource) -> time -> GPUs, the larger of two uids
    for s in series:
        m = s["metric"]
        if m["__name__"] != "kube_pod_container_resource_requests":
            continue
        if m["resource"] == "nvidia_com_gpu":
            share = Fraction(1, replicas.get(m.get("node", ""), 1))
        elif m["resource"].startswith("nvidia_com_mig_"):
            share = Fraction(int(m["resource"].split("_")[3].rstrip("g")), 7)
        else:
            continue
        known = phases.get((m["namespace"], m["pod"], m.get("uid", "")), {})
        for t, v in s["values"]:
            before = [at for at in known if at <= exact(t)]
            phase = known[max(before)] if before else None
            held = phase not in ("Succeeded", "Failed") and (phase != "Pending" or m.get("node"))
            timeline = timelines[(m["pod"], m["container"], m["resource"])]
            timeline[t] = max(timeline.get(t, Fraction(0)), exact(v) * share if held else Fraction(0))
    out = defaultdict(Fraction)
    for (pod, _, _), timeline in timelines.items():
        points = sorted(timeline.items(), key=lambda point: exact(point[0]))
        for i, (_, gpus) in enumerate(points):
            out[pod] += gpus * held_seconds(points, i)
    return {pod: seconds for pod, seconds in out.items() if seconds > 0}


def increase(values: list) -> Fraction:
    """Prometheus increase() without extrapolation: rises summed, a drop is a reset."""
    total, previous = Fraction(0), None
    for _, v in values:
        v = exact(v)
        if previous is not None:
            total += v - previous if v >= previous else v
        previous = v
    return total


def expected_vllm(answer: dict) -> dict:
    names = {"vllm:prompt_tokens_total": "tokens_prompt", "vllm:generation_tokens_total": "tokens_generation",
             "vllm:request_success_total": "requests", "vllm:prefix_cache_hits_total": "tokens_cached"}
    out = defaultdict(lambda: defaultdict(Fraction))
    for s in matrix(answer):
        m = s["metric"]
        out[m["model_name"]][names[m["__name__"]]] += increase(s["values"])
    return out


# ---- The test ---------------------------------------------------------------------------

def query_range(base: str, query: str, start: int, end: int) -> dict:
    params = urllib.parse.urlencode({"query": query, "start": start, "end": end, "step": STEP})
    return json.loads(http_get(f"{base}/api/v1/query_range?{params}"))


COSTS_SPEC = Path(__file__).resolve().parents[2] / "examples" / "data" / "team-chargeback.json"


def write_costs(apportion: str, work: Path) -> dict:
    """The spec's costs as a metrics file, checked by promtool; returns the result document."""
    costs = work / "costs.prom"
    proc = subprocess.run([apportion, "run", str(COSTS_SPEC), "--format", "prometheus", "--output", str(costs)],
                          capture_output=True, text=True, timeout=60)
    check(proc.returncode == 0, f"apportion run --format prometheus: {proc.stderr}")
    promtool = shutil.which("promtool") or "/usr/bin/promtool"
    # Every example spec's output (series, statements, budgets, unit costs) passes promtool.
    for spec in sorted(COSTS_SPEC.parent.glob("*.json")):
        proc = subprocess.run([apportion, "run", str(spec), "--format", "prometheus"], capture_output=True, text=True,
                              timeout=60)
        check(proc.returncode == 0 and "# TYPE apportion_" in proc.stdout, f"{spec.name}: {proc.stderr}")
        checked = subprocess.run([promtool, "check", "metrics"], input=proc.stdout, capture_output=True, text=True,
                                 timeout=60)
        check(checked.returncode == 0, f"promtool check metrics {spec.name}: {checked.stdout}{checked.stderr}")
    return run_apportion(apportion, "run", str(COSTS_SPEC))


def check_scraped_costs(base: str, result: dict) -> int:
    """Every line's cost as Prometheus scraped it equals the result's."""
    answer = json.loads(http_get(f"{base}/api/v1/query?" + urllib.parse.urlencode(
        {"query": '{__name__=~"apportion_(allocated|idle|overhead|unallocated)_cost"}'})))
    check(answer["status"] == "success", f"query of the costs: {answer}")
    scraped = {}
    for s in answer["data"]["result"]:
        m = dict(s["metric"])
        kind = m.pop("__name__")[len("apportion_"):-len("_cost")]
        key = (m.pop("step"), m.pop("pool", None), kind, tuple(sorted(
            (k, v) for k, v in m.items() if k not in ("currency", "job", "instance"))))
        scraped[key] = exact(s["value"][1])
    want = {(l["step"], l.get("pool"), l["kind"], tuple(sorted(l["tags"].items()))): exact(l["cost"])
            for l in result["lines"]}
    check(scraped == want, f"scraped costs {scraped} differ from the result's {want}")
    return len(want)


def run(args, work: Path) -> None:
    costs_result = write_costs(args.apportion, work)
    exporters = {
        "costs": Exporter(work / "costs.prom"),
        "dcgm": Exporter(DATA / "dcgm-exporter.prom"),
        "ksm": Exporter(DATA / "kube-state-metrics.prom"),
        "llama": Exporter(DATA / "vllm-llama.prom", growth=True),
        "qwen": Exporter(DATA / "vllm-qwen.prom", growth=True, restart_at=QWEN_RESTART),
    }
    port = free_port()
    config = work / "prometheus.yml"
    target = lambda name: f"127.0.0.1:{exporters[name].port}"  # noqa: E731
    config.write_text(f"""global:
  scrape_interval: {STEP}s
  scrape_timeout: {STEP}s
scrape_configs:
  - job_name: dcgm-exporter
    honor_labels: true  # keep the exporter's pod/namespace labels, empty ones included
    static_configs: [{{targets: ['{target("dcgm")}']}}]
  - job_name: kube-state-metrics
    honor_labels: true
    static_configs: [{{targets: ['{target("ksm")}']}}]
  - job_name: vllm
    static_configs: [{{targets: ['{target("llama")}', '{target("qwen")}']}}]
  - job_name: apportion-costs
    honor_labels: true
    static_configs: [{{targets: ['{target("costs")}']}}]
""")
    log = open(work / "prometheus.log", "w")
    prometheus = subprocess.Popen(
        [args.prometheus, f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            check(prometheus.poll() is None, f"prometheus exited {prometheus.returncode}: "
                  + (work / "prometheus.log").read_text()[-2000:])
            check(time.monotonic() < deadline, "prometheus did not scrape every exporter in time")
            if all(e.scrapes >= 1 for e in exporters.values()):
                break
            time.sleep(0.2)
        start = int(time.time()) + 1
        while min(e.scrapes for e in exporters.values()) < SCRAPES:
            check(time.monotonic() < deadline, "prometheus did not scrape every exporter in time")
            time.sleep(0.2)
        end = int(time.time()) - 1

        answers = {
            "dcgm": query_range(base, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", start, end),
            "ksm": query_range(base, '{__name__=~"kube_pod_container_resource_requests|kube_pod_labels'
                                     '|kube_pod_status_phase|kube_node_labels|kube_node_status_capacity"}', start, end),
            "vllm": query_range(base, '{__name__=~"vllm:(prompt_tokens|generation_tokens|request_success'
                                      '|prefix_cache_hits)_total"}', start, end),
        }
        scraped_lines = check_scraped_costs(base, costs_result)
        for name, answer in answers.items():
            (work / f"{name}.json").write_text(json.dumps(answer, indent=1))
            check(len(matrix(answer)) > 0, f"{name}: Prometheus returned no series")
            points = max(len(s["values"]) for s in matrix(answer))
            check(points >= SCRAPES - 4, f"{name}: only {points} points from Prometheus")
    finally:
        stop_process(prometheus)
        log.close()
        for e in exporters.values():
            e.stop()

    apportion = args.apportion

    # DCGM: GPU-seconds per pod, MIG fractions, the time-sliced GPU not counted twice, idle,
    # from DCGM_FI_PROF_GR_ENGINE_ACTIVE (the default metric: the one dcgm-exporter writes for
    # MIG instances too).
    dcgm = run_apportion(apportion, "ingest", "dcgm", str(work / "dcgm.json"), "--max_gap", MAX_GAP)["records"]
    want = expected_dcgm(answers["dcgm"])
    check(len(dcgm) == len(want), f"dcgm: {len(dcgm)} records, expected {len(want)}")
    for r in dcgm:
        pod = r["tags"].get("pod")
        seconds, util = want[pod] if pod else want[("idle", r["tags"]["gpu"])]
        measure = "gpu_seconds" if pod else "idle_gpu_seconds"
        check(as_decimal(r["measures"][measure]) == rounded(seconds),
              f"dcgm {pod}: {measure} {r['measures'][measure]}, expected {rounded(seconds)}")
        check(as_decimal(r["measures"]["utilization"]) == rounded(util),
              f"dcgm {pod}: utilization {r['measures']['utilization']}, expected {rounded(util)}")
    by_pod = {r["tags"].get("pod"): r for r in dcgm}
    seconds_of = {pod: as_decimal(r["measures"].get("gpu_seconds", 0)) for pod, r in by_pod.items()}
    check(seconds_of["notebook-a"] == seconds_of["notebook-b"], "dcgm: the time-sliced GPU is not shared evenly")
    check(seconds_of["trainer-0"] == 2 * seconds_of["notebook-a"], "dcgm: a time-sliced GPU counted more than once")

    # kube-state-metrics: requested GPU-seconds per pod and the pod labels as tags; the
    # time-sliced node's replicas from its label, the dedicated node's GPUs whole, the
    # Succeeded job's requests not held.
    ksm = run_apportion(apportion, "ingest", "kube-state-metrics", str(work / "ksm.json"),
                        "--max_gap", MAX_GAP)["records"]
    want_ksm = expected_ksm(answers["ksm"])
    check({r["tags"]["pod"] for r in ksm} == set(want_ksm), f"ksm: pods {[r['tags']['pod'] for r in ksm]}")
    check("eval-28419240-x7q2k" not in want_ksm and "pretrain-0" in want_ksm, "ksm: phases or nodes not in the answer")
    ksm_gpus = {r["tags"]["pod"]: r["measures"]["gpus"] for r in ksm}
    check(as_decimal(ksm_gpus["pretrain-0"]) == 8 and as_decimal(ksm_gpus["notebook-a"]) == Decimal("0.5"),
          f"ksm: replicas per node {ksm_gpus}")
    for r in ksm:
        check(as_decimal(r["measures"]["gpu_seconds"]) == rounded(want_ksm[r["tags"]["pod"]]),
              f"ksm {r['tags']['pod']}: gpu_seconds {r['measures']['gpu_seconds']}")
    check({r["tags"]["pod"]: r["tags"].get("team") for r in ksm}["notebook-b"] == "nlp", "ksm: pod labels not joined")

    # vLLM: counter increases per model, the Qwen restart read as a reset.
    vllm = run_apportion(apportion, "ingest", "vllm", str(work / "vllm.json"))["records"]
    want_vllm = expected_vllm(answers["vllm"])
    check({r["tags"]["model"] for r in vllm} == set(want_vllm), "vllm: models differ")
    for r in vllm:
        for measure, value in want_vllm[r["tags"]["model"]].items():
            check(as_decimal(r["measures"][measure]) == rounded(value),
                  f"vllm {r['tags']['model']}: {measure} {r['measures'][measure]}, expected {value}")
    qwen = [s for s in matrix(answers["vllm"]) if s["metric"]["model_name"].startswith("Qwen")
            and s["metric"]["__name__"] == "vllm:prompt_tokens_total"][0]
    values = [exact(v) for _, v in qwen["values"]]
    check(any(b < a for a, b in zip(values, values[1:])), "vllm: the Qwen restart is not in the answer")
    # Each scrape adds 1/8 of the template's count; the restart loses nothing counted after it.
    step = exact("921600") / 8
    qwen_prompt = next(r for r in vllm if r["tags"]["model"].startswith("Qwen"))["measures"]["tokens_prompt"]
    check(as_decimal(qwen_prompt) % as_decimal(step) == 0, f"vllm: Qwen prompt tokens {qwen_prompt} not whole scrapes")

    # End to end: the node's cost per team, from DCGM usage joined with pod labels.
    spec = {
        "apportion": 1, "currency": "USD",
        "pools": [{"id": "gpu-node-1", "cost": "98.32"}],
        "records": [],
        "inputs": [
            {"as": "pods", "format": "kube-state-metrics", "path": "ksm.json", "max_gap": float(MAX_GAP),
             "join_only": True},
            {"format": "dcgm", "path": "dcgm.json", "max_gap": float(MAX_GAP),
             "join": {"input": "pods", "on": ["namespace", "pod"]}},
        ],
        "steps": [{"id": "by-team", "strategy": "proportional", "pool": "gpu-node-1",
                   "group_by": ["team"], "weight": "gpu_seconds"}],
    }
    (work / "spec.json").write_text(json.dumps(spec, indent=1))
    result = run_apportion(apportion, "run", str(work / "spec.json"))
    lines = [l for l in result["lines"] if l["step"] == "by-team"]
    check(sum(as_decimal(l["cost"]) for l in lines) == Decimal("98.32"), "by-team: lines do not sum to the pool")
    team_seconds = defaultdict(Fraction)
    labels = {r["tags"]["pod"]: r["tags"].get("team") for r in ksm}
    for key, (seconds, _) in want.items():
        if isinstance(key, str):
            team_seconds[labels[key]] += seconds
    total = sum(team_seconds.values())
    costs = {l["tags"]["team"]: l["cost"] for l in lines if l["kind"] == "allocated"}
    check(set(costs) == set(team_seconds), f"by-team: teams {sorted(costs)}")
    for team, seconds in team_seconds.items():
        check(abs(exact(costs[team]) - Fraction(9832, 100) * seconds / total) <= Fraction(1, 100),
              f"by-team: {team} costs {costs[team]}")
    pods_input = result["inputs"][0]
    check(pods_input["rows"] == len(matrix(answers["ksm"])) and "warnings" not in pods_input,
          f"ksm: rows and warnings {pods_input}")
    joined = result["inputs"][1]
    check(joined["joined"] == len(want) - 1 and joined["unmatched"] == 1, f"join counts {joined}")
    check(joined["rows"] == len(matrix(answers["dcgm"])), f"dcgm: rows {joined}")
    print(f"ok: {scraped_lines} lines' costs scraped back; "
          f"{sum(len(matrix(a)) for a in answers.values())} series from Prometheus; team costs "
          + ", ".join(f"{t} {c}" for t, c in sorted(costs.items())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--apportion", required=True)
    parser.add_argument("--prometheus", default=shutil.which("prometheus") or "/usr/bin/prometheus")
    parser.add_argument("--save", type=Path)
    args = parser.parse_args()
    if not os.access(args.prometheus, os.X_OK):
        if os.environ.get("APPORTION_REQUIRE_PROMETHEUS") == "1":
            print(f"FAIL: no prometheus at {args.prometheus} (install Debian's prometheus package)")
            return 1
        print(f"skipped: no prometheus at {args.prometheus} (install Debian's prometheus package)")
        return SKIPPED
    with tempfile.TemporaryDirectory(prefix="apportion-prometheus-") as tmp:
        work = args.save or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        try:
            run(args, work)
        except Failure as e:
            print(f"FAIL: {e} (answers in {work})" if args.save else f"FAIL: {e}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
