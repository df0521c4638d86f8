#!/usr/bin/env python3
"""Writes tests/spec/cases/extra-*.json. Every expectation is computed here, exactly, with
fractions and a largest-remainder rule written out below, never copied from the program.
Run it again after changing a case: python3 tests/spec/make_extra_cases.py"""
import json, os
from fractions import Fraction as F
from decimal import Decimal, ROUND_HALF_EVEN
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
KINDS = ["allocated", "overhead", "idle", "unallocated"]

def rhe(x, unit):
    """Round Fraction x half-even to a multiple of Decimal-string unit; return text with unit's digits."""
    u = F(Decimal(unit))
    q = x / u
    fl = q.numerator // q.denominator
    r = q - fl
    if r > F(1, 2) or (r == F(1, 2) and fl % 2 == 1):
        fl += 1
    places = max(0, -Decimal(unit).as_tuple().exponent)
    return str((Decimal(fl) * Decimal(unit)).quantize(Decimal(1).scaleb(-places)))

def canon(tags):
    return tuple(sorted(tags.items()))

def lr(pool, lines, unit="0.01"):
    """lines: list of dict(kind, tags, exact); returns costs text in result order (sorted)."""
    lines = sorted(lines, key=lambda l: (KINDS.index(l["kind"]), canon(l["tags"])))
    P = F(Decimal(pool)); u = F(Decimal(unit))
    assert sum(l["exact"] for l in lines) == P, (sum(l["exact"] for l in lines), P)
    neg = P < 0
    mags = [(-l["exact"] if neg else l["exact"]) / u for l in lines]
    floors = [m.numerator // m.denominator for m in mags]
    left = int(abs(P) / u) - sum(floors)
    order = sorted(range(len(lines)), key=lambda i: (-(mags[i] - floors[i]), -mags[i], canon(lines[i]["tags"]), KINDS.index(lines[i]["kind"])))
    for i in order[:left]:
        floors[i] += 1
    places = max(0, -Decimal(unit).as_tuple().exponent)
    for l, f in zip(lines, floors):
        v = Decimal(f) * Decimal(unit) * (-1 if neg else 1)
        l["cost"] = str(v.quantize(Decimal(1).scaleb(-places)))
    return lines

def six(x): return rhe(x, "0.000001")

def out_lines(step, lines, share=True, extra=()):
    res = []
    for l in lines:
        d = {"step": step, "kind": l["kind"], "tags": l["tags"], "cost": l["cost"]}
        if share and "share" in l: d["share"] = six(l["share"])
        for k in extra:
            if k in l: d[k] = l[k]
        res.append(d)
    return res

def cov(pool, lines):
    P = F(Decimal(pool))
    un = sum(F(Decimal(l["cost"])) for l in lines if l["kind"] == "unallocated")
    return six((P - un) / P)

def write(name, about, spec, expect=None, error=None, spec_text=None):
    case = {"about": about}
    if spec_text is not None: case["spec_text"] = spec_text
    else: case["spec"] = spec
    if error is not None: case["error"] = error
    else: case["expect"] = expect
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(case, f, indent=1); f.write("\n")

def weighted(pool, groups):  # groups: list of (kind, tags, weight); returns lines with exact, share
    tot = sum(w for _, _, w in groups)
    P = F(Decimal(pool))
    return [{"kind": k, "tags": t, "exact": P * w / tot, "share": w / tot} for k, t, w in groups]

# ---- per_token: blended and phase unit costs ------------------------------------------
recs = [
    {"tags": {"team": "a", "model": "m1"}, "measures": {"tokens_prompt": 3000000, "tokens_cached": 1000000, "tokens_generation": 1000000}},
    {"tags": {"team": "b", "model": "m1"}, "measures": {"tokens_prompt": 1000000, "tokens_generation": 500000}},
    {"tags": {"team": "b", "model": "m2"}, "measures": {"tokens_prompt": 2000000, "tokens_generation": 500000}},
    {"tags": {"team": "c"}, "measures": {"tokens_prompt": 1000000}},
]
pool = "100.00"; P = F(100)
# plain: weight = (prompt - cached) + generation
w = [F(2000000 + 1000000), F(1000000 + 500000), F(2000000 + 500000), F(1000000)]
tot = sum(w)
plain = lr(pool, weighted(pool, [("allocated", {"team": "a"}, w[0]), ("allocated", {"team": "b"}, w[1] + w[2]), ("allocated", {"team": "c"}, w[3])]))
mil = F(10**6)
uc_plain = [
    {"step": "plain", "tags": {"model": "m1"}, "per_million": {"blended": rhe(P * (w[0] + w[1]) / tot / (4000000 + 1500000) * mil, "0.0001")}},
    {"step": "plain", "tags": {"model": "m2"}, "per_million": {"blended": rhe(P * w[2] / tot / 2500000 * mil, "0.0001")}},
    {"step": "plain", "tags": {"model": "__unallocated__"}, "per_million": {"blended": rhe(P * w[3] / tot / 1000000 * mil, "0.0001")}},
]
# phases prompt 0.6, generation 0.4: P-C = 6M, G = 2M
PC, G = F(6000000), F(2000000)
ph = lambda unc, gen: F(6, 10) * unc / PC + F(4, 10) * gen / G
wp = [ph(2000000, 1000000), ph(1000000, 500000), ph(2000000, 500000), ph(1000000, 0)]
tp = sum(wp); assert tp == 1
phased = lr(pool, weighted(pool, [("allocated", {"team": "a"}, wp[0]), ("allocated", {"team": "b"}, wp[1] + wp[2]), ("allocated", {"team": "c"}, wp[3])]))
prompt_rate = rhe(P * F(6, 10) / PC * mil, "0.0001"); gen_rate = rhe(P * F(4, 10) / G * mil, "0.0001")
uc_ph = [
    {"step": "phased", "tags": {"model": "m1"}, "per_million": {"blended": rhe(P * (wp[0] + wp[1]) / tp / 5500000 * mil, "0.0001"), "prompt": prompt_rate, "generation": gen_rate}},
    {"step": "phased", "tags": {"model": "m2"}, "per_million": {"blended": rhe(P * wp[2] / tp / 2500000 * mil, "0.0001"), "prompt": prompt_rate, "generation": gen_rate}},
    {"step": "phased", "tags": {"model": "__unallocated__"}, "per_million": {"blended": rhe(P * wp[3] / tp / 1000000 * mil, "0.0001"), "prompt": prompt_rate, "generation": gen_rate}},
]
write("extra-per-token-unit-costs",
      "per_token: the pool split by non-cached token weight, blended unit costs per model (records without a model form an __unallocated__ rate group), and with phases the prompt and generation rates shared by every group.",
      {"apportion": 1, "pools": [{"id": "endpoint", "cost": pool}], "records": recs,
       "steps": [{"id": "plain", "strategy": "per_token", "pool": "endpoint"},
                 {"id": "phased", "strategy": "per_token", "pool": "endpoint", "phases": {"prompt": "0.6", "generation": "0.4"}}]},
      {"pools": [{"id": "endpoint", "cost": "100.00"}],
       "lines": out_lines("plain", plain) + out_lines("phased", phased),
       "unit_costs": uc_plain + uc_ph,
       "coverage": [{"step": "plain", "ratio": "1.000000"}, {"step": "phased", "ratio": "1.000000"}]})

# ---- weighted_split ---------------------------------------------------------------------
cap = {"gpu": F(8), "cpu": F(64), "memory_gb": F(512)}
wts = {"gpu": F(9), "cpu": F(9, 10), "memory_gb": F(1, 10)}
pods = {"p1": {"reserved": {"gpu": 4, "cpu": 16, "memory_gb": 128}, "used": {"gpu": 4, "cpu": 24}},
        "p2": {"reserved": {"gpu": 2, "cpu": 16, "memory_gb": 64}, "used": {"cpu": 8}},
        "p3": {"reserved": {"cpu": 8, "memory_gb": 64}}}
def alloc(p, r):
    res = F(pods[p]["reserved"].get(r, 0)); used = F(pods[p].get("used", {}).get(r, res))
    return max(res, used)
unit = F(100) / sum(cap[r] * wts[r] for r in cap)
A = {r: sum(alloc(p, r) for p in pods) for r in cap}
for r in cap: assert A[r] <= cap[r]
def ws_lines(separate):
    lines = []
    idle = F(0)
    for p in pods:
        split = sum(alloc(p, r) / max(cap[r], A[r]) * cap[r] * wts[r] * unit for r in cap)
        unused = F(0) if separate else sum(alloc(p, r) / A[r] * (cap[r] - A[r]) * wts[r] * unit for r in cap)
        lines.append({"kind": "allocated", "tags": {"pod": p}, "exact": split + unused, "split_cost": rhe(split, "0.01"), "unused_cost": rhe(unused, "0.01")})
    if separate:
        idle = sum((cap[r] - A[r]) * wts[r] * unit for r in cap)
        lines.append({"kind": "idle", "tags": {"pod": "__idle__"}, "exact": idle, "split_cost": "0.00", "unused_cost": rhe(idle, "0.01")})
    return lr("100.00", lines)
recs = [dict({"tags": {"pod": p}}, **v) for p, v in pods.items()]
write("extra-weighted-split",
      "weighted_split of one 8-GPU instance with the default GPU weights (9, 0.9, 0.1) and basis max (a resource missing from used falls back to reserved); unused capacity shared by allocation, or kept as an idle line.",
      {"apportion": 1, "pools": [{"id": "instance", "cost": "100.00"}], "records": recs,
       "steps": [{"id": "shared", "strategy": "weighted_split", "pool": "instance", "capacity": {"gpu": 8, "cpu": 64, "memory_gb": 512}},
                 {"id": "separate", "strategy": "weighted_split", "pool": "instance", "capacity": {"gpu": 8, "cpu": 64, "memory_gb": 512}, "unused": "separate"}]},
      {"pools": [{"id": "instance", "cost": "100.00"}],
       "lines": out_lines("shared", ws_lines(False), False, ("split_cost", "unused_cost")) + out_lines("separate", ws_lines(True), False, ("split_cost", "unused_cost")),
       "coverage": [{"step": "shared", "ratio": "1.000000"}, {"step": "separate", "ratio": "1.000000"}]})

# ---- even -------------------------------------------------------------------------------
recs = [{"tags": {"team": "a"}}, {"tags": {"team": "a"}, "measures": {"gpu_seconds": 99}}, {"tags": {"team": "b"}}, {"tags": {"project": "x"}}]
ev = lr("100.00", weighted("100.00", [("allocated", {"team": "a"}, F(1)), ("allocated", {"team": "b"}, F(1)), ("unallocated", {"team": "__unallocated__"}, F(1))]))
write("extra-even",
      "even: equal parts over the distinct groups present, records missing the key forming one unallocated group. 100.00 / 3 leaves one cent; all remainders and amounts tie, so it goes to the smallest tags: \"__unallocated__\" sorts before \"a\".",
      {"apportion": 1, "pools": [{"id": "p", "cost": "100.00"}], "records": recs,
       "steps": [{"id": "e", "strategy": "even", "pool": "p", "group_by": ["team"]}]},
      {"lines": out_lines("e", ev), "coverage": [{"step": "e", "ratio": cov("100.00", ev)}]})

# ---- fixed ------------------------------------------------------------------------------
fx_lines = lr("99.99", weighted("99.99", [("allocated", {"team": "a"}, F(3, 10)), ("allocated", {"team": "b"}, F(5, 10)), ("unallocated", {"team": "__unallocated__"}, F(2, 10))]))
write("extra-fixed",
      "fixed shares 0.3 and 0.5 of 99.99; the rest (0.2) is one unallocated line over the keys the shares use. Records are not read.",
      {"apportion": 1, "pools": [{"id": "p", "cost": "99.99"}], "records": [{"tags": {"team": "z"}, "measures": {"gpu_seconds": 5}}],
       "steps": [{"id": "f", "strategy": "fixed", "pool": "p", "shares": [{"tags": {"team": "b"}, "share": "0.5"}, {"tags": {"team": "a"}, "share": 0.3}]}]},
      {"lines": out_lines("f", fx_lines), "coverage": [{"step": "f", "ratio": cov("99.99", fx_lines)}]})

# ---- per_tenant cached policies and requests -------------------------------------------
recs = [{"tags": {"team": "x"}, "measures": {"tokens_prompt": 1000, "tokens_cached": 400, "tokens_generation": 200, "requests": 3}},
        {"tags": {"team": "y"}, "measures": {"tokens_prompt": 500, "tokens_generation": 100, "requests": 1}}]
pt_prop = lr("10.00", weighted("10.00", [("allocated", {"team": "x"}, F(800)), ("allocated", {"team": "y"}, F(600))]))
pt_sep = lr("10.00", weighted("10.00", [("allocated", {"team": "x"}, F(800)), ("allocated", {"team": "y"}, F(600)), ("overhead", {"team": "__prefix_cache__"}, F(400))]))
pt_ten = lr("10.00", weighted("10.00", [("allocated", {"team": "x"}, F(1200)), ("allocated", {"team": "y"}, F(600))]))
pt_req = lr("10.00", weighted("10.00", [("allocated", {"team": "x"}, F(3)), ("allocated", {"team": "y"}, F(1))]))
pt_tw = lr("10.00", weighted("10.00", [("allocated", {"team": "x"}, F(1000 + 600)), ("allocated", {"team": "y"}, F(500 + 300))]))
write("extra-per-tenant-cached",
      "per_tenant: prefix-cached tokens spread proportionally (default), kept as a separate overhead line, or charged to the tenant; weight by requests; token_weights with cached tokens charged to the tenant.",
      {"apportion": 1, "pools": [{"id": "ep", "cost": "10.00"}], "records": recs,
       "steps": [{"id": "prop", "strategy": "per_tenant", "pool": "ep"},
                 {"id": "sep", "strategy": "per_tenant", "pool": "ep", "cached": "separate"},
                 {"id": "ten", "strategy": "per_tenant", "pool": "ep", "cached": "tenant"},
                 {"id": "req", "strategy": "per_tenant", "pool": "ep", "weight": "requests"},
                 {"id": "tw", "strategy": "per_tenant", "pool": "ep", "cached": "tenant", "token_weights": {"prompt": 1, "generation": "3"}}]},
      {"lines": out_lines("prop", pt_prop) + out_lines("sep", pt_sep) + out_lines("ten", pt_ten) + out_lines("req", pt_req) + out_lines("tw", pt_tw)})

# ---- select -----------------------------------------------------------------------------
recs = [{"tags": {"team": "a", "env": "prod"}, "measures": {"gpu_seconds": 10}},
        {"tags": {"team": "b", "env": "staging"}, "measures": {"gpu_seconds": 20}},
        {"tags": {"team": "a", "env": "dev"}, "measures": {"gpu_seconds": 70}},
        {"tags": {"team": "c"}, "measures": {"gpu_seconds": 1000}}]
s1 = lr("1.00", weighted("1.00", [("allocated", {"team": "a"}, F(10)), ("allocated", {"team": "b"}, F(20))]))
s2 = lr("1.00", weighted("1.00", [("allocated", {"team": "a"}, F(70))]))
write("extra-select",
      "select with a list of values and with one value; a record without the selected tag never matches.",
      {"apportion": 1, "pools": [{"id": "p", "cost": "1.00"}], "records": recs,
       "steps": [{"id": "live", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds", "select": {"env": ["prod", "staging"]}},
                 {"id": "dev", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds", "select": {"env": "dev"}}]},
      {"lines": out_lines("live", s1) + out_lines("dev", s2)})

# ---- group_by with two keys --------------------------------------------------------------
recs = [{"tags": {"team": "a", "env": "prod"}, "measures": {"gpu_seconds": 1}},
        {"tags": {"team": "a", "env": "dev"}, "measures": {"gpu_seconds": 1}},
        {"tags": {"team": "b", "env": "prod"}, "measures": {"gpu_seconds": "0.5"}},
        {"tags": {"team": "b", "env": "prod"}, "measures": {"gpu_seconds": "0.5"}},
        {"tags": {"team": "c"}, "measures": {"gpu_seconds": 1}}]
g2 = lr("1.01", weighted("1.01", [("allocated", {"env": "dev", "team": "a"}, F(1)), ("allocated", {"env": "prod", "team": "a"}, F(1)),
                                  ("allocated", {"env": "prod", "team": "b"}, F(1)), ("unallocated", {"env": "__unallocated__", "team": "__unallocated__"}, F(1))]))
write("extra-group-by-two-keys",
      "group_by two keys: lines per (env, team) pair in canonical tag order; a record missing one key lands on the unallocated line with __unallocated__ for both. The one leftover cent of 1.01/4 goes to the smallest tags, the unallocated line's.",
      {"apportion": 1, "pools": [{"id": "p", "cost": "1.01"}], "records": recs,
       "steps": [{"id": "g", "strategy": "proportional", "pool": "p", "group_by": ["team", "env"], "weight": "gpu_seconds"}]},
      {"lines": out_lines("g", g2), "coverage": [{"step": "g", "ratio": cov("1.01", g2)}]})

# ---- precision 0.0001 and JPY ----------------------------------------------------------------
recs = [{"tags": {"team": "a"}, "measures": {"gpu_seconds": 1}}, {"tags": {"team": "b"}, "measures": {"gpu_seconds": 1}}, {"tags": {"team": "c"}, "measures": {"gpu_seconds": 1}}]
p4 = lr("1.0000", weighted("1", [("allocated", {"team": t}, F(1)) for t in "abc"]), "0.0001")
write("extra-precision-0.0001",
      "precision 0.0001: the pool of 1 is reported as 1.0000 and split in thirds to four places; the one leftover unit goes to the smallest tags.",
      {"apportion": 1, "precision": "0.0001", "pools": [{"id": "p", "cost": "1"}], "records": recs,
       "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}]},
      {"pools": [{"id": "p", "cost": "1.0000"}], "lines": out_lines("s", p4)})
jp = lr("1000", weighted("1000", [("allocated", {"team": t}, F(1)) for t in "abc"]), "1")
write("extra-jpy-precision-1",
      "JPY: the default precision is the currency's minor unit, 1 yen; the pool 999.5 rounds half-even to 1000 and splits in whole yen.",
      {"apportion": 1, "currency": "JPY", "pools": [{"id": "p", "cost": "999.5"}], "records": recs,
       "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}]},
      {"pools": [{"id": "p", "cost": rhe(F(9995, 10), "1")}], "lines": out_lines("s", jp)})

# ---- amortized pool and fx conversion ---------------------------------------------------------
amount = F(12000)
term = 365 * 86400; window = 30 * 86400
am = amount * window / term
am_cost = rhe(am, "0.01")
am_lines = lr(am_cost, weighted(am_cost, [("allocated", {"team": "a"}, F(1)), ("allocated", {"team": "b"}, F(2))]))
eur = F(Decimal("1234.57")) * F(Decimal("1.0850"))
eur_cost = rhe(eur, "0.01")
eur_lines = lr(eur_cost, weighted(eur_cost, [("allocated", {"team": "a"}, F(1)), ("allocated", {"team": "b"}, F(2))]))
recs = [{"tags": {"team": "a"}, "measures": {"gpu_seconds": 1}}, {"tags": {"team": "b"}, "measures": {"gpu_seconds": 2}}]
write("extra-amortized-and-fx",
      "An amortised licence (12000 over 2026, the June window of 30 days: 12000 x 30/365) and a pool in EUR converted at 1.0850, each computed exactly and rounded once, then split 1:2.",
      {"apportion": 1, "pools": [
          {"id": "licence", "amortized": {"amount": "12000", "term": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
                                          "window": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}}},
          {"id": "eu-bill", "currency": "EUR", "cost": "1234.57"}],
       "fx": [{"from": "EUR", "to": "USD", "rate": "1.0850", "date": "2026-06-01", "source": "ECB"}],
       "records": recs,
       "steps": [{"id": "lic", "strategy": "proportional", "pool": "licence", "group_by": ["team"], "weight": "gpu_seconds"},
                 {"id": "eu", "strategy": "proportional", "pool": "eu-bill", "group_by": ["team"], "weight": "gpu_seconds"}]},
      {"pools": [{"id": "licence", "cost": am_cost}, {"id": "eu-bill", "cost": eur_cost}],
       "lines": out_lines("lic", am_lines) + out_lines("eu", eur_lines)})

# ---- errors -------------------------------------------------------------------------------
base = lambda **kw: dict({"apportion": 1, "pools": [{"id": "p", "cost": "10"}], "records": [{"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 5}}],
                          "steps": [{"id": "s", "strategy": "per_namespace", "pool": "p"}]}, **kw)
write("extra-error-unknown-key-top", "An unknown top-level key is an error naming it.", base(colour="blue"), error="colour: ")
write("extra-error-unknown-key-step", "A misspelt step key is an error, never ignored.",
      base(steps=[{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["namespace"], "weight": "gpu_seconds", "wieght": "x"}]), error="steps[0].wieght: ")
write("extra-error-unknown-strategy-option", "A misspelt strategy option inside an option object is an error naming its full path.",
      base(steps=[{"id": "s", "strategy": "per_namespace", "pool": "p", "overhead": {"polcy": "separate"}}]), error="steps[0].overhead.polcy: ")
write("extra-error-unknown-strategy", "An unknown strategy name is an error.",
      base(steps=[{"id": "s", "strategy": "per_nemaspace", "pool": "p"}]), error="steps[0].strategy: ")
write("extra-error-from-later-step", "A pool drawn from a step that runs after the step splitting it is an error.",
      {"apportion": 1, "pools": [{"id": "node", "cost": "10"}, {"id": "serving", "from": {"step": "ns"}}],
       "records": [{"tags": {"namespace": "a", "team": "t"}, "measures": {"gpu_seconds": 5, "tokens_prompt": 5}}],
       "steps": [{"id": "tenants", "strategy": "per_tenant", "pool": "serving"}, {"id": "ns", "strategy": "per_namespace", "pool": "node"}]},
      error="pools[1].from.step: ")
write("extra-error-precision", "A precision that is not a power of ten is an error.", base(precision="0.03"), error="precision: ")
write("extra-error-not-json", "Text that is not JSON is reported by line and column (1-based) of the offending character.", None,
      spec_text='{"apportion": 1,\n  "pools": [}', error="line 2, column 13: ")

# ---- weighted_split of a credit: the idle line is negative too ---------------------------------
unit = F(-100) / sum(cap[r] * wts[r] for r in cap)
def ws_credit():
    lines = []
    for p in pods:
        split = sum(alloc(p, r) / max(cap[r], A[r]) * cap[r] * wts[r] * unit for r in cap)
        lines.append({"kind": "allocated", "tags": {"pod": p}, "exact": split, "split_cost": rhe(split, "0.01"), "unused_cost": "0.00"})
    idle = sum((cap[r] - A[r]) * wts[r] * unit for r in cap)
    lines.append({"kind": "idle", "tags": {"pod": "__idle__"}, "exact": idle, "split_cost": "0.00", "unused_cost": rhe(idle, "0.01")})
    return lr("-100.00", lines)
recs = [dict({"tags": {"pod": p}}, **v) for p, v in pods.items()]
write("extra-weighted-split-credit",
      "weighted_split of a credit (-100.00) with unused capacity kept separate: the idle line is negative and the lines sum to the credit (this was an internal error).",
      {"apportion": 1, "pools": [{"id": "instance", "cost": "-100.00"}], "records": recs,
       "steps": [{"id": "separate", "strategy": "weighted_split", "pool": "instance", "capacity": {"gpu": 8, "cpu": 64, "memory_gb": 512}, "unused": "separate"}]},
      {"pools": [{"id": "instance", "cost": "-100.00"}],
       "lines": out_lines("separate", ws_credit(), False, ("split_cost", "unused_cost")),
       "coverage": [{"step": "separate", "ratio": "1.000000"}]})

write("extra-error-number-overflow", "A JSON number beyond any range (1e400) is valid JSON: the error names its path, not a line and column.", None,
      spec_text='{"apportion": 1, "pools": [{"id": "p", "cost": "1"}],\n "records": [{"tags": {}, "measures": {"gpu_seconds": 1e400}}], "steps": []}',
      error="records[0].measures.gpu_seconds: ")

# ---- per_namespace over a pool broken down into parts (OpenCost's idle by resource) ------------
# Each part split by its resource's use up to its capacity; its idle spread by that use; overhead
# (its lines with their idle, and overhead resources) spread by the lines' cost before idle.
parts = [{"resource": "gpu", "cost": F(120), "capacity": F(120), "measure": "gpu_seconds"},
         {"resource": "cpu", "cost": F(40), "capacity": F(40), "measure": "cpu_core_seconds"}]
fee = F(300) * F(1, 30)  # 300 for June, one day of it
use = {"a": {"gpu_seconds": F(60), "cpu_core_seconds": F(10)}, "b": {"gpu_seconds": F(20), "cpu_core_seconds": F(30)},
       "kube-system": {"gpu_seconds": F(20)}}
before = {ns: F(0) for ns in use}
idle_of = {ns: F(0) for ns in use}
for p in parts:
    used = sum(u.get(p["measure"], 0) for u in use.values())
    room = max(p["capacity"], used)
    idle = p["cost"] * (room - used) / room
    for ns, u in use.items():
        before[ns] += p["cost"] * u.get(p["measure"], 0) / room
        idle_of[ns] += idle * u.get(p["measure"], 0) / used
overhead = before["kube-system"] + idle_of["kube-system"] + fee
allocated = before["a"] + before["b"]
total = sum(p["cost"] for p in parts) + fee
lines = [{"kind": "allocated", "tags": {"namespace": ns}, "share": before[ns] / total,
          "exact": before[ns] + idle_of[ns] + overhead * before[ns] / allocated} for ns in ("a", "b")]
write("extra-pool-parts",
      "A pool broken down into parts (GPU, CPU, a fee amortized over June): per_namespace with resources splits each part by its resource's use up to its capacity, spreads each part's idle by that use, and kube-system (with its idle) and the fee by the lines' cost before idle.",
      {"apportion": 1, "pools": [{"id": "node", "parts": [
          {"resource": "gpu", "cost": "120", "capacity": "120"}, {"resource": "cpu", "cost": "40", "capacity": "40"},
          {"resource": "fee", "amortized": {"amount": "300", "term": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"},
                                            "window": {"start": "2026-06-02T00:00:00Z", "end": "2026-06-03T00:00:00Z"}}}]}],
       "records": [{"tags": {"namespace": ns}, "measures": {k: int(v) for k, v in u.items()}} for ns, u in use.items()],
       "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "node",
                  "resources": {"gpu": "gpu_seconds", "cpu": "cpu_core_seconds"},
                  "overhead": {"policy": "proportional", "resources": ["fee"]}, "idle": {"policy": "proportional"}}]},
      {"pools": [{"id": "node", "cost": rhe(total, "0.01")}],
       "lines": out_lines("ns", lr(rhe(total, "0.01"), lines)),
       "coverage": [{"step": "ns", "ratio": "1.000000"}]})

# ---- unallocated lines keeping the keys a record has ---------------------------------------------
recs = [({"namespace": "a", "team": "x"}, 10), ({"namespace": "a"}, 20), ({"namespace": "b"}, 30), ({"team": "y"}, 40)]
groups = {}
for tags, w in recs:
    key = {k: tags.get(k, "__unallocated__") for k in ("namespace", "team")}
    kind = "allocated" if len(tags) == 2 else "unallocated"
    groups[(kind, canon(key))] = groups.get((kind, canon(key)), 0) + w
lines = lr("100.00", weighted("100.00", [(k, dict(t), F(w)) for (k, t), w in groups.items()]))
write("extra-unallocated-keys-missing",
      "unallocated_keys \"missing\": a record lacking some group_by keys keeps the ones it has on its unallocated line, as OpenCost does ({namespace: a, team: __unallocated__}).",
      {"apportion": 1, "pools": [{"id": "p", "cost": "100.00"}],
       "records": [{"tags": t, "measures": {"gpu_seconds": w}} for t, w in recs],
       "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["namespace", "team"], "weight": "gpu_seconds",
                  "unallocated_keys": "missing"}]},
      {"pools": [{"id": "p", "cost": "100.00"}], "lines": out_lines("s", lines),
       "coverage": [{"step": "s", "ratio": cov("100.00", lines)}]})

# ---- a step over a fleet: each pool split on its own, records matched by a tag -----------------
nodes = {"n1": "300.00", "n2": "100.00"}
# Teams differ between nodes: the checker keys lines by step, kind and tags, not pool; it
# checks each pool's lines sum to it.
use = [("n1", "a", 3), ("n1", "b", 1), ("n2", "c", 1), ("n2", "d", 3), ("n3", "a", 5)]  # n3: no pool
fleet_lines = []
for node, pool in nodes.items():
    groups = [("allocated", {"team": t}, F(w)) for n, t, w in use if n == node]
    fleet_lines += [dict(l, pool=node) for l in lr(pool, weighted(pool, groups))]
write("extra-fleet",
      "A step over a fleet: pools chosen by their tags, records matched to them by node name, each pool split on its own and its lines carrying it; a record of a node the fleet lacks takes no part.",
      {"apportion": 1, "pools": [{"id": n, "tags": {"kind": "gpu", "name": n}, "cost": c} for n, c in nodes.items()],
       "records": [{"tags": {"node": n, "team": t}, "measures": {"gpu_seconds": w}} for n, t, w in use],
       "steps": [{"id": "fleet", "strategy": "proportional", "pools": {"tags": {"kind": "gpu"}},
                  "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"], "weight": "gpu_seconds"}]},
      {"pools": [{"id": n, "cost": c} for n, c in nodes.items()],
       "lines": out_lines("fleet", fleet_lines),
       "coverage": [{"step": "fleet", "ratio": "1.000000"}]})

# ---- OpenCost's even sharing, sharing by label, and a select that excludes ---------------------
recs = [({"namespace": "a"}, 60), ({"namespace": "b"}, 20), ({"namespace": "c", "app": "shared"}, 10),
        ({"namespace": "kube-system"}, 10)]
# even: kube-system (10) and app=shared (10) are overhead, 20 of 100 weight, shared 1/2 each
# over a and b; "namespaces" default list holds kube-system.
P = F(90)
even = [{"kind": "allocated", "tags": {"namespace": ns}, "share": F(w, 100), "exact": P * (F(w) + F(20, 2)) / 100}
        for ns, w in (("a", 60), ("b", 20))]
write("extra-sharing-even-and-label",
      "per_namespace overhead by namespace and by label (overhead.tags), shared in equal parts over the other namespaces (policy even).",
      {"apportion": 1, "pools": [{"id": "node", "cost": "90.00"}],
       "records": [{"tags": t, "measures": {"gpu_seconds": w}} for t, w in recs],
       "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node",
                  "overhead": {"tags": {"app": "shared"}, "policy": "even"}}]},
      {"pools": [{"id": "node", "cost": "90.00"}], "lines": out_lines("s", lr("90.00", even)),
       "coverage": [{"step": "s", "ratio": "1.000000"}]})
# not: kube-system and c left out; a record without a namespace is not excluded by it.
recs_not = recs + [({"team": "t"}, 10)]
kept = [("allocated", {"namespace": "a"}, F(60)), ("allocated", {"namespace": "b"}, F(20)),
        ("unallocated", {"namespace": "__unallocated__"}, F(10))]
not_lines = lr("90.00", weighted("90.00", kept))
write("extra-select-not",
      "A select that excludes ({\"not\": [...]}): records whose namespace is listed take no part; a record without the tag is not excluded.",
      {"apportion": 1, "pools": [{"id": "node", "cost": "90.00"}],
       "records": [{"tags": t, "measures": {"gpu_seconds": w}} for t, w in recs_not],
       "steps": [{"id": "s", "strategy": "proportional", "pool": "node", "group_by": ["namespace"], "weight": "gpu_seconds",
                  "select": {"namespace": {"not": ["kube-system", "c"]}}}]},
      {"pools": [{"id": "node", "cost": "90.00"}], "lines": out_lines("s", not_lines),
       "coverage": [{"step": "s", "ratio": cov("90.00", not_lines)}]})
