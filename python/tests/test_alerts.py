"""apportion.alerts: the new budget and anomaly alerts of a spec, rendered as text, JSON or
a Slack Block Kit payload, the same bytes as `apportion alerts` and the C ABI."""
import json
import subprocess

import pytest

import apportion
from apportion import SpecError

SPEC = {
    "apportion": 1,
    "pools": [{"id": "cluster", "cost": "1200.00"}],
    "records": [
        {"tags": {"team": "nlp"}, "measures": {"gpu_seconds": 700}},
        {"tags": {"team": "cv"}, "measures": {"gpu_seconds": 300}},
        {"tags": {"team": "rl"}, "measures": {"gpu_seconds": 10}},
    ],
    "steps": [{"id": "teams", "strategy": "proportional", "pool": "cluster", "group_by": ["team"],
               "weight": "gpu_seconds"}],
    "budgets": [{"id": "team-nlp", "tags": {"team": "nlp"}, "spend": {"step": "teams", "tags": {"team": "nlp"}},
                 "amount": "1000", "period": {"month": "2026-06"}, "as_of": "2026-06-21T00:00:00Z"}],
    "anomalies": [{"id": "teams", "lines": {"step": "teams"}, "threshold": "2"}],
}
KEYS = ["team-nlp/2026-06/0.5", "team-nlp/2026-06/0.8", "teams/team=nlp"]


def keys(text):
    return [a["key"] for a in json.loads(text)["alerts"]]


def test_json_lists_the_new_alerts():
    doc = json.loads(apportion.alerts(SPEC, format="json"))
    assert [a["key"] for a in doc["alerts"]] == KEYS
    first = doc["alerts"][0]
    assert list(first) == ["key", "severity", "source", "rule", "tags", "title", "facts"]
    assert first["title"] == "Budget team-nlp: 50% threshold crossed (info)"
    assert first["facts"]["Spend"] == "831.68 USD"
    assert first["facts"]["Forecast"] == "1,247.52 USD"
    assert doc["alerts"][2]["facts"]["Baseline"] == "356.44 USD (median of 3 lines)"


def test_text_is_the_default():
    text = apportion.alerts(SPEC)
    assert text == apportion.alerts(SPEC, format="text")
    assert text.startswith("Budget team-nlp: 50% threshold crossed (info)\n  Spend:            831.68 USD\n")
    assert text.count("\n\n") == 2


def test_slack_payload():
    payload = json.loads(apportion.alerts(SPEC, format="slack"))
    assert payload["text"] == "apportion: 3 new alerts (2 warning, 1 info)"
    assert [b["type"] for b in payload["blocks"]] == ["header"] + ["divider", "section", "context"] * 3


def test_already_fired_keys_do_not_fire_again():
    assert keys(apportion.alerts(SPEC, "json", already_fired=["teams/team=nlp"])) == KEYS[:2]
    assert keys(apportion.alerts(SPEC, "json", already_fired=iter(KEYS))) == []
    assert apportion.alerts(SPEC, already_fired=tuple(KEYS)) == "no new alerts\n"


def test_dict_text_and_path_agree(tmp_path):
    text = json.dumps(SPEC)
    path = tmp_path / "spec.json"
    path.write_text(text)
    by_dict = apportion.alerts(SPEC, "json")
    assert apportion.alerts(text, "json") == apportion.alerts(path, "json") == apportion.alerts(str(path), "json") \
        == apportion.alerts(text.encode(), "json") == by_dict


def test_no_governance_no_alerts():
    plain = {k: v for k, v in SPEC.items() if k not in ("budgets", "anomalies")}
    assert apportion.alerts(plain) == "no new alerts\n"
    assert json.loads(apportion.alerts(plain, "json")) == {"alerts": []}


def test_bad_input():
    with pytest.raises(ValueError, match="format must be 'text', 'json' or 'slack'"):
        apportion.alerts(SPEC, format="html")
    with pytest.raises(TypeError, match="not a single str"):
        apportion.alerts(SPEC, already_fired="teams/team=nlp")
    with pytest.raises(TypeError, match="str alert keys"):
        apportion.alerts(SPEC, already_fired=[1])
    bad = json.loads(json.dumps(SPEC))
    bad["budgets"][0]["spend"] = {"step": "nope"}
    with pytest.raises(SpecError, match=r"^budgets\[0\]\.spend\.step"):
        apportion.alerts(bad)
    with pytest.raises(SpecError, match=r"^records"):
        apportion.alerts(SPEC, max_records=2)
    with pytest.raises(TypeError):
        apportion.alerts(42)


def test_same_bytes_as_the_command_line(cli, tmp_path):
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    for fmt in ("text", "json", "slack"):
        p = subprocess.run([cli, "alerts", str(path), "--format", fmt], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        assert p.stdout == apportion.alerts(path, format=fmt)
