#!/usr/bin/env python3
"""Exit codes and outputs of the apportion command line.

  test_cli.py BUILD/examples/apportion

Exit 0 on success with its output on stdout; exit 2 on bad input with exactly one line on
stderr and nothing on stdout; exit 1 only for an internal fault. Prints one line per check
and 'N passed, N failed'; exits 1 on any failure.
"""
import csv
import io
import json
from decimal import Decimal
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, finish, run  # noqa: E402

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec", "cases")

SPEC = {"apportion": 1,
        "pools": [{"id": "node", "cost": "31.36"}],
        "records": [{"tags": {"team": "nlp"}, "measures": {"tokens_prompt": 3000000, "tokens_generation": 1000000}},
                    {"tags": {"team": "cv"}, "measures": {"tokens_prompt": 2000000, "tokens_generation": 500000}},
                    {"tags": {"team": "platform"}, "measures": {"tokens_prompt": 1000000, "tokens_generation": 500000}},
                    {"tags": {"team": "research"}, "measures": {"tokens_prompt": 1000000, "tokens_generation": 200000}},
                    {"tags": {"team": "product"}, "measures": {"tokens_prompt": 600000, "tokens_generation": 200000}}],
        "steps": [{"id": "tenants", "strategy": "per_tenant", "pool": "node"}]}
COSTS = {"cv": "7.84", "nlp": "12.55", "platform": "4.70", "product": "2.51", "research": "3.76"}




def ok(name, args, stdin=None, contains=None):
    code, out, err = run(args, stdin)
    good = code == 0 and out != "" and err == ""
    if contains is not None:
        good = good and contains in out
    check(name, good, f"(exit {code}, stdout {out[:200]!r}, stderr {err[:200]!r})")
    return out


def bad(name, args, stdin=None, starts=None):
    """Bad input: exit 2, nothing on stdout, exactly one line on stderr."""
    code, out, err = run(args, stdin)
    good = code == 2 and out == "" and err.endswith("\n") and err.count("\n") == 1 and err.strip() != ""
    if starts is not None:
        good = good and err.startswith(starts)
    check(name, good, f"(exit {code}, stdout {out[:200]!r}, stderr {err[:300]!r})")
    return err


