#!/usr/bin/env python3
"""The governance examples run and say what docs/governance.md says they say.

  test_examples_governance.py BUILD/examples/apportion

Runs `apportion run` on examples/data/governance-month.json and examples/data/multi-currency.json
and checks the key figures of every governance section against values worked out by hand from
the contract (docs/spec.md, "Governance"), plus the invariants that hold whatever the figures:
reconciled lines sum to the bill, causes sum to the difference, incremental savings sum to the
combined saving, which never exceeds the baseline. Also checks that a pool in another currency
without a rate is refused with exit 2 and one line naming the pool, and that every JSON block
of docs/governance.md marked as pasted from output is what the build prints. Prints one line
per check and 'N passed, N failed'; exits 1 on any failure.
"""
from decimal import Decimal
import json
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, finish, run  # noqa: E402

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "data")




def run_example(name):
    code, out, err = run(["run", os.path.join(EXAMPLES, name)])
    check(f"{name}: exit 0, nothing on stderr", code == 0 and err == "", f"(exit {code}, stderr {err[:300]!r})")
    try:
        return json.loads(out)
    except ValueError:
        check(f"{name}: the result is JSON", False, repr(out[:200]))
        return {}


def by_id(doc, section):
    return {entry.get("id"): entry for entry in doc.get(section, [])}


def eq(name, got, want):
    check(name, got == want, f"(got {got!r}, want {want!r})")


def total(values):
    return sum((Decimal(v) for v in values), Decimal(0))


# ---- governance-month.json -------------------------------------------------------------------
doc = run_example("governance-month.json")
lines = doc.get("lines", [])
teams = {l["tags"].get("namespace"): l for l in lines if l.get("step") == "teams"}
eq("teams: the node's split", {k: v["cost"] for k, v in teams.items()},
   {"llm-serving": "1743.71", "nlp": "2441.19", "research": "581.24", "vision": "1627.46", "__idle__": "518.40"})
eq("section order", [k for k in doc if k in ("budgets", "anomalies", "reconcile", "scorecards", "unit_economics")],
   ["budgets", "anomalies", "reconcile", "scorecards", "unit_economics"])
pools = {p["id"]: p["cost"] for p in doc.get("pools", [])}
eq("focus input: the bill pool (usage + tax)", pools.get("ml-gpu"), "7652.23")
eq("focus input: the tax pool", pools.get("ml-gpu/Tax"), "566.83")
eq("focus input: another sub-account stays out", pools.get("data-lake"), "212.15")

