"""Governance sections and the commitment strategy through the Python package."""
from decimal import Decimal

import apportion


def month() -> apportion.Allocation:
    a = apportion.Allocation("USD")
    a.add_pool("node", cost="1000.00").add_pool("bill", cost="1043.21")
    a.add_record({"team": "nlp"}, gpu_seconds=600, requests=300)
    a.add_record({"team": "cv"}, gpu_seconds=300)
    a.add_record({"team": "ml"}, gpu_seconds=100)
    a.add_step("teams", apportion.Proportional("gpu_seconds", "team"), pool="node")
    return a


def test_budget_forecast_and_alerts():
    a = month().add("budgets", {"id": "nlp", "spend": {"step": "teams", "tags": {"team": "nlp"}}, "amount": "700",
                                "period": {"month": "2026-06"}, "as_of": "2026-06-16T00:00:00Z"})
    (budget,) = a.run().budgets
    # 600 of 700 is 85.7%; half the month gone, so the run rate reaches 1,200.00.
    assert budget["ratio"] == "0.857143"
    assert budget["forecast"] == "1200.00"
    assert [x["key"] for x in budget["alerts"]] == ["nlp/2026-06/0.5", "nlp/2026-06/0.8"]
    already = [x["key"] for x in budget["alerts"]]
    a.sections["budgets"][0]["already_fired"] = already
    assert a.run().budgets[0]["alerts"] == []


def test_reconcile_sums_to_the_bill():
    a = month().add("reconcile", {"id": "june", "estimate": {"step": "teams"}, "actual": {"pool": "bill"}})
    (rec,) = a.run().reconcile
    assert rec["difference"] == "43.21"
    assert sum(Decimal(x["cost"]) for x in rec["lines"]) == Decimal("1043.21")
    assert [x["true_up"] for x in rec["lines"]] == ["12.96", "4.32", "25.93"]


def test_scorecard_and_unit_economics():
    a = month()
    a.add("scorecards", {"id": "s", "baseline": "1000", "levers": [{"name": "a", "saving": "0.5"},
                                                                  {"name": "b", "saving": "0.5"}]})
    a.add("unit_economics", {"id": "u", "lines": {"step": "teams", "tags": {"team": "nlp"}}})
    r = a.run()
    assert r.scorecards[0]["combined"] == "750.00"
    assert [x["incremental"] for x in r.scorecards[0]["levers"]] == ["500.00", "250.00"]
    assert r.unit_economics[0]["lines"][0]["per"]["thousand_requests"] == "2000.0000"


def test_commitment_strategy():
    a = apportion.Allocation("USD")
    a.add_pool("ri", amortized={"amount": "87600", "term": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
                                "window": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}})
    a.add_record({"team": "nlp"}, gpu_seconds=10368000).add_record({"team": "cv"}, gpu_seconds=5184000)
    a.add_step("ri", apportion.Commitment(covers="20736000"), pool="ri")
    costs = {(l.kind, l.tags["team"]): l.cost for l in a.run().lines}
    # 87,600 over 365 days, 30 of them: 7,200.00; 75% of the covered GPU-seconds used.
    assert costs == {("allocated", "cv"): Decimal("1800.00"), ("allocated", "nlp"): Decimal("3600.00"),
                     ("idle", "__unused__"): Decimal("1800.00")}


def test_governance_error_names_its_path():
    a = month().add("budgets", {"id": "x", "spend": "1", "amount": "0", "period": {"month": "2026-06"}})
    try:
        a.run()
    except apportion.SpecError as e:
        assert str(e).startswith("budgets[0].amount: must be positive")
    else:
        raise AssertionError("a zero budget amount must be refused")


def test_statement_sums_each_team_across_pools_and_budgets_read_it():
    # The node's lines by team, and the bill, which no step splits: one leaf with no team.
    a = month().add("statements", {"id": "teams", "group_by": ["team"]})
    a.add("budgets", {"id": "nlp", "spend": {"statement": "teams", "tags": {"team": "nlp"}}, "amount": "1000",
                      "period": {"month": "2026-06"}})
    result = a.run()
    (statement,) = result.statements
    assert {r["tags"]["team"]: r["cost"] for r in statement["rows"]} == {
        "__unallocated__": "1043.21", "cv": "300.00", "ml": "100.00", "nlp": "600.00"}
    assert statement["total"] == "2043.21"
    assert result.budgets[0]["spend"] == "600.00"
