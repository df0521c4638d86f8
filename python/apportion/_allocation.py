"""Allocations written as Python objects instead of JSON.

An Allocation builds the same spec document the command line reads, and runs it through
the same C++ engine, so the numbers cannot differ between the two.
"""
from __future__ import annotations

import decimal
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

from . import _core
from ._json import dumps
from ._pandas import is_frame, record_batches
from ._result import Result, run_result

__all__ = [
    "Allocation",
    "Commitment",
    "Even",
    "Fixed",
    "PerExperiment",
    "PerNamespace",
    "PerTenant",
    "PerToken",
    "Proportional",
    "Strategy",
    "WeightedSplit",
]

GroupBy = Union[str, Sequence[str], None]


def _group_by(value: GroupBy) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


class Strategy:
    """A step's rule: a strategy name and its options, as the spec writes them.

    The built-in strategies have their own classes below; ``Strategy("my_rule", k=v)``
    names one registered from C++. Options left as None are left out, so the strategy's
    default applies.
    """

    def __init__(self, name: str, **options: Any) -> None:
        self.name = name
        if "group_by" in options:
            options["group_by"] = _group_by(options["group_by"])
        self.options = {k: v for k, v in options.items() if v is not None}

    def to_spec(self) -> dict[str, Any]:
        """The step keys this strategy contributes: ``strategy`` and its options."""
        return {"strategy": self.name, **self.options}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Strategy) and self.to_spec() == other.to_spec()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({args})" if type(self) is not Strategy else f"Strategy({self.name!r}, {args})"


class Proportional(Strategy):
    """Splits a pool by a measure (``"gpu_seconds"``) or a linear combination of measures
    (``{"tokens_prompt": 1, "tokens_generation": 3}``) over the ``group_by`` tags."""

    def __init__(self, weight: str | Mapping[str, Any], group_by: GroupBy = None, *,
                 select: Mapping[str, Any] | None = None) -> None:
        super().__init__("proportional", group_by=group_by, weight=weight, select=select)


class PerNamespace(Strategy):
    """Proportional by namespace (gpu_seconds by default), with overhead namespaces and idle
    capacity kept apart, spread or assigned: ``overhead={"policy": "proportional"}``,
    ``idle={"capacity": "2073600", "policy": "separate"}``."""

    def __init__(self, weight: str | Mapping[str, Any] | None = None, *, overhead: Mapping[str, Any] | None = None,
                 idle: Mapping[str, Any] | None = None, group_by: GroupBy = None,
                 select: Mapping[str, Any] | None = None) -> None:
        super().__init__("per_namespace", group_by=group_by, weight=weight, overhead=overhead, idle=idle, select=select)


class PerTenant(Strategy):
    """Splits a shared inference endpoint by tokens (or requests) per tenant (``team``)."""

    def __init__(self, weight: str | None = None, *, token_weights: Mapping[str, Any] | None = None,
                 cached: str | None = None, group_by: GroupBy = None, select: Mapping[str, Any] | None = None) -> None:
        super().__init__("per_tenant", group_by=group_by, weight=weight, token_weights=token_weights, cached=cached,
                         select=select)


class PerToken(Strategy):
    """Like PerTenant, plus unit costs per million tokens for each ``rate_by`` group."""

    def __init__(self, *, token_weights: Mapping[str, Any] | None = None, rate_by: GroupBy = None,
                 unit_precision: Any = None, phases: Mapping[str, Any] | None = None, group_by: GroupBy = None,
                 select: Mapping[str, Any] | None = None) -> None:
        super().__init__("per_token", group_by=group_by, token_weights=token_weights, rate_by=_group_by(rate_by),
                         unit_precision=unit_precision, phases=phases, select=select)


class PerExperiment(Strategy):
    """Prices runs (records with a ``sku``) from the catalog; the step takes no pool.

    ``rounding="total"`` rounds the lines together, so they sum to the runs' total rounded
    once; the default, ``"lines"``, rounds each line alone (the spec's rule)."""

    def __init__(self, group_by: GroupBy = None, *, rounding: str | None = None,
                 select: Mapping[str, Any] | None = None) -> None:
        super().__init__("per_experiment", group_by=group_by, rounding=rounding, select=select)