with tempfile.TemporaryDirectory() as tmp:
    spec_path = os.path.join(tmp, "spec.json")
    with open(spec_path, "w") as f:
        json.dump(SPEC, f)

    # version and help
    out = ok("--version", ["--version"])
    check("--version format", out.startswith("apportion ") and out.count("\n") == 1 and out.split()[1].count(".") == 2, repr(out))
    ok("version command", ["version"], contains="apportion ")
    ok("--help", ["--help"], contains="usage: apportion")
    ok("-h", ["-h"], contains="usage: apportion")
    ok("help", ["help"], contains="usage: apportion")
    ok("help run", ["help", "run"], contains="usage: apportion run")
    ok("help catalog", ["help", "catalog"], contains="usage: apportion catalog")
    ok("run --help", ["run", "--help"], contains="--format")
    ok("run -h", ["run", "-h"], contains="--format")
    ok("catalog --help", ["catalog", "--help"], contains="lookup")
    ok("catalog show --help", ["catalog", "show", "--help"], contains="lookup")

    # run: json, table, csv, stdin, --output
    out = ok("run json", ["run", spec_path])
    res = json.loads(out) if out else {}
    got = {l["tags"]["team"]: l["cost"] for l in res.get("lines", [])}
    check("run json costs", got == COSTS, repr(got))
    check("run json pools", res.get("pools") == [{"id": "node", "cost": "31.36"}], repr(res.get("pools")))
    ok("run --format json", ["run", spec_path, "--format", "json"], contains='"lines"')
    out_stdin = ok("run stdin", ["run", "-"], stdin=json.dumps(SPEC))
    check("stdin equals file", out_stdin == out)
    table = ok("run table", ["run", spec_path, "--format", "table"], contains="Step tenants: pool node")
    check("table totals", "total" in table and "31.36" in table and "100.00%" in table and "40.02%" in table, table)
    csv_text = ok("run csv", ["run", "--format=csv", spec_path])
    rows = list(csv.reader(io.StringIO(csv_text, newline="")))
    check("csv rows", len(rows) == 6 and rows[0][:4] == ["step", "pool", "kind", "team"] and
          {r[3]: r[4] for r in rows[1:]} == COSTS, repr(rows))
    out_file = os.path.join(tmp, "out.json")
    code, o, e = run(["run", spec_path, "--output", out_file])
    check("run --output", code == 0 and o == "" and e == "" and open(out_file).read() == out, f"{code} {o!r} {e!r}")
    # a spec in another folder, given by a relative path
    with open(os.path.join(CASES, "seed-five-teams-gpu-hours.json")) as f:
        case_spec = json.load(f)["spec"]
    os.mkdir(os.path.join(tmp, "sub"))
    with open(os.path.join(tmp, "sub", "case.json"), "w") as f:
        json.dump(case_spec, f)
    code, out, err = run(["run", os.path.join("sub", "case.json")], cwd=tmp)
    check("run a relative path", code == 0 and '"cost": "22579.20"' in out, err)

    # bad input: exit 2, one line on stderr, nothing on stdout
    neg = dict(SPEC, records=[{"tags": {"team": "a"}, "measures": {"tokens_prompt": -5}}])
    bad("negative measure", ["run", "-"], stdin=json.dumps(neg), starts="records[0].measures.tokens_prompt: ")
    bad("negative measure (table)", ["run", "-", "--format", "table"], stdin=json.dumps(neg), starts="records[0].measures.tokens_prompt")
    bad("not JSON", ["run", "-"], stdin='{"apportion": 1,\n  "pools": [}', starts="line 2, column 13: ")
    bad("empty stdin", ["run", "-"], stdin="", starts="line 1, column 1: ")
    bad("multi-line message stays one line", ["run", "-"], stdin=json.dumps(dict(SPEC, pools=[{"id": "a\nb", "cost": 1}, {"id": "a\nb", "cost": 1}])),
        starts="pools[1].id: ")
    bad("unknown key", ["run", "-"], stdin=json.dumps(dict(SPEC, colour=1)), starts="colour: ")
    bad("missing file", ["run", os.path.join(tmp, "nope.json")])
    bad("run without spec", ["run"])
    bad("run with two specs", ["run", spec_path, spec_path])
    bad("unknown format", ["run", spec_path, "--format", "xml"])
    bad("unknown option", ["run", spec_path, "--bogus", "1"], starts="unknown option --bogus")
    bad("option without value", ["run", spec_path, "--format"])
    bad("an option given twice", ["run", spec_path, "--format", "table", "--format=csv"],
        starts='option --format given twice ("table" and "csv")')
    # Limits: five records are over --max-records 4; the help lists every limit.
    bad("a limit", ["run", spec_path, "--max-records", "4"],
        starts="records: more than 4 records (limit max_records; raise it with --max-records")
    ok("under the limit", ["run", spec_path, "--max-records", "5", "--max-groups-per-step=5"], contains='"cost"')
    bad("a bad limit", ["run", spec_path, "--max-records", "many"], starts='--max-records: must be a positive whole number')
    ok("run --help lists the limits", ["run", "--help"], contains="--max-groups-per-step N")
    bad("unknown command", ["frobnicate"])
    bad("no command", [])
    bad("unknown catalog option", ["catalog", "show", "--colour", "red"])
    bad("catalog without action", ["catalog"])
    bad("catalog unknown action", ["catalog", "list"])
    bad("catalog lookup unknown sku", ["catalog", "lookup", "nobody/nothing"])
    bad("catalog lookup unknown tier", ["catalog", "lookup", "spheron/h100-sxm5", "--tier", "nope"])
    bad("catalog lookup bad time", ["catalog", "lookup", "spheron/h100-sxm5", "--at", "yesterday"])
    bad("catalog show bad format", ["catalog", "show", "--format", "xml"])
    bad("catalog missing file", ["catalog", "show", "--catalog", os.path.join(tmp, "none.json")])
    bad("catalog bad file", ["catalog", "show", "--catalog", spec_path])

    # catalog
    out = ok("catalog show", ["catalog", "show"])
    cat = json.loads(out) if out else {}
    ids = [s["id"] for s in cat.get("skus", [])]
    check("catalog show has spheron/h100-sxm5", "spheron/h100-sxm5" in ids, repr(ids[:10]))
    ok("catalog show table", ["catalog", "show", "--format", "table"], contains="spheron/h100-sxm5")
    code, out, err = run(["catalog", "lookup", "spheron/h100-sxm5", "--tier", "spot"])
    check("catalog lookup spot", code == 0 and out == "2.91 per gpu_hour\n" and err == "", f"{code} {out!r} {err!r}")
    own = os.path.join(tmp, "catalog.json")
    with open(own, "w") as f:
        json.dump({"skus": [{"id": "my/gpu", "unit": "gpu_hour", "prices": [
            {"rate": "1.50", "from": "2026-01-01T00:00:00Z"}, {"rate": "1.25", "from": "2026-06-01T00:00:00Z"}]}]}, f)
    code, out, err = run(["catalog", "lookup", "my/gpu", "--catalog", own])
    check("catalog lookup latest", code == 0 and out == "1.25 per gpu_hour\n", f"{code} {out!r} {err!r}")
    code, out, err = run(["catalog", "lookup", "my/gpu", "--catalog", own, "--at", "2026-03-01T00:00:00Z"])
    check("catalog lookup --at", code == 0 and out == "1.5 per gpu_hour\n", f"{code} {out!r} {err!r}")
    bad("catalog lookup before first price", ["catalog", "lookup", "my/gpu", "--catalog", own, "--at", "2025-01-01T00:00:00Z"])
    out = ok("catalog show own", ["catalog", "show", "--catalog", own])
    check("catalog show own round trip", json.loads(out)["skus"][0]["prices"][1]["rate"] == "1.25" if out else False, out)

