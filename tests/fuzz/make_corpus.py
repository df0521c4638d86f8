#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ from the samples in tests/data,
examples/data, tests/spec/cases, tests/governance/cases and src/builtin_catalog.json (docs/fuzzing.md).

Each seed starts with the option bytes its target reads first (see the target's source):
ingest targets take [option set, flags], so a sample is paired with the option sets that
fit it. Large samples are cut down (fewer series, samples and rows) to keep every seed
under the targets' -max_len. Run from anywhere: python3 tests/fuzz/make_corpus.py
"""
import hashlib
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "tests/fuzz/corpus"
MAX = 8192


def text(path):
    return (ROOT / path).read_bytes()


def write(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def lines(data, n):
    return b"".join(data.splitlines(keepends=True)[:n])


def trim_query(path, series=4, samples=6):
    """A Prometheus query answer with fewer series and samples."""
    doc = json.loads(text(path))
    result = doc.get("data", {}).get("result")
    if isinstance(result, list):
        del result[series:]
        for s in result:
            if isinstance(s.get("values"), list):
                del s["values"][samples:]
    return json.dumps(doc, separators=(",", ":")).encode()


def ingest(target, data, options, flags=(0, 1)):
    for o in options:
        for f in flags:
            write(target, bytes([o, f]) + data)


def main():
    # Regenerate the seeds; inputs that once found a bug (regression-*) stay.
    if OUT.exists():
        for f in OUT.rglob("*"):
            if f.is_file() and not f.name.startswith("regression-"):
                f.unlink()

    # spec: the example specs, every shared spec case and every governance case.
    for p in sorted((ROOT / "examples/data").glob("*.json")):
        write("spec", p.read_bytes())
    for p in sorted([*(ROOT / "tests/spec/cases").glob("*.json"), *(ROOT / "tests/governance/cases").glob("*.json")]):
        case = json.loads(p.read_bytes())
        if "spec_text" in case:
            write("spec", case["spec_text"].encode())
        else:
            write("spec", json.dumps(case["spec"], indent=1).encode())

    # mlflow_files: the example store's meta.yaml files (mode 0) and metric files (mode 1).
    for p in sorted((ROOT / "examples/data/mlflow/mlruns").rglob("meta.yaml"))[:6]:
        write("mlflow_files", b"\x00" + p.read_bytes())
    for p in sorted((ROOT / "examples/data/mlflow/mlruns").rglob("metrics/*"))[:4]:
        write("mlflow_files", b"\x01" + p.read_bytes())
    write("mlflow_files", b"\x00name: 'it''s: a sweep'\nexperiment_id: \"5\\u00e9\"\ntags: []\nlong: a\n  folded value\n")

    # catalog: the built-in catalog and the catalogs inside specs; prefix = pick + 4 bytes.
    catalogs = [text("src/builtin_catalog.json")]
    for p in sorted((ROOT / "tests/spec/cases").glob("*.json")):
        spec = json.loads(p.read_bytes()).get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("catalog"), dict):
            catalogs.append(json.dumps(spec["catalog"], indent=1).encode())
    catalogs.append(json.dumps(json.loads(text("examples/data/training-from-slurm.json"))["catalog"]).encode())
    for i, c in enumerate(catalogs):
        write("catalog", bytes([i * 37 % 256, 0, 0x10 * i % 256, 0x20, 0]) + c)

    # decimal: text (mode 0) and two raw values (mode 1).
    for t in ["0", "-0", "12.5", "-12.5", "3.75e-08", "1E3", "0.000000000001", "0.0000000000015",
              "170141183460469231731.687303715884", "-170141183460469231731.687303715884", "1e20", "1.5e-13",
              "98.32", "00012.500", "-0.000", "1e-400", "9" * 40, ".5", "5.", "+1", "NaN", "inf", "1_000"]:
        write("decimal", b"\x00" + t.encode())
    for raw in [b"\x01" + bytes(range(32)), b"\x01" + b"\xff" * 16 + b"\x00" * 16 + b"\x05\x03",
                b"\x01" + b"\x00" * 15 + b"\x80" + b"\x01" + b"\x00" * 15 + b"\x0c\x01"]:
        write("decimal", raw)

    # time: RFC 3339 text (mode 0) and nanoseconds (mode 1).
    for t in ["2026-06-02T10:00:00Z", "2026-06-02T12:00:00.5+02:00", "2026-06-02t10:00:00z", "2026-06-02 10:00:00Z",
              "1970-01-01T00:00:00.000000001Z", "1678-01-01T00:00:00Z", "2261-12-31T23:59:59.999999999Z",
              "2024-02-29T00:00:00-23:59", "2026-06-02T10:00:60Z", "2026-13-01T00:00:00Z"]:
        write("time", b"\x00" + t.encode())
    write("time", b"\x01" + (1_780_000_000_123_456_789).to_bytes(8, "little"))
    write("time", b"\x01" + (-9_000_000_000_000_000_000 % 2**64).to_bytes(8, "little"))

    # Ingest formats: [option set (index into the target's list), flags] + the file.
    usage = text("tests/data/csv/usage.csv")
    ingest("csv", usage, [0, 1, 2], flags=(0, 1, 0x0e))
    ingest("csv", b"k,v\n\"say \"\"hi\"\"\",1\n\"a\nb\",2\r\n\r\nc,-3.5e2\n", [3, 9], flags=(0, 1, 2))
    ingest("csv", b"k,v,w\nx,1,2\ny,3,\nx,0.000000000001,1e3\n", [4])
    ingest("csv", b"a;b;x\n\"1;2\";5;\n", [5])
    ingest("csv", b"\xef\xbb\xbfnamespace\tgpu_seconds\nnlp\t10\nnlp\t5\n", [6])
    ingest("csv", lines(text("tests/data/litellm/spend_logs.csv"), 3), [7])
    focus = lines(text("tests/data/focus/focus-excerpt.csv"), 4)
    ingest("csv", focus, [8])

    for p in ["tests/data/prometheus/dcgm_scrape.prom", "tests/data/prometheus/node_exporter.prom",
              "tests/data/kube-state-metrics/scrape.prom", "tests/data/integration/vllm-llama.prom"]:
        ingest("prometheus_text", text(p), [0, 1, 2, 3, 4], flags=(0,))
    ingest("prometheus_text", b"# TYPE up gauge\nup{job=\"a\",instance=\"h:1\"} 1 1780000000000\nx_bucket{le=\"+Inf\"} 3\n", [0])

    for p in ["tests/data/prometheus/query_range.json", "tests/data/prometheus/query_vector.json",
              "tests/data/prometheus/query_error.json"]:
        ingest("prometheus_json", text(p), [0, 1, 2, 3, 4], flags=(0,))
    ingest("prometheus_json", trim_query("examples/data/prometheus/dcgm.json"), [5, 2])

    for p in ["tests/data/prometheus/dcgm_scrape.prom", "tests/data/integration/dcgm-exporter.prom"]:
        ingest("dcgm", text(p), [0, 2, 4])
    ingest("dcgm", trim_query("examples/data/prometheus/dcgm.json"), [1, 3])

    for p in ["tests/data/dcgm/mig-node.prom", "tests/data/dcgm/no-profiling.prom"]:
        ingest("dcgm", text(p), [4, 6, 7])
    for p in ["tests/data/kube-state-metrics/scrape.prom", "tests/data/integration/kube-state-metrics.prom",
              "tests/data/kube-state-metrics/finished.prom", "tests/data/kube-state-metrics/replicas.prom"]:
        ingest("kube_state_metrics", text(p), [0, 2, 4, 6])
    for p in ["tests/data/kube-state-metrics/recreated.json", "tests/data/kube-state-metrics/exported.json"]:
        ingest("kube_state_metrics", text(p), [1, 5])
    ingest("kube_state_metrics", text("tests/data/kube-state-metrics/query_range.json"), [1, 3])
    ingest("kube_state_metrics", trim_query("examples/data/prometheus/kube-state-metrics.json"), [1])

    ingest("vllm", trim_query("tests/data/vllm/query_range.json", series=8), [0, 1, 2, 3])
    ingest("vllm", trim_query("examples/data/prometheus/vllm.json", series=6), [0, 1])
    ingest("vllm", text("tests/data/integration/vllm-qwen.prom"), [0], flags=(0,))

    ingest("sacct", text("tests/data/sacct/jobs.txt"), [0, 1, 2, 3, 4])
    ingest("sacct", text("tests/data/sacct/malformed.txt"), [0, 1])
    ingest("sacct", text("examples/data/slurm/jobs.txt"), [1])
    for name in ("free-comments", "gpu-types", "shards", "mig", "month-boundary", "mixed-cluster"):
        ingest("sacct", text(f"tests/data/sacct/{name}.txt"), [5, 6, 7])

    for p in ["tests/data/litellm/spend_logs.csv", "tests/data/litellm/spend_logs.json",
              "examples/data/litellm/spend-logs.json"]:
        data = text(p)
        if p.endswith(".json") and len(data) > MAX:  # fewer rows
            data = json.dumps(json.loads(data)[:6], indent=1).encode()
        ingest("litellm_spend", data, [0, 1])

    ingest("litellm_prices", text("tests/data/litellm/model_prices_and_context_window.json"), [0, 1, 2, 3])

    for p in ["tests/data/otel/genai_traces.json", "tests/data/otel/genai_traces.jsonl"]:
        ingest("otel_genai", text(p), [0, 1, 2])

    ingest("focus", lines(text("tests/data/focus/focus-excerpt.csv"), 8), [0, 1, 2, 3])

    ingest("opencost", text("tests/data/opencost/allocation.json"), [0, 1])

    ingest("jsonl", text("examples/data/requests/requests.jsonl"), [0, 1, 2])

    # A runs/search answer of MLflow's REST API, with the experiments/search answer beside it.
    answer = {"experiments": [{"experiment_id": "1", "name": "sweep", "lifecycle_stage": "active"}],
              "runs": [{"info": {"run_id": f"0a1b{i}", "run_name": "lr-3e-5", "experiment_id": "1", "user_id": "priya",
                                 "status": s, "start_time": 1780531200000 + i, "end_time": 1780534800000 if i else None,
                                 "lifecycle_stage": "deleted" if i == 2 else "active"},
                        "data": {"params": [{"key": "num_gpus", "value": "8"}, {"key": "instance_type", "value": "a100-80gb"},
                                            {"key": "lr", "value": "3e-5"}],
                                 "tags": [{"key": "team", "value": "nlp"}, {"key": "capacity", "value": "spot"}]}}
                       for i, s in enumerate(["RUNNING", "FINISHED", "KILLED"])],
              "next_page_token": ""}
    ingest("mlflow", json.dumps(answer).encode(), [0, 1, 2])

    total = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    big = [f for f in OUT.rglob("*") if f.is_file() and f.stat().st_size > MAX]
    print(f"corpus: {sum(1 for f in OUT.rglob('*') if f.is_file())} seeds, {total} bytes; over {MAX} bytes: {len(big)}")


if __name__ == "__main__":
    main()
