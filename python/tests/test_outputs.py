"""FOCUS allocated rows and markdown through the Python package."""
import csv
import io
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import apportion

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "data"


def focus_rows(text):
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_focus_rows_carry_the_bills_columns_and_add_up_to_it():
    rows = focus_rows(apportion.run_result(EXAMPLES / "focus-chargeback.json").to_focus())
    with open(EXAMPLES / "bills" / "focus-2026-06-to-date.csv", newline="") as f:
        bill = [r for r in csv.DictReader(f) if r["ResourceId"] == "gpu-node-1"]
    metrics = ("BilledCost", "EffectiveCost", "ListCost", "ConsumedQuantity", "PricingQuantity")
    sums = defaultdict(Decimal)
    for row in rows:
        for m in metrics:
            sums[row["x_StepId"], m] += Decimal(row[m])
    # The node's rows sum to its charges in the bill, in every summable column.
    for m in metrics:
        assert sums["teams", m] == sum(Decimal(r[m]) for r in bill), m
    # The drill-down's rows sum to the llm-serving row they split.
    serving = next(r for r in rows if r["x_StepId"] == "teams" and r["AllocatedResourceId"] == "namespace=llm-serving")
    for m in metrics:
        assert sums["tenants", m] == Decimal(serving[m]), m
    # Dimensions repeat the charge's: the same on every row, from the bill.
    for column in ("ServiceName", "SubAccountName", "BillingAccountId", "RegionId", "ResourceId"):
        assert {row[column] for row in rows} == {bill[0][column]}, column
    assert {row["ChargePeriodStart"] for row in rows} == {min(r["ChargePeriodStart"] for r in bill)}
    assert {row["ChargePeriodEnd"] for row in rows} == {max(r["ChargePeriodEnd"] for r in bill)}
    assert {row["Tags"] for row in rows} == {'{"cluster":"gpu-east"}'}
    assert [row["AllocatedTags"] for row in rows if row["x_StepId"] == "tenants"] == [
        '{"namespace":"llm-serving","team":"ads"}', '{"namespace":"llm-serving","team":"search"}',
        '{"namespace":"llm-serving","team":"support-bot"}']


def test_markdown_has_a_table_per_step():
    spec = {"apportion": 1, "pools": [{"id": "node", "cost": "1000.00"}],
            "records": [{"tags": {"team": "a|b"}, "measures": {"w": 3}}, {"tags": {"team": "c"}, "measures": {"w": 1}}],
            "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "w"}]}
    text = apportion.run_result(spec).to_markdown()
    assert text.startswith("## Step teams: pool node\n")
    assert "| allocated | a\\|b | 750.00 | 75.00% |" in text
    assert "| **total** | | **1,000.00** | **100.00%** |" in text


def test_prometheus_exposition_has_a_gauge_per_line():
    spec = {"apportion": 1, "pools": [{"id": "node", "cost": "1000.00"}],
            "records": [{"tags": {"cost-center": "a"}, "measures": {"w": 3}}, {"tags": {"cost-center": "c"}, "measures": {"w": 1}}],
            "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["cost-center"], "weight": "w"}]}
    text = apportion.run_result(spec).to_prometheus()
    assert '# TYPE apportion_allocated_cost gauge\n' in text
    assert 'apportion_allocated_cost{step="teams",pool="node",currency="USD",cost_center="a"} 750.00\n' in text
    assert 'apportion_pool_cost{pool="node",currency="USD"} 1000.00\n' in text