# ingest: a file in another format as spec JSON, and a spec that reads inputs.
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data")
with tempfile.TemporaryDirectory() as tmp:
    usage = os.path.join(tmp, "usage.csv")
    with open(usage, "w") as f:
        f.write("namespace,team,gpu_seconds\nnlp,nlp,1.5\nvision,,3\n")
    out = ok("ingest csv", ["ingest", "csv", usage, "--tags", "namespace,team", "--measures", "gpu_seconds"])
    records = json.loads(out)["records"] if out else []
    check("ingest csv records", records == [
        {"tags": {"namespace": "nlp", "team": "nlp"}, "measures": {"gpu_seconds": "1.5"}},
        {"tags": {"namespace": "vision"}, "measures": {"gpu_seconds": "3"}}], repr(records))
    ok("ingest --help lists formats", ["ingest", "--help"], contains="sacct")
    bad("ingest unknown format", ["ingest", "nope", usage], starts="unknown format")
    bad("ingest unknown option", ["ingest", "csv", usage, "--tagz", "namespace"], starts="--tagz: unknown key")
    with open(usage, "a") as f:
        f.write("cv,cv,-2\n")
    bad("ingest bad row names file and line", ["ingest", "csv", usage, "--tags", "namespace", "--measures",
                                                "gpu_seconds"], starts=usage + " line 4: ")
    out = ok("ingest --skip_invalid", ["ingest", "csv", usage, "--tags", "namespace", "--measures", "gpu_seconds",
                                       "--skip_invalid", "true"])
    check("ingest --skip_invalid counts", out and json.loads(out).get("skipped") == 1, out)
    # Either spelling of an option: --skip-invalid as run spells its options.
    dashed = ok("ingest --skip-invalid", ["ingest", "csv", usage, "--tags", "namespace", "--measures", "gpu_seconds",
                                          "--skip-invalid", "true"])
    check("ingest --skip-invalid is --skip_invalid", dashed == out, dashed)
    with open(usage, "a") as f:
        f.write("nlp,nlp,2.25\n")
    out = ok("ingest --aggregate", ["ingest", "csv", usage, "--tags", "namespace,team", "--measures", "gpu_seconds",
                                    "--aggregate", "true", "--skip_invalid", "true"])
    check("ingest --aggregate sums rows with equal tags", out and json.loads(out).get("records") == [
        {"tags": {"namespace": "nlp", "team": "nlp"}, "measures": {"gpu_seconds": "3.75"}},
        {"tags": {"namespace": "vision"}, "measures": {"gpu_seconds": "3"}}], out)
    bad("ingest --aggregate refuses ids", ["ingest", "csv", usage, "--tags", "namespace", "--id", "team",
                                           "--aggregate", "true"], starts="--id: cannot be used with aggregate")
