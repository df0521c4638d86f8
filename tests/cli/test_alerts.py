#!/usr/bin/env python3
"""`apportion alerts`: new budget and anomaly alerts as text, JSON or a Slack payload, and
the --state file that keeps a second check from firing them again.

  test_alerts.py BUILD/examples/apportion

Prints one line per check and 'N passed, N failed'; exits 1 on any failure.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import check, finish, run  # noqa: E402


# Three teams share a 1,200.00 cluster: nlp 831.68, cv 356.44, rl 11.88. Budget team-nlp
# reads its spend from the lines (83.2% of 1,000: crosses 0.5 and 0.8); budget platform has
# a literal spend (90% of 5,000: 0.5 and 0.8, one of them fired before by the spec itself);
# the anomaly rule flags nlp at 2.33x the median.
SPEC = {
    "apportion": 1, "currency": "USD",
    "pools": [{"id": "cluster", "cost": "1200.00"}],
    "records": [{"tags": {"team": "nlp"}, "measures": {"gpu_seconds": 700}},
                {"tags": {"team": "cv"}, "measures": {"gpu_seconds": 300}},
                {"tags": {"team": "rl"}, "measures": {"gpu_seconds": 10}}],
    "steps": [{"id": "teams", "strategy": "proportional", "pool": "cluster", "group_by": ["team"],
               "weight": "gpu_seconds"}],
    "budgets": [
        {"id": "team-nlp", "tags": {"team": "nlp"}, "spend": {"step": "teams", "tags": {"team": "nlp"}},
         "amount": "1000", "period": {"month": "2026-06"}, "as_of": "2026-06-21T00:00:00Z"},
        {"id": "platform", "tags": {"team": "platform & <ops>"}, "spend": "4500", "amount": "5000",
         "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"},
         "already_fired": ["platform/2026-06-01T00:00:00Z/0.5"]}],
    "anomalies": [{"id": "teams", "lines": {"step": "teams"}, "threshold": "2"}],
}
KEYS = ["team-nlp/2026-06/0.5", "team-nlp/2026-06/0.8", "platform/2026-06-01T00:00:00Z/0.8", "teams/team=nlp"]




def ok(name, args, stdin=None):
    code, out, err = run(args, stdin)
    check(name, code == 0 and err == "", f"exit {code}: {err.strip()}")
    return out


def bad(name, args, starts, stdin=None):
    code, out, err = run(args, stdin)
    check(name, code == 2 and out == "" and err.count("\n") == 1 and err.startswith(starts),
          f"exit {code}, stdout {out[:80]!r}, stderr {err.strip()!r}")


def keys_of(out):
    try:
        return [a["key"] for a in json.loads(out)["alerts"]]
    except (ValueError, KeyError, TypeError):
        return None


def chars(s):
    return len(s)  # Python counts code points, as Slack does


with tempfile.TemporaryDirectory() as tmp:
    spec = os.path.join(tmp, "spec.json")
    with open(spec, "w") as f:
        json.dump(SPEC, f)
    no_gov = os.path.join(tmp, "plain.json")
    with open(no_gov, "w") as f:
        json.dump({k: v for k, v in SPEC.items() if k not in ("budgets", "anomalies")}, f)

    # ---- JSON --------------------------------------------------------------------------------
    out = ok("alerts --format json", ["alerts", spec, "--format", "json"])
    check("json: the new alerts, budgets then anomalies", keys_of(out) == KEYS, repr(keys_of(out)))
    doc = json.loads(out) if out else {"alerts": []}
    alerts = doc["alerts"]
    first = alerts[0] if alerts else {}
    check("json: an alert's keys in order", list(first) == ["key", "severity", "source", "rule", "tags", "title", "facts"],
          repr(list(first)))
    check("json: budget alert", first.get("severity") == "info" and first.get("source") == "budget"
          and first.get("rule") == "team-nlp" and first.get("tags") == {"team": "nlp"}
          and first.get("title") == "Budget team-nlp: 50% threshold crossed (info)", repr(first))
    check("json: budget facts", first.get("facts") == {
        "Spend": "831.68 USD", "Budget": "1,000.00 USD", "Used": "83.2%", "Threshold": "50% (0.5)",
        "Forecast": "1,247.52 USD", "Forecast method": "linear (run rate)",
        "Period": "2026-06-01T00:00:00Z to 2026-07-01T00:00:00Z", "As of": "2026-06-21T00:00:00Z"},
        repr(first.get("facts")))
    check("json: severities", [a["severity"] for a in alerts] == ["info", "warning", "warning", "warning"],
          repr([a.get("severity") for a in alerts]))
    platform = alerts[2] if len(alerts) > 2 else {}
    check("json: literal spend budget, no forecast", platform.get("facts", {}).get("Spend") == "4,500.00 USD"
          and "Forecast" not in platform.get("facts", {}), repr(platform))
    anomaly = alerts[3] if len(alerts) > 3 else {}
    check("json: anomaly alert", anomaly.get("source") == "anomaly" and anomaly.get("rule") == "teams"
          and anomaly.get("title") == "Anomaly in teams: team=nlp cost 2.33\u00d7 its baseline"
          and anomaly.get("facts") == {"Cost": "831.68 USD", "Baseline": "356.44 USD (median of 3 lines)",
                                       "Score": "2.33", "Method": "ratio (cost \u00f7 median)", "Threshold": "2"},
          repr(anomaly))
    check("json: deterministic", out == ok("alerts json again", ["alerts", spec, "--format", "json"]))

    # ---- Text --------------------------------------------------------------------------------
    out = ok("alerts (text by default)", ["alerts", spec])
    check("text: one block per alert", out.count("\n\n") == 3 and out.startswith(
        "Budget team-nlp: 50% threshold crossed (info)\n  Spend:            831.68 USD\n"), out[:200])
    check("text: keys listed", all("Key:" in b for b in out.split("\n\n")) and all(k in out for k in KEYS))
    check("text equals --format text", out == ok("alerts --format text", ["alerts", spec, "--format", "text"]))

    # ---- Slack -------------------------------------------------------------------------------
    out = ok("alerts --format slack", ["alerts", spec, "--format", "slack"])
    slack = json.loads(out) if out else {}
    blocks = slack.get("blocks", [])
    check("slack: fallback text", slack.get("text") == "apportion: 4 new alerts (3 warning, 1 info)", repr(slack.get("text")))
    check("slack: header, then divider/section/context per alert",
          [b["type"] for b in blocks] == ["header"] + ["divider", "section", "context"] * 4,
          repr([b.get("type") for b in blocks]))
    check("slack: within Block Kit limits", len(blocks) <= 50
          and blocks[0]["text"]["type"] == "plain_text" and chars(blocks[0]["text"]["text"]) <= 150
          and all(len(b.get("fields", [])) <= 10 and all(chars(f["text"]) <= 2000 for f in b.get("fields", []))
                  for b in blocks if b["type"] == "section"))
    check("slack: user text escaped", "platform &amp; &lt;ops&gt;" in out and "<ops>" not in out, out[-600:])
    check("slack: section text", blocks[2]["text"] == {
        "type": "mrkdwn", "text": ":large_blue_circle: *Budget team-nlp: 50% threshold crossed (info)*"}
        if len(blocks) > 2 else False)
    check("slack: field", blocks[2].get("fields", [{}])[0] == {"type": "mrkdwn", "text": "*Spend*\n831.68 USD"}
          if len(blocks) > 2 else False)

    # ---- --state: idempotency ------------------------------------------------------------------
    state = os.path.join(tmp, "state.json")
    out = ok("first check with a missing state file", ["alerts", spec, "--format", "json", "--state", state])
    check("first check fires every new alert", keys_of(out) == KEYS, repr(keys_of(out)))
    with open(state) as f:
        written = f.read()
    check("state file holds the fired keys, sorted", json.loads(written) == {"fired": sorted(KEYS)}, written)
    check("no temporary file left", sorted(os.listdir(tmp)) == ["plain.json", "spec.json", "state.json"],
          repr(os.listdir(tmp)))
    out = ok("second check with the same state", ["alerts", spec, "--format", "json", "--state", state])
    check("second check fires nothing", keys_of(out) == [], out)
    out = ok("second check as text", ["alerts", spec, "--state", state])
    check("text says no new alerts", out == "no new alerts\n", out)
    out = ok("second check as slack", ["alerts", spec, "--format", "slack", "--state", state])
    check("slack with no alerts: just a header", json.loads(out) == {"text": "apportion: no new alerts", "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "apportion: no new alerts", "emoji": True}}]}
        if out else False, out)
    with open(state) as f:
        check("state unchanged by a check that fired nothing", f.read() == written)

    one = os.path.join(tmp, "one.json")
    with open(one, "w") as f:
        json.dump({"fired": ["teams/team=nlp", "some/other/key"]}, f)
    out = ok("a state with one key", ["alerts", spec, "--format", "json", "--state", one])
    check("that key alone is suppressed", keys_of(out) == KEYS[:3], repr(keys_of(out)))
    with open(one) as f:
        check("state keeps old keys and adds new ones", json.load(f) == {"fired": sorted(KEYS[:3] + [
            "teams/team=nlp", "some/other/key"])})

    out = ok("spec on standard input", ["alerts", "-", "--format", "json"], stdin=json.dumps(SPEC))
    check("stdin spec gives the same alerts", keys_of(out) == KEYS, repr(keys_of(out)))
    out = ok("a spec without governance", ["alerts", no_gov, "--format", "json", "--state", os.path.join(tmp, "s2.json")])
    check("no governance: nothing to alert", out == '{\n  "alerts": []\n}\n', out)
    os.remove(os.path.join(tmp, "s2.json"))
    out = ok("--output", ["alerts", spec, "--format", "json", "--output", os.path.join(tmp, "out.json")])
    with open(os.path.join(tmp, "out.json")) as f:
        check("--output writes the file", keys_of(f.read()) == KEYS and out == "")
    os.remove(os.path.join(tmp, "out.json"))

    # ---- Bad input ---------------------------------------------------------------------------
    for name, text, starts in (
            ("not JSON", "{", "not valid JSON"),
            ("not an object", "[]", "must be a JSON object"),
            ("no fired key", "{}", "missing required key \"fired\""),
            ("fired not a list", '{"fired": "x"}', ".fired: must be an array"),
            ("a key not a string", '{"fired": [1]}', ".fired[0]: must be a string"),
            ("an unknown key", '{"fired": [], "extra": 1}', ".extra: unknown key")):
        path = os.path.join(tmp, "bad.json")
        with open(path, "w") as f:
            f.write(text)
        bad(f"malformed state ({name}) is exit 2", ["alerts", spec, "--state", path], path + ("" if starts.startswith(".") else ": ") + starts)
        with open(path) as f:
            check(f"malformed state ({name}) left as it was", f.read() == text)
    bad("bad --format", ["alerts", spec, "--format", "html"], "--format must be text, json or slack")
    bad("unknown option", ["alerts", spec, "--nope", "1"], "unknown option --nope")
    bad("no spec", ["alerts"], "alerts takes one spec file")
    bad("missing spec file", ["alerts", os.path.join(tmp, "missing.json")], os.path.join(tmp, "missing.json"))
    broken = dict(SPEC, budgets=[dict(SPEC["budgets"][0], spend={"step": "nope"})])
    bad("bad budget reference", ["alerts", "-"], "budgets[0].spend.step", stdin=json.dumps(broken))
    bad("limits apply", ["alerts", spec, "--max-records", "2"], "records")
    out = ok("alerts --help", ["alerts", "--help"])
    check("help names the options and exit status", "--state FILE" in out and "--format slack" in out
          and "Exit status: 0 whether or not" in out and "--max-records" in out, out)
    out = ok("help alerts", ["help", "alerts"])
    check("help alerts is alerts --help", out.startswith("usage: apportion alerts"))
    out = ok("apportion --help", ["--help"])
    check("main help lists alerts", "  alerts SPEC.json|-" in out)

finish()