class WeightedSplit(Strategy):
    """One instance for one period, split by weighted reserved/used resources (AWS split
    cost allocation): ``WeightedSplit(capacity={"gpu": 8, "cpu": 64, "memory_gb": 488})``."""

    def __init__(self, capacity: Mapping[str, Any], *, weights: Mapping[str, Any] | None = None,
                 basis: str | None = None, unused: str | None = None, group_by: GroupBy = None,
                 select: Mapping[str, Any] | None = None) -> None:
        super().__init__("weighted_split", group_by=group_by, capacity=capacity, weights=weights, basis=basis,
                         unused=unused, select=select)


class Commitment(Strategy):
    """A commitment (reserved instance, savings plan, credit) split by the usage it covers:
    ``Commitment(covers="20736000", unused="separate")`` (docs/commitments.md)."""

    def __init__(self, covers: Any, *, weight: str | Mapping[str, Any] | None = None, unused: Any = None,
                 group_by: GroupBy = None, select: Mapping[str, Any] | None = None) -> None:
        super().__init__("commitment", group_by=group_by, covers=covers, weight=weight, unused=unused, select=select)


class Even(Strategy):
    """The pool in equal parts over the distinct groups present."""

    def __init__(self, group_by: GroupBy, *, select: Mapping[str, Any] | None = None) -> None:
        super().__init__("even", group_by=group_by, select=select)


class Fixed(Strategy):
    """Fixed shares of the pool: ``Fixed([({"team": "a"}, "0.3"), ({"team": "b"}, "0.7")])``
    (or dicts with ``tags`` and ``share``); what they leave is one unallocated line."""

    def __init__(self, shares: Iterable[Any]) -> None:
        out = []
        for s in shares:
            if isinstance(s, Mapping):
                out.append(dict(s))
            else:
                tags, share = s
                out.append({"tags": tags, "share": share})
        super().__init__("fixed", shares=out)