out = ok("run a spec with sacct inputs", ["run", os.path.join(EXAMPLES, "training-from-slurm.json")])
res = json.loads(out) if out else {}
teams = {l["tags"]["team"]: l["cost"] for l in res.get("lines", []) if l["step"] == "teams"}
check("sacct inputs priced per team", teams == {"cv": "1043.20", "nlp": "1363.20", "research": "7.55"}, repr(teams))
check("inputs summary", res.get("inputs", [{}])[0].get("records") == 3, repr(res.get("inputs")))

# The end-to-end examples: Prometheus answers (DCGM joined with kube-state-metrics pod labels)
# to per-team GPU cost; vLLM counters plus LiteLLM spend logs to per-tenant token cost.
out = ok("run the DCGM + kube-state-metrics example", ["run", os.path.join(EXAMPLES, "team-gpu-cost.json")])
res = json.loads(out) if out else {}
teams = {l["tags"]["team"]: l["cost"] for l in res.get("lines", []) if l["step"] == "by-team"}
# Every GPU was observed for 84,600 s (a day less a 30-minute outage), the time-sliced one too,
# so the idle GPU is exactly a quarter of 376.32.
check("per-team GPU cost", teams == {"nlp": "104.92", "platform": "80.64", "research": "83.24", "search": "13.44",
                                     "__idle__": "94.08", "__unallocated__": "0.00"}, repr(teams))
check("join counted", [i.get("joined") for i in res.get("inputs", [])] == [None, 6], repr(res.get("inputs")))
out = ok("run the vLLM + LiteLLM example", ["run", os.path.join(EXAMPLES, "tenant-token-cost.json")])
res = json.loads(out) if out else {}
for step, pool in (("llama-tenants", "llama"), ("qwen-tenants", "qwen")):
    lines = [Decimal(l["cost"]) for l in res.get("lines", []) if l["step"] == step]
    pools = {p["id"]: Decimal(p["cost"]) for p in res.get("pools", [])}
    check(f"{step} sums to its pool", lines and sum(lines) == pools.get(pool), repr(lines))
rates = {u["tags"]["team"] for u in res.get("unit_costs", [])}
check("per-tenant unit costs", rates == {"search", "support-bot", "analytics"}, repr(rates))

# Progress of input files on stderr: forced on it reports rows and leaves stdout as it was;
# off (and by default, stderr not being a terminal here) nothing is written to stderr.
with tempfile.TemporaryDirectory() as tmp:
    with open(os.path.join(tmp, "usage.csv"), "w") as f:
        f.write("team,gpu_seconds\n" + "".join(f"t{i % 7},{i}\n" for i in range(5000)))
    with open(os.path.join(tmp, "spec.json"), "w") as f:
        json.dump({"apportion": 1, "pools": [{"id": "node", "cost": "100"}], "records": [],
                   "inputs": [{"format": "csv", "path": "usage.csv", "tags": ["team"], "measures": ["gpu_seconds"]}],
                   "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"],
                              "weight": "gpu_seconds"}]}, f)
    spec_path = os.path.join(tmp, "spec.json")
    quiet = ok("no progress when stderr is not a terminal", ["run", spec_path])
    code, out, err = run(["run", spec_path, "--progress", "always"])
    # Lines while reading (the header is one), then the file's data rows and its records.
    check("--progress always reports rows on stderr", code == 0 and out == quiet and
          "reading usage.csv: 5,001 lines" in err and "read usage.csv: 5,000 rows, 5,000 records" in err and
          err.endswith("\n"), repr(err[-200:]))
    ok("--progress never", ["run", spec_path, "--progress", "never"])
    ok("--max_records spelt with an underscore", ["run", spec_path, "--max_records", "100000"])
    bad("a near miss of an option is named", ["run", spec_path, "--max-record", "5"],
        starts="unknown option --max-record (did you mean --max-records?)")
    bad("--progress refuses other values", ["run", spec_path, "--progress", "sometimes"],
        starts="--progress must be auto, always or never")

