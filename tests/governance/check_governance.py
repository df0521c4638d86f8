#!/usr/bin/env python3
"""Run governance cases (budgets, anomalies, reconcile, scorecards, unit_economics) against an
implementation and report every difference.

  check_governance.py --cmd "build/examples/apportion run" CASE.json...   # the command line tool
  check_governance.py --python build/python CASE.json...                  # apportion.run() from that folder

A case file holds {"about": ..., "spec": {...}} (or "spec_text", raw text) and either
"expect" or "error" (the JSON path the error message must start with).

"expect" may hold the result sections "budgets", "anomalies", "reconcile", "scorecards",
"unit_economics" and "lines": each must equal the result's section exactly (values compared
as JSON, so "12.50" is not "12.5"), except that inside an expected object
  "_partial": true       compares only the keys the object lists, and
  "_absent": ["k", ...]  requires those keys to be missing from the result's object.

Whatever the case says, every result is checked for:
  - each split step's lines summing exactly to its pool;
  - governance sections present when the spec has them (non-empty), absent when not, in the order budgets,
    anomalies, reconcile, scorecards, unit_economics, after lines/coverage/fx/inputs;
  - reconcile: difference = actual - estimate, lines' costs sum to actual, true_ups sum to
    difference, each line's cost - true_up summing to estimate, causes sum to difference;
  - scorecards: incremental sums to combined, remaining = baseline - combined, |combined| <= |baseline|;
  - budgets: crossed thresholds are those with spend / amount >= threshold, alerts a subset of crossed;
  - anomalies: every flagged line has an alert key starting with "<id>/".

Prints one line per case and a closing 'N passed, M failed' line; exits 1 on any failure.
"""
import argparse
import json
import os
import sys
from decimal import Decimal, InvalidOperation

# The runners of the spec-case checker, which this one extends with the governance sections.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spec"))
from check_cases import compare as check_compare, run_cmd, run_python  # noqa: E402

SECTIONS = ["budgets", "anomalies", "reconcile", "scorecards", "unit_economics"]


class Number(Decimal):
    """A JSON number of a case file, remembering its text (5E-1 stays 5E-1, not 0.5)."""

    def __new__(cls, text):
        self = Decimal.__new__(cls, text)
        self.text = text
        return self