class Allocation:
    """An allocation spec built in code: pools, records, steps; run() gives a Result.

    >>> a = Allocation(currency="USD")
    >>> a.add_pool("node", cost="31.36")
    >>> a.add_record({"namespace": "nlp"}, gpu_seconds=3600)
    >>> a.add_step("teams", PerNamespace(), pool="node")
    >>> a.run().lines[0].cost
    Decimal('31.36')

    Amounts are str, int, decimal.Decimal or Money; floats are refused. Every add_* method
    returns the allocation, so calls chain. Values are checked when the allocation runs,
    with errors naming their JSON path (``records[2].measures.gpu_seconds: ...``).
    """

    def __init__(self, currency: str = "USD", *, precision: Any = None,
                 catalog: _core.Catalog | str | Mapping[str, Any] | None = None) -> None:
        self.currency = currency
        self.precision = precision
        self.catalog = catalog
        self.pools: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []
        self.batches: list[_core.RecordBatch] = []  # records as columns (add_records of a DataFrame)
        self.steps: list[dict[str, Any]] = []
        self.sections: dict[str, list[Any]] = {}

    def add_pool(self, id: str, cost: Any = None, *, price: Mapping[str, Any] | None = None,
                 from_: Mapping[str, Any] | None = None, amortized: Mapping[str, Any] | None = None,
                 tags: Mapping[str, str] | None = None, currency: str | None = None) -> Allocation:
        """Adds a pool: a known ``cost`` (a Money brings its currency), a ``price``
        (``{"sku", "tier", "quantity"}``), ``from_`` an earlier step's lines
        (``{"step": "s1", "tags": {...}}``) or an ``amortized`` amount."""
        if isinstance(cost, _core.Money) and currency is None and cost.currency != self.currency:
            currency = cost.currency
        pool: dict[str, Any] = {"id": id}
        for key, value in (("tags", tags), ("currency", currency), ("cost", cost), ("price", price),
                           ("from", from_), ("amortized", amortized)):
            if value is not None:
                pool[key] = value
        self.pools.append(pool)
        return self

    def add_record(self, tags: Mapping[str, str] | None = None, *, pool: str | None = None, id: str | None = None,
                   measures: Mapping[str, Any] | None = None, reserved: Mapping[str, Any] | None = None,
                   used: Mapping[str, Any] | None = None, start: Any = None, end: Any = None, count: Any = None,
                   sku: str | None = None, tier: str | None = None, **more_measures: Any) -> Allocation:
        """Adds a record; measures as a dict and/or keywords: ``add_record({"team": "a"}, gpu_seconds=60)``."""
        record: dict[str, Any] = {"tags": dict(tags or {})}
        all_measures = {**(measures or {}), **more_measures}
        for key, value in (("id", id), ("pool", pool), ("measures", all_measures or None), ("reserved", reserved),
                           ("used", used), ("start", start), ("end", end), ("count", count), ("sku", sku),
                           ("tier", tier)):
            if value is not None:
                record[key] = value
        self.records.append(record)
        return self

    def add_records(self, records: Any, *, tags: Sequence[str] | None = None,
                    measures: Sequence[str] | None = None, pool: str | None = None) -> Allocation:
        """Adds records: a DataFrame (or a named Series, or a RecordBatch), read as columns,
        or spec dicts (records_from_dataframe() makes them).

        A DataFrame's columns are converted now (record_batch(): ``tags`` and ``measures``
        name them, ``pool`` sets every row's pool) and read by the engine when the allocation
        runs, after the records added as dicts, without a dict or JSON text per row; its
        integer columns are read in place, so do not change them before run().
        """
        if isinstance(records, _core.RecordBatch) or is_frame(records):
            name = f"DataFrame[{len(self.batches)}]"
            self.batches.extend(record_batches([records], tags, measures, pool, names=[name]))
            return self
        if tags is not None or measures is not None or pool is not None:
            raise TypeError("tags, measures and pool say how to read a DataFrame's columns, not spec dicts")
        self.records.extend(dict(r) for r in records)
        return self

    def add_step(self, id: str, strategy: Strategy, pool: str | None = None, *, group_by: GroupBy = None,
                 select: Mapping[str, Any] | None = None) -> Allocation:
        """Adds a step: ``strategy`` splits ``pool`` (none for PerExperiment)."""
        step: dict[str, Any] = {"id": id}
        if pool is not None:
            step["pool"] = pool
        step.update(strategy.to_spec())
        for key, value in (("group_by", _group_by(group_by)), ("select", select)):
            if value is not None:
                if key in step:
                    raise ValueError(f"add_step({id!r}): {key} given both to the step and to its strategy")
                step[key] = value
        self.steps.append(step)
        return self

    def add(self, section: str, item: Any) -> Allocation:
        """Appends to another top-level list of the spec: ``fx``, ``inputs``, ``budgets``,
        ``anomalies``, ``reconcile``, ``scorecards`` or ``unit_economics``
        (docs/governance.md): ``a.add("budgets", {"id": "nlp", "spend": ..., ...})``."""
        self.sections.setdefault(section, []).append(item)
        return self

    def to_spec(self) -> dict[str, Any]:
        """The spec document as a dict (amounts as given: str, int, Decimal or Money).

        Records added as DataFrames are not in it: they go to run() as columns."""
        spec: dict[str, Any] = {"apportion": 1, "currency": self.currency}
        if self.precision is not None:
            spec["precision"] = self.precision
        if isinstance(self.catalog, _core.Catalog):
            spec["catalog"] = json.loads(self.catalog.to_json(), parse_float=decimal.Decimal)
        elif self.catalog is not None:
            spec["catalog"] = self.catalog
        spec.update(pools=self.pools, records=self.records, steps=self.steps)
        spec.update(self.sections)
        return spec

    def to_json(self) -> str:
        """The spec document as JSON text, decimals exact."""
        return dumps(self.to_spec())

    def run(self, base_dir: str | os.PathLike[str] = ".") -> Result:
        """Runs the allocation in the C++ engine; bad input is SpecError naming the path."""
        return run_result(self.to_json(), base_dir, records=self.batches)

    def __repr__(self) -> str:
        rows = sum(len(b) for b in self.batches)
        frames = f" + {rows} rows in {len(self.batches)} batches" if self.batches else ""
        return (f"<apportion.Allocation {self.currency}: {len(self.pools)} pools, {len(self.records)} records{frames}, "
                f"{len(self.steps)} steps>")