# ---- statements: examples/data/team-chargeback.json, worked by hand in docs/statements.md ----
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CHARGEBACK = os.path.join(ROOT, "examples", "data", "team-chargeback.json")
code, out, err = run(["run", CHARGEBACK])
res = json.loads(out) if code == 0 else {}
statement = (res.get("statements") or [{}])[0]
check("statement rows: each team in all", {r["tags"]["team"]: r["cost"] for r in statement.get("rows", [])} ==
      {"__idle__": "100.00", "cv": "96.87", "nlp": "203.13", "platform": "50.00"}, repr(statement)[:400])
check("statement total is the bill", statement.get("total") == "450.00", repr(statement.get("total")))
nlp = next((r for r in statement.get("rows", []) if r["tags"]["team"] == "nlp"), {})
check("statement parts: nlp's three lines", [(p["step"], p["pool"], p["cost"]) for p in nlp.get("parts", [])] ==
      [("node-a", "node-a", "112.50"), ("node-b", "node-b", "40.00"), ("endpoint", "llm-endpoint", "50.63")], repr(nlp))
code, table, err = run(["run", CHARGEBACK, "--format", "table"])
section = table[table.find("Statement teams"):].rstrip("\n")
doc = open(os.path.join(ROOT, "docs", "statements.md"), encoding="utf-8").read()
check("docs/statements.md shows the statement the build prints", code == 0 and section and section in doc, section)
code, out, err = run(["run", CHARGEBACK, "--format", "csv"])
rows = list(csv.reader(io.StringIO(out)))
check("csv: a statement column and a row per statement row",
      rows and rows[0][-1] == "statement" and [r[-1] for r in rows if r[2] == "statement"] == ["teams"] * 4 and
      all(r[-1] == "" for r in rows[1:] if r[2] != "statement"), repr(rows[:3]))

# ---- a series: examples/data/week-by-day.json, a week of one node by day (docs/series.md) ----
code, out, err = run(["run", os.path.join(ROOT, "examples", "data", "week-by-day.json")])
res = json.loads(out) if code == 0 else {}
days = res.get("series", [])
check("series: seven days of the week's pool", len(days) == 7 and
      sum(Decimal(d["pools"][0]["cost"]) for d in days) == Decimal("700.00"), repr(days)[:300])
check("series: each day's lines sum to its amount", days and all(
      sum(Decimal(l["cost"]) for l in res["lines"] if l["bucket"]["start"] == d["start"]) == Decimal(d["pools"][0]["cost"])
      for d in days), repr(res.get("lines"))[:300])
flagged = [(f["bucket"]["start"], f["tags"]) for f in res.get("anomalies", [{}])[0].get("flagged", [])]
check("series: the trend flags cv's spike on June 6", ("2026-06-06T00:00:00Z", {"team": "cv"}) in flagged, repr(flagged))
code, out, err = run(["run", os.path.join(ROOT, "examples", "data", "week-by-day.json"), "--format", "csv"])
check("series: csv carries each line's bucket", out.startswith("step,pool,bucket_start,bucket_end,kind,"), out[:120])

# ---- a request log: examples/data/request-log-chargeback.json, a day's per-request events (jsonl) ----
# The node's 98.32 split by the GPU-seconds each business unit's requests logged: each
# line within a cent of its exact share, the lines summing to the bill.
code, out, err = run(["run", os.path.join(ROOT, "examples", "data", "request-log-chargeback.json")])
res = json.loads(out) if code == 0 else {}
logged = {}
with open(os.path.join(ROOT, "examples", "data", "requests", "requests.jsonl")) as f:
    for line in f:
        event = json.loads(line, parse_float=Decimal)
        unit = event["request"]["business_unit"]
        logged[unit] = logged.get(unit, Decimal(0)) + event["usage"]["gpu_seconds"]
by_unit = {l["tags"]["business_unit"]: Decimal(l["cost"]) for l in res.get("lines", []) if l["step"] == "by-unit"}
total = sum(logged.values())
check("request log: each business unit's share of the bill, to the cent",
      set(by_unit) == set(logged) and sum(by_unit.values()) == Decimal("98.32") and
      all(abs(by_unit[u] - Decimal("98.32") * logged[u] / total) < Decimal("0.01") for u in logged),
      repr((by_unit, logged)))
check("request log: 48 lines read as 48 records", res.get("inputs", [{}])[0].get("records") == 48, repr(res.get("inputs")))