def dumps(v):
    """JSON text that keeps decimal numbers exactly as the case file wrote them."""
    if isinstance(v, Decimal):
        return getattr(v, "text", str(v))
    if isinstance(v, dict):
        return "{" + ", ".join(json.dumps(k) + ": " + dumps(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(dumps(x) for x in v) + "]"
    return json.dumps(v)


def show(v):
    return dumps(v) if not isinstance(v, str) else json.dumps(v)


def same(want, got, where, problems):
    """Exact JSON equality of `got` with `want`, honouring _partial and _absent in `want`."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            problems.append(f"{where}: expected an object {show(want)}, got {show(got)}")
            return
        partial = want.get("_partial") is True
        absent = want.get("_absent", [])
        keys = [k for k in want if k not in ("_partial", "_absent")]
        for k in keys:
            if k not in got:
                problems.append(f"{where}.{k}: missing (expected {show(want[k])})")
            else:
                same(want[k], got[k], f"{where}.{k}", problems)
        if not partial:
            for k in got:
                if k not in want:
                    problems.append(f"{where}.{k}: unexpected key (value {show(got[k])})")
        for k in absent:
            if k in got:
                problems.append(f"{where}.{k}: should be absent, got {show(got[k])}")
        return
    if isinstance(want, list):
        if not isinstance(got, list):
            problems.append(f"{where}: expected a list {show(want)}, got {show(got)}")
            return
        if len(want) != len(got):
            problems.append(f"{where}: expected {len(want)} entries, got {len(got)}: {show(got)}")
        for i, (w, g) in enumerate(zip(want, got)):
            same(w, g, f"{where}[{i}]", problems)
        return
    # scalars: same JSON type and value; a string must match character for character
    if isinstance(want, bool) or isinstance(got, bool) or want is None or got is None:
        ok = type(want) is type(got) and want == got
    elif isinstance(want, str) or isinstance(got, str):
        ok = isinstance(want, str) and isinstance(got, str) and want == got
    else:
        ok = want == got and str(want) == str(got)
    if not ok:
        problems.append(f"{where}: expected {show(want)}, got {show(got)}")


def dec(v, where, problems):
    try:
        return Decimal(v) if isinstance(v, (str, int, Decimal)) and not isinstance(v, bool) else None
    except InvalidOperation:
        problems.append(f"{where}: not a decimal: {show(v)}")
        return None


def invariants(spec, res, order, problems):
    # conservation, every step that names a pool summing exactly to it: the spec checker's own
    problems.extend(check_compare({"expect": {}}, 0, json.dumps(res), ""))

    # sections: present exactly when the spec has them, in order, after the base sections
    spec_obj = spec if isinstance(spec, dict) else {}
    # (a section the spec gives as an empty list may be left out: the contract does not say)
    for s in SECTIONS:
        if not isinstance(spec, dict):
            break
        if s in res and s not in spec_obj:
            problems.append(f"section {s}: in the result but not in the spec")
        if s not in res and spec_obj.get(s):
            problems.append(f"section {s}: missing from the result")
    present = [k for k in order if k in SECTIONS]
    if present != [s for s in SECTIONS if s in present]:
        problems.append(f"governance sections out of order: {present}")
    base_idx = [i for i, k in enumerate(order) if k in ("lines", "coverage", "fx", "inputs", "unit_costs", "pools")]
    gov_idx = [i for i, k in enumerate(order) if k in SECTIONS]
    if base_idx and gov_idx and min(gov_idx) < max(base_idx):
        problems.append(f"governance sections should come after lines/coverage/fx/inputs: key order {order}")

    for i, r in enumerate(res.get("reconcile", []) or []):
        w = f"reconcile[{i}]"
        est, act, diff = (dec(r.get(k), f"{w}.{k}", problems) for k in ("estimate", "actual", "difference"))
        if None in (est, act, diff):
            problems.append(f"{w}: estimate/actual/difference missing or not decimal")
            continue
        if act - est != diff:
            problems.append(f"{w}: difference {diff} != actual {act} - estimate {est}")
        ls = r.get("lines", [])
        costs = sum((Decimal(l["cost"]) for l in ls), Decimal(0))
        ups = sum((Decimal(l["true_up"]) for l in ls), Decimal(0))
        if ls and costs != act:
            problems.append(f"{w}: lines' costs sum to {costs}, actual is {act}")
        if ls and ups != diff:
            problems.append(f"{w}: true_ups sum to {ups}, difference is {diff}")
        base = sum((Decimal(l["cost"]) - Decimal(l["true_up"]) for l in ls), Decimal(0))
        if ls and base != est:
            problems.append(f"{w}: lines' costs before true-up sum to {base}, estimate is {est}")
        if "causes" in r:
            c = sum((Decimal(x["amount"]) for x in r["causes"]), Decimal(0))
            if c != diff:
                problems.append(f"{w}: causes sum to {c}, difference is {diff}")
        if r.get("drift") is None and est != 0:
            problems.append(f"{w}: drift is null with a non-zero estimate")

    for i, sc in enumerate(res.get("scorecards", []) or []):
        w = f"scorecards[{i}]"
        b, comb, rem = (dec(sc.get(k), f"{w}.{k}", problems) for k in ("baseline", "combined", "remaining"))
        if None in (b, comb, rem):
            problems.append(f"{w}: baseline/combined/remaining missing or not decimal")
            continue
        inc = sum((Decimal(l["incremental"]) for l in sc.get("levers", [])), Decimal(0))
        if sc.get("levers") and inc != comb:
            problems.append(f"{w}: incremental sums to {inc}, combined is {comb}")
        if rem != b - comb:
            problems.append(f"{w}: remaining {rem} != baseline {b} - combined {comb}")
        if abs(comb) > abs(b):
            problems.append(f"{w}: combined {comb} exceeds baseline {b}")

    for i, bu in enumerate(res.get("budgets", []) or []):
        w = f"budgets[{i}]"
        spend, amount = dec(bu.get("spend"), f"{w}.spend", problems), dec(bu.get("amount"), f"{w}.amount", problems)
        if spend is None or amount is None or amount <= 0:
            continue
        crossed = bu.get("crossed", [])
        for t in crossed:
            if spend < Decimal(t) * amount:
                problems.append(f"{w}: threshold {t} listed as crossed, but spend {spend} / amount {amount} is below it")
        for a in bu.get("alerts", []):
            if a.get("threshold") not in crossed:
                problems.append(f"{w}: alert {a.get('key')} for a threshold not crossed")

    for i, an in enumerate(res.get("anomalies", []) or []):
        for j, f in enumerate(an.get("flagged", [])):
            if not str(f.get("key", "")).startswith(f"{an.get('id')}/"):
                problems.append(f"anomalies[{i}].flagged[{j}].key {f.get('key')!r} does not start with the rule's id")


def compare(case, code, out, err):
    problems = []
    if "error" in case:
        if code != 2:
            problems.append(f"expected exit 2 for bad input, got {code}" + (f": {out.strip()[:200]}" if code == 0 else ""))
        if out.strip():
            problems.append("printed a result for bad input")
        first = err.strip().splitlines()[0] if err.strip() else ""
        if not first.startswith(case["error"]):
            problems.append(f"error should start with {case['error']!r}, got {first[:200]!r}")
        return problems
    if code != 0:
        return [f"exit {code}: {err.strip()[:400]}"]
    try:
        order = list(json.loads(out, object_pairs_hook=lambda pairs: [k for k, _ in pairs]))
        res = json.loads(out, parse_float=Decimal)
    except ValueError as e:
        return [f"output is not JSON: {e}"]
    spec = case.get("spec")
    if "spec_text" in case:
        try:
            spec = json.loads(case["spec_text"], parse_float=Decimal)
        except ValueError:
            spec = None
    invariants(spec, res, order, problems)
    exp = case.get("expect", {})
    for s in SECTIONS + ["lines"]:
        if s in exp:
            if s not in res:
                problems.append(f"{s}: missing from the result")
            else:
                same(exp[s], res[s], s, problems)
    for k in exp:
        if k not in SECTIONS + ["lines"]:
            problems.append(f"case error: unknown expect key {k!r}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--cmd")
    g.add_argument("--python")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the result of each failing case")
    ap.add_argument("cases", nargs="+")
    a = ap.parse_args()
    passed = failed = 0
    for path in a.cases:
        name = os.path.basename(path)
        out = ""
        try:
            with open(path) as f:
                case = json.load(f, parse_float=Number)
            spec = case["spec_text"] if "spec_text" in case else case["spec"]
            text = spec if isinstance(spec, str) else dumps(spec)  # numbers as the case wrote them
            code, out, err = run_cmd(a.cmd, text) if a.cmd else run_python(a.python, text)
            problems = compare(case, code, out, err)
        except Exception as e:  # a crash of the implementation is a failure, not a checker error
            problems = [f"{type(e).__name__}: {e}"]
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems:
                print(f"    {p}")
            if a.verbose and out:
                print(out)
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
