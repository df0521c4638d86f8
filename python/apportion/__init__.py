"""apportion: exact attribution of GPU and AI cost.

One allocation spec (a dict, JSON text or a file) goes in, a result comes out, computed by
the same C++ engine as the ``apportion`` command line, so both give the same bytes and the
same error messages::

    import apportion
    result = apportion.run("spec.json")          # the result document, as a dict

Or build the allocation in code::

    a = apportion.Allocation(currency="USD")
    a.add_pool("node", cost="31.36")
    a.add_record({"namespace": "nlp"}, gpu_seconds=8294400)
    a.add_step("teams", apportion.PerNamespace(), pool="node")
    for line in a.run().lines:
        print(line.tags, line.cost)

Amounts are exact everywhere: str, int, decimal.Decimal and Money go in, decimal.Decimal and
Money come out, and a float is refused with TypeError. Bad input raises SpecError (a
ValueError) whose message starts with the JSON path of the offending value.
"""
from collections.abc import Mapping as _Mapping

from . import _core
from ._allocation import (
    Allocation,
    Even,
    Fixed,
    PerExperiment,
    PerNamespace,
    PerTenant,
    PerToken,
    Proportional,
    Strategy,
    WeightedSplit,
)
from ._core import (
    Catalog,
    CurrencyMismatch,
    Money,
    ParseError,
    PartialAggregate,
    PriceNotFound,
    SpecError,
    Tags,
    group_sums,
    split_columnar,
    strategies,
)
from ._json import dumps
from ._ingest import ingest, ingest_formats
from ._pandas import lines_dataframe, records_from_dataframe
from ._result import Line, Result, SpecOverflowError, run, run_result

__version__: str = _core.__version__

_Mapping.register(Tags)

__all__ = [
    "Allocation",
    "Catalog",
    "CurrencyMismatch",
    "Even",
    "Fixed",
    "Line",
    "Money",
    "ParseError",
    "PartialAggregate",
    "PerExperiment",
    "PerNamespace",
    "PerTenant",
    "PerToken",
    "PriceNotFound",
    "Proportional",
    "Result",
    "SpecError",
    "SpecOverflowError",
    "Strategy",
    "Tags",
    "WeightedSplit",
    "__version__",
    "dumps",
    "group_sums",
    "ingest",
    "ingest_formats",
    "lines_dataframe",
    "records_from_dataframe",
    "run",
    "run_result",
    "split_columnar",
    "strategies",
]