# ---- training runs from MLflow: examples/data/training-from-mlflow.json over mlflow/mlruns ----
# Each run priced by hand from its meta.yaml and params: count x billed seconds x rate /
# 3600, the A100s per second (1.60), the H100s per started minute (3.90, spot 1.95); then the
# costs written back into a copy of the store, and a second write adds nothing.
import math  # noqa: E402
import shutil  # noqa: E402

store = os.path.join(ROOT, "examples", "data", "mlflow", "mlruns")
expected = {}
for exp in sorted(os.listdir(store)):
    for rid in sorted(os.listdir(os.path.join(store, exp))):
        meta_file = os.path.join(store, exp, rid, "meta.yaml")
        if not os.path.isfile(meta_file):
            continue
        meta = dict(line.split(": ", 1) for line in open(meta_file).read().splitlines() if ": " in line)
        if meta["lifecycle_stage"] == "deleted":
            continue
        param = lambda k: open(os.path.join(store, exp, rid, "params", k)).read()  # noqa: E731
        gpus, seconds = Decimal(param("num_gpus")), Decimal(int(meta["end_time"]) - int(meta["start_time"])) / 1000
        if param("instance_type") == "a100-80gb":
            exact = gpus * max(seconds, Decimal(60)) * Decimal("1.60") / 3600
        else:
            spot = os.path.exists(os.path.join(store, exp, rid, "tags", "capacity")) and \
                open(os.path.join(store, exp, rid, "tags", "capacity")).read() == "spot"
            exact = gpus * math.ceil(seconds / 60) * (Decimal("1.95") if spot else Decimal("3.90")) / 60
        expected[meta["run_name"].strip()] = (rid, exact.quantize(Decimal("0.01")), int(meta["end_time"]))
spec_path = os.path.join(ROOT, "examples", "data", "training-from-mlflow.json")
code, out, err = run(["run", spec_path])
res = json.loads(out) if code == 0 else {}
priced = {l["tags"]["run_name"]: Decimal(l["cost"]) for l in res.get("lines", []) if l["step"] == "runs"}
check("mlflow: six runs priced by hand (the deleted one left out)",
      len(expected) == 6 and priced == {name: cost for name, (_, cost, _) in expected.items()}, repr((priced, expected)))
check("mlflow: the deleted run is told", "1 run deleted" in err, err)
with tempfile.TemporaryDirectory() as tmp:
    copy = os.path.join(tmp, "mlruns")
    shutil.copytree(store, copy)
    code, out, err = run(["run", spec_path, "--log-to-mlflow", copy])
    check("mlflow: costs written back", code == 0 and "18 metric points and 36 tags written to 6 runs" in err, err)
    files = {}
    for name, (rid, cost, end) in expected.items():
        exp = next(e for e in os.listdir(copy) if os.path.isdir(os.path.join(copy, e, rid)))
        with open(os.path.join(copy, exp, rid, "metrics", "training_cost_usd")) as f:
            files[name] = f.read()
        check(f"mlflow: {name}'s training_cost_usd holds its cost", files[name] == f"{end} {float(cost)!r} 0\n", files[name])
    code, out, err = run(["run", spec_path, "--log-to-mlflow", copy])
    check("mlflow: a second write adds nothing", code == 0 and "all up to date" in err, err)
    code, out, err = run(["run", spec_path, "--log-to-mlflow", os.path.join(tmp, "nowhere")])
    check("mlflow: a target that is no store is an error", code != 0 and "is not a folder" in err, err)

# ---- a month by day: examples/data/june-by-day.json, DCGM + kube-state-metrics + an hourly FOCUS bill ----
# (examples/data/june/README.md). 720 hours at 98.32: 2,359.68 a day, 70,790.40 the month. A
# usual day: nlp 4 GPUs, search 1, vision 2, one idle: 1,179.84, 294.96, 589.92, idle 294.96.
# June 18: search's sweep takes vision's two GPUs and the idle one: search 4 GPUs, 1,179.84.
code, out, err = run(["run", os.path.join(ROOT, "examples", "data", "june-by-day.json")])
res = json.loads(out) if code == 0 else {}
days = res.get("series", [])
check("june: thirty days of the bill, 2,359.68 each", len(days) == 30 and
      all(d["pools"][0]["cost"] == "2359.68" for d in days) and res["pools"][0]["cost"] == "70790.40", repr(days)[:300])
