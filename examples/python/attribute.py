#!/usr/bin/env python3
"""Attributes a GPU node's cost to teams twice: with objects, then from a DataFrame.

Run from a build tree:  PYTHONPATH=build/python python3 examples/python/attribute.py
"""
from decimal import Decimal

import pandas as pd

import apportion
from apportion import Allocation, Money, PerNamespace, PerTenant, records_from_dataframe


def with_objects() -> None:
    """A node priced from the built-in catalog, split by namespace, then the inference
    namespace's share split by tenant tokens."""
    a = Allocation(currency="USD", catalog="builtin")
    a.add_pool("node", price={"sku": "spheron/h100-sxm5", "tier": "on_demand", "quantity": "192"})  # 8 GPUs x 24 h
    a.add_pool("serving", from_={"step": "namespaces", "tags": {"namespace": "llm-serving"}})
    a.add_record({"namespace": "llm-serving"}, pool="node", gpu_seconds=345600)
    a.add_record({"namespace": "training"}, pool="node", gpu_seconds=276480)
    a.add_record({"namespace": "kube-system"}, pool="node", gpu_seconds=3600)
    a.add_record({"team": "search"}, pool="serving", tokens_prompt=40_000_000, tokens_generation=5_000_000)
    a.add_record({"team": "support"}, pool="serving", tokens_prompt=10_000_000, tokens_generation=9_000_000)
    a.add_step("namespaces", PerNamespace(idle={"capacity": "691200", "policy": "separate"}), pool="node")
    a.add_step("tenants", PerTenant(), pool="serving")
    result = a.run()
    print(result.to_table())
    total = sum((Money(line.cost) for line in result.lines if line.step == "namespaces"), Money.zero())
    print("namespaces sum to", total, "== pool", Money(result.pools["node"]))


def with_a_dataframe() -> None:
    """Usage from a DataFrame (integer GPU-seconds: exact), costs back as Decimals."""
    usage = pd.DataFrame({
        "namespace": ["nlp", "cv", "platform", "research", None],
        "gpu_seconds": [8294400, 5184000, 3110400, 2487600, 1659600],
    })
    a = Allocation()
    a.add_pool("cluster-month", cost=Money("22579.20"))
    a.add_records(records_from_dataframe(usage, tags=["namespace"], measures=["gpu_seconds"], pool="cluster-month"))
    a.add_step("teams", PerNamespace(), pool="cluster-month")
    lines = a.run().to_dataframe()
    print(lines[["namespace", "kind", "cost", "share"]].to_string(index=False))
    assert sum(lines["cost"], Decimal(0)) == Decimal("22579.20")


if __name__ == "__main__":
    print("apportion", apportion.__version__)
    with_objects()
    print()
    with_a_dataframe()