# budgets
budgets = by_id(doc, "budgets")
nlp, vision = budgets.get("nlp-june", {}), budgets.get("vision-june", {})
eq("budget nlp: spend is the nlp line", nlp.get("spend"), "2441.19")
eq("budget nlp: ratio", nlp.get("ratio"), "0.841790")
eq("budget nlp: month period", nlp.get("period"), {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"})
eq("budget nlp: as_of echoed", nlp.get("as_of"), "2026-06-16T00:00:00Z")
eq("budget nlp: linear forecast = spend x 30 days / 15 days", nlp.get("forecast"), "4882.38")
eq("budget nlp: forecast_method", nlp.get("forecast_method"), "linear")
eq("budget nlp: crossed 80%", nlp.get("crossed"), ["0.5", "0.8"])
eq("budget nlp: the forecast crosses every threshold", nlp.get("forecast_crossed"), ["0.5", "0.8", "1", "1.25"])
eq("budget nlp: alerts", nlp.get("alerts"),
   [{"key": "nlp-june/2026-06/0.5", "threshold": "0.5", "severity": "info"},
    {"key": "nlp-june/2026-06/0.8", "threshold": "0.8", "severity": "warning"}])
eq("budget vision: ratio over 1", vision.get("ratio"), "1.084973")
eq("budget vision: forecast", vision.get("forecast"), "3254.92")
eq("budget vision: crossed 100%", vision.get("crossed"), ["0.5", "0.8", "1"])
eq("budget vision: a critical alert", [(a.get("key"), a.get("severity")) for a in vision.get("alerts", [])],
   [("vision-june/2026-06/0.5", "info"), ("vision-june/2026-06/0.8", "warning"),
    ("vision-june/2026-06/1", "critical")])

# anomalies
anomalies = by_id(doc, "anomalies")
ratio, mad = anomalies.get("big-runs", {}), anomalies.get("big-runs-mad", {})
eq("anomaly ratio: method and default threshold", (ratio.get("method"), ratio.get("threshold")), ("ratio", "10"))
eq("anomaly ratio: baseline over 6 experiments", (ratio.get("lines"), ratio.get("baseline")), (6, "39.20"))
eq("anomaly ratio: flags only the big run",
   [(f.get("key"), f.get("tags"), f.get("cost"), f.get("score"), f.get("alert")) for f in ratio.get("flagged", [])],
   [("big-runs/experiment=llama-ft-70b", {"experiment": "llama-ft-70b"}, "422.40", "10.775510", True)])
eq("anomaly mad: threshold, MAD", (mad.get("method"), mad.get("threshold"), mad.get("mad")), ("mad", "3.5", "1.600000"))
eq("anomaly mad: flags only the big run",
   [(f.get("key"), f.get("score")) for f in mad.get("flagged", [])],
   [("big-runs-mad/experiment=llama-ft-70b", "161.542750")])

# reconcile
rec = by_id(doc, "reconcile").get("gpu-node-bill", {})
eq("reconcile: estimate, actual, difference, drift",
   (rec.get("estimate"), rec.get("actual"), rec.get("difference"), rec.get("drift")),
   ("6912.00", "7652.23", "740.23", "0.107093"))
eq("reconcile: period echoed", rec.get("period"), {"start": "2026-06-01T00:00:00Z", "end": "2026-06-16T00:00:00Z"})
eq("reconcile: causes (tax from the bill, usage from quantities, price the rest)", rec.get("causes"),
   [{"name": "tax", "amount": "566.83"}, {"name": "usage", "amount": "28.80"}, {"name": "price", "amount": "144.60"}])
eq("reconcile: causes sum exactly to the difference", total(c["amount"] for c in rec.get("causes", [])),
   Decimal(rec.get("difference", "NaN")))
rec_lines = rec.get("lines", [])
eq("reconcile: one line per estimate line", len(rec_lines), 5)
eq("reconcile: lines sum exactly to the bill", total(l["cost"] for l in rec_lines), Decimal("7652.23"))
eq("reconcile: true-ups sum exactly to the difference", total(l["true_up"] for l in rec_lines), Decimal("740.23"))
check("reconcile: each line is its estimate plus its true-up",
      all(Decimal(l["cost"]) == Decimal(teams[l["tags"]["namespace"]]["cost"]) + Decimal(l["true_up"])
          for l in rec_lines if l.get("tags", {}).get("namespace") in teams) and len(rec_lines) == 5)

# scorecards
card = by_id(doc, "scorecards").get("vllm-endpoint", {})
eq("scorecard: baseline is the endpoint", card.get("baseline"), "1743.71")
levers = card.get("levers", [])
eq("scorecard: lever savings", [(l.get("name"), l.get("saving")) for l in levers],
   [("spot replicas", "0.166667"), ("FP8 quantization", "0.375000"), ("prefix caching", "0.270000"),
    ("right-size replicas", "0.266667")])
eq("scorecard: standalone savings", [l.get("standalone") for l in levers], ["290.62", "653.89", "470.80", "464.99"])
eq("scorecard: combined, remaining", (card.get("combined"), card.get("remaining")), ("1257.53", "486.18"))
check("scorecard: combined below the baseline", Decimal(card.get("combined", "0")) < Decimal(card.get("baseline", "0")))
check("scorecard: combined below the sum of standalone savings",
      Decimal(card.get("combined", "0")) < total(l.get("standalone", "0") for l in levers))
eq("scorecard: incremental savings sum to combined", total(l.get("incremental", "0") for l in levers),
   Decimal(card.get("combined", "NaN")))
check("scorecard: every lever states its formula", levers != [] and all(l.get("formula") for l in levers))
eq("scorecard: risk and assumptions echoed only when given",
   [("risk" in l, "assumptions" in l) for l in levers], [(True, True), (True, False), (False, True), (True, False)])

# unit economics
units = by_id(doc, "unit_economics")
tenants = {l["tags"].get("team"): l for l in units.get("tenants", {}).get("lines", [])}
search = tenants.get("search", {})
eq("unit economics: tenants", sorted(tenants), ["ads", "search", "support-bot"])
eq("unit economics: search quantities", search.get("quantities"), {"requests": "820000", "tokens": "1380000000"})
eq("unit economics: search per inference / thousand requests / million tokens", search.get("per"),
   {"inference": "0.0012", "thousand_requests": "1.1514", "million_tokens": "0.6841"})
runs = {l["tags"].get("experiment"): l for l in units.get("training-runs", {}).get("lines", [])}
big = runs.get("llama-ft-70b", {})
eq("unit economics: runs unit_precision", units.get("training-runs", {}).get("unit_precision"), "0.01")
eq("unit economics: big run quantities", big.get("quantities"),
   {"runs": "2", "epochs": "10", "gpu_hours": "264", "gpu_hours_used": "237.12"})
eq("unit economics: big run per run / epoch / GPU-hour / GPU-hour used", big.get("per"),
   {"run": "211.20", "epoch": "42.24", "gpu_hour": "1.60", "gpu_hour_used": "1.78"})

# ---- multi-currency.json ---------------------------------------------------------------------
doc = run_example("multi-currency.json")
eq("fx: the rate used is listed as written", doc.get("fx"),
   [{"from": "EUR", "to": "USD", "rate": "1.0850", "date": "2026-06-01",
     "source": "ECB euro foreign exchange reference rate, 2026-06-01"}])
pools = {p["id"]: p["cost"] for p in doc.get("pools", [])}
eq("fx: EUR 54000 over 365 days, 30 of them, at 1.0850", pools.get("ai-software-licence"), "4815.62")
licence = [l for l in doc.get("lines", []) if l.get("step") == "licence"]
eq("fx: the licence's lines sum to the converted pool", total(l["cost"] for l in licence), Decimal("4815.62"))

with open(os.path.join(EXAMPLES, "multi-currency.json")) as f:
    spec = json.load(f)
del spec["fx"]
code, out, err = run(["run", "-"], json.dumps(spec))
eq("fx: a pool in another currency without a rate is an error",
   (code, out, err), (2, "", "pools[1].currency: no exchange rate from EUR to USD\n"))

# ---- docs/governance.md: every block pasted from output is what the build prints ----------
# A block marked <!-- result: SOURCE PATH --> is the JSON at PATH of the result of SOURCE (an
# example file or a snippet marked <!-- snippet: NAME --> earlier in the page); one marked
# <!-- spec: FILE PATH --> is quoted from the example file; <!-- table: FILE --> is the table;
# <!-- alerts: FILE --> is `apportion alerts` run twice with one --state file; <!-- ingest: FILE
# COLUMNS --> is `apportion ingest focus FILE --pool_by COLUMNS`.
DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "governance.md")
MARKED = re.compile(r"<!-- (result|spec|snippet|table|alerts|ingest): ([^ ]+)(?: ([^ ]+))? -->\n```[a-z]*\n(.*?)\n```", re.S)


def select(value, path):
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        value = value[int(part[1:-1])] if part.startswith("[") else value[part]
    return value


with open(DOC) as f:
    page = f.read()
snippets, results, blocks = {}, {}, 0
for kind, source, path, body in MARKED.findall(page):
    blocks += 1
    where = f"docs/governance.md {kind} {source} {path}".rstrip()
    try:
        if kind == "snippet":
            snippets[source] = body.split("<<'EOF'\n", 1)[1].rsplit("\nEOF", 1)[0]
            continue
        if kind == "table":
            code, out, err = run(["run", os.path.join(EXAMPLES, source), "--format", "table"])
            # the step tables; anything the table format prints after them is not on the page
            check(where, code == 0 and out.startswith(body + "\n"), f"(exit {code}, got {out[:400]!r})")
            continue
        if kind == "alerts":
            # apportion alerts twice with one state file: the headlines, then nothing new
            with tempfile.TemporaryDirectory() as tmp:
                args = ["alerts", os.path.join(EXAMPLES, source), "--state", os.path.join(tmp, "fired.json")]
                first, second = run(args)[1], run(args)[1]
            heads = [l for l in first.splitlines() if re.match(r"(Budget|Anomaly)", l)]
            eq(where, body, "\n".join(heads + [second.rstrip("\n")]))
            continue
        if kind == "ingest":
            code, out, err = run(["ingest", "focus", os.path.join(EXAMPLES, source), "--pool_by", path])
            eq(where, json.loads(body), json.loads(out) if code == 0 else err)
            continue
        if kind == "spec":
            with open(os.path.join(EXAMPLES, source)) as f:
                eq(where, json.loads(body), select(json.load(f), path))
            continue
        if source not in results:
            if source.startswith("snippet:"):
                code, out, err = run(["run", "-"], snippets[source[len("snippet:"):]])
            else:
                code, out, err = run(["run", os.path.join(EXAMPLES, source)])
            check(f"docs/governance.md: {source} runs", code == 0 and err == "", f"(exit {code}, {err[:300]!r})")
            results[source] = json.loads(out) if code == 0 else {}
        eq(where, json.loads(body), select(results[source], path))
    except (KeyError, IndexError, ValueError) as e:
        check(where, False, f"({type(e).__name__}: {e})")
check("docs/governance.md: blocks found", blocks >= 20, f"({blocks})")

finish()