check("june: each day's lines sum to that day's amount", days and all(
      sum(Decimal(l["cost"]) for l in res["lines"] if l["bucket"]["start"] == d["start"]) == Decimal(d["pools"][0]["cost"])
      for d in days), repr(res.get("lines"))[:300])
by_team = {(l["bucket"]["start"][:10], l["tags"].get("team")): l["cost"] for l in res.get("lines", []) if l["kind"] != "unallocated"}
check("june: a usual day and the sweep's day, per team",
      [by_team.get(("2026-06-17", t)) for t in ("nlp", "search", "vision", "__idle__")] == ["1179.84", "294.96", "589.92", "294.96"] and
      [by_team.get(("2026-06-18", t)) for t in ("nlp", "search", "vision", "__idle__")] == ["1179.84", "1179.84", "0.00", None],
      repr(sorted(by_team.items()))[:400])
rows = {r["tags"]["team"]: r["cost"] for r in (res.get("statements") or [{}])[0].get("rows", [])}
check("june: the month per team sums to the bill", rows.get("search") == "9733.68" and
      sum(Decimal(c) for c in rows.values()) == Decimal("70790.40"), repr(rows))
flagged = [(f["bucket"]["start"], f["tags"]) for f in (res.get("anomalies") or [{}])[0].get("flagged", [])]
check("june: the trend flags search's spike on June 18, and nothing else",
      flagged == [("2026-06-18T00:00:00Z", {"team": "search"})], repr(flagged))
code, out, err = run(["run", os.path.join(ROOT, "examples", "data", "june-by-day.json"), "--format", "focus"])
periods = {}
for row in csv.DictReader(io.StringIO(out)):
    periods[row["ChargePeriodStart"]] = periods.get(row["ChargePeriodStart"], Decimal(0)) + Decimal(row["BilledCost"])
check("june: FOCUS rows charged over their day, each day's summing to its bill", len(periods) == 30 and
      set(periods.values()) == {Decimal("2359.68")} and "2026-06-18T00:00:00Z" in periods, repr(periods)[:300])

# ---- a fleet: examples/data/fleet-chargeback.json, a FOCUS bill of three nodes and per-node usage ----
code, out, err = run(["run", os.path.join(ROOT, "examples", "data", "fleet-chargeback.json")])
res = json.loads(out) if code == 0 else {}
# Each node split on its own by its usage: node-1 600:200 of 470.40, node-2 100:300 of 470.40,
# node-3 (billed half a day) 50:50 of 235.20; the support row, no ResourceId, is pool "unassigned".
check("fleet: each node's lines sum to its bill row",
      [(l["pool"], l["tags"]["team"], l["cost"]) for l in res.get("lines", [])] ==
      [("i-0a1f", "cv", "117.60"), ("i-0a1f", "nlp", "352.80"), ("i-0b2e", "nlp", "117.60"),
       ("i-0b2e", "search", "352.80"), ("i-0c3d", "cv", "117.60"), ("i-0c3d", "search", "117.60")], repr(res.get("lines"))[:400])
rows = {r["tags"]["team"]: r["cost"] for r in (res.get("statements") or [{}])[0].get("rows", [])}
check("fleet: per-team cluster totals in one step", rows ==
      {"__unallocated__": "100.00", "cv": "235.20", "nlp": "470.40", "search": "470.40"}, repr(rows))
check("fleet: usage of a node the bill lacks is named", err.strip() == 'apportion: warning: steps[0]: records of step '
      '"nodes" match no pool by their tag "node" ("gpu-node-9"), so they take no part', repr(err))

code, out, err = run(["run", os.path.join(ROOT, "examples", "data", "fleet-chargeback.json"), "--format", "focus"])
billed = {}
for row in csv.DictReader(io.StringIO(out)):
    billed[row["ResourceId"]] = billed.get(row["ResourceId"], Decimal(0)) + Decimal(row["BilledCost"])
check("fleet: FOCUS rows of each node sum to its own charge", billed ==
      {"i-0a1f": Decimal("470.40"), "i-0b2e": Decimal("470.40"), "i-0c3d": Decimal("235.20")}, repr(billed))

finish()

