"""Running a spec and reading its result."""
from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union

from . import _core
from ._json import dumps
from ._pandas import record_batches

__all__ = ["Line", "Result", "SpecOverflowError", "SpecLike", "run", "run_result"]

SpecLike = Union[Mapping[str, Any], str, bytes, "os.PathLike[str]"]


class SpecOverflowError(_core.SpecError, OverflowError):
    """A spec value or result beyond the range the library holds exactly.

    Both a SpecError (bad input, as the command line reports it) and an OverflowError.
    """


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass(frozen=True)
class Line:
    """One line of a result: a step's share of a pool for one set of tags."""

    step: str
    pool: str | None
    kind: str  # allocated, overhead, idle or unallocated
    tags: dict[str, str]
    cost: Decimal
    weight: Decimal | None = None
    share: Decimal | None = None
    split_cost: Decimal | None = None
    unused_cost: Decimal | None = None
    gpu_hours: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # fields a later spec version adds

    _known = ("step", "pool", "kind", "tags", "cost", "weight", "share", "split_cost", "unused_cost", "gpu_hours")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Line:
        """A Line from one entry of a result document's ``lines``."""
        return cls(
            step=d["step"],
            pool=d.get("pool"),
            kind=d["kind"],
            tags=dict(d["tags"]),
            cost=Decimal(d["cost"]),
            weight=_decimal(d.get("weight")),
            share=_decimal(d.get("share")),
            split_cost=_decimal(d.get("split_cost")),
            unused_cost=_decimal(d.get("unused_cost")),
            gpu_hours=_decimal(d.get("gpu_hours")),
            extra={k: v for k, v in d.items() if k not in cls._known},
        )


class Result:
    """The result of a run. Decimals come back exact, as decimal.Decimal."""

    def __init__(self, core: _core.Result) -> None:
        self._core = core
        self._json: str | None = None
        self._doc: dict[str, Any] | None = None  # parsed once, for the properties; never handed out

    def to_json(self) -> str:
        """The result document as JSON text, byte for byte what the command line prints."""
        if self._json is None:
            self._json = self._core.to_json()
        return self._json

    def to_dict(self) -> dict[str, Any]:
        """The result document as a new dict; decimals stay the strings the document holds."""
        return json.loads(self.to_json(), parse_float=Decimal)

    def _parsed(self) -> dict[str, Any]:
        if self._doc is None:
            self._doc = self.to_dict()
        return self._doc

    def to_table(self) -> str:
        """An aligned table per step (``apportion run --format table``)."""
        return self._core.to_table()

    def to_csv(self) -> str:
        """One CSV row per line (``apportion run --format csv``)."""
        return self._core.to_csv()

    def to_focus(self) -> str:
        """FOCUS 1.3 allocated charges as CSV (``apportion run --format focus``)."""
        return self._core.to_focus()

    def to_markdown(self) -> str:
        """Markdown tables per step, then governance (``apportion run --format markdown``)."""
        return self._core.to_markdown()

    def to_prometheus(self) -> str:
        """Prometheus text exposition, for node_exporter's textfile collector or a Pushgateway
        (``apportion run --format prometheus``; docs/output-formats.md)."""
        return self._core.to_prometheus()

    def to_html(self, title: str | None = None, generated_at: str | None = None) -> str:
        """A self-contained HTML showback report (``apportion report``, docs/report.md)."""
        return self._core.to_html(title, generated_at)

    def to_dataframe(self) -> Any:
        """The lines as a pandas DataFrame (see lines_dataframe)."""
        from ._pandas import lines_dataframe

        return lines_dataframe(self)

    @property
    def currency(self) -> str:
        return self._parsed()["currency"]

    @property
    def precision(self) -> Decimal:
        return Decimal(self._parsed()["precision"])

    @property
    def lines(self) -> list[Line]:
        return [Line.from_dict(d) for d in self._parsed().get("lines", [])]

    @property
    def pools(self) -> dict[str, Decimal]:
        """Each pool's rounded cost, in spec order."""
        return {p["id"]: Decimal(p["cost"]) for p in self._parsed().get("pools", [])}

    @property
    def coverage(self) -> dict[str, Decimal]:
        """Per split step, the share of its pool not on unallocated lines."""
        return {c["step"]: Decimal(c["ratio"]) for c in self._parsed().get("coverage", [])}

    @property
    def unit_costs(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self._parsed().get("unit_costs", []))

    @property
    def statements(self) -> list[dict[str, Any]]:
        """Per statement (docs/statements.md): its total and rows, each with its tags, cost
        and parts, as the result document writes them (amounts are decimal strings)."""
        return copy.deepcopy(self._parsed().get("statements", []))

    # The governance sections (docs/governance.md), as the result document writes them:
    # amounts and ratios are decimal strings. Empty when the spec has none.
    @property
    def budgets(self) -> list[dict[str, Any]]:
        """Per budget: spend, ratio, forecast, crossed thresholds and new alerts."""
        return copy.deepcopy(self._parsed().get("budgets", []))

    @property
    def anomalies(self) -> list[dict[str, Any]]:
        """Per anomaly rule: the baseline and the flagged lines."""
        return copy.deepcopy(self._parsed().get("anomalies", []))

    @property
    def reconcile(self) -> list[dict[str, Any]]:
        """Per reconciliation: estimate, actual, difference, drift, causes and trued-up lines."""
        return copy.deepcopy(self._parsed().get("reconcile", []))

    @property
    def scorecards(self) -> list[dict[str, Any]]:
        """Per scorecard: each lever's saving, and the combined saving."""
        return copy.deepcopy(self._parsed().get("scorecards", []))

    @property
    def unit_economics(self) -> list[dict[str, Any]]:
        """Per rule: each line's cost per request, token, run, epoch and GPU-hour."""
        return copy.deepcopy(self._parsed().get("unit_economics", []))

    def __repr__(self) -> str:
        d = self._parsed()
        return f"<apportion.Result {len(d.get('lines', []))} lines, {len(d.get('pools', []))} pools, {d['currency']}>"


def _looks_like_path(text: str) -> bool:
    # A spec document is a JSON object; any other text names a file, so a file that is
    # missing is reported as such rather than as bad JSON.
    return not text.lstrip().startswith(("{", "["))


def _limit_settings(limits: dict[str, Any], live_sources: bool = True) -> dict[str, str]:
    settings = {}
    for name, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"limit {name} must be an int, not {type(value).__name__}")
        settings[name] = str(value)
    if not isinstance(live_sources, bool):
        raise TypeError(f"live_sources must be True or False, not {type(live_sources).__name__}")
    if not live_sources:
        settings["live_sources"] = "false"
    return settings


def run_result(spec: SpecLike, base_dir: str | os.PathLike[str] = ".", *, records: Any = None,
               tags: Sequence[str] | None = None, measures: Sequence[str] | None = None, pool: str | None = None,
               live_sources: bool = True, **limits: int) -> Result:
    """Runs a spec and keeps the result in C++ until it is read (see run()).

    ``base_dir`` is the folder ``inputs`` paths are relative to for a spec given as a dict
    or text; a spec file's own folder is used for a path. ``records`` (a DataFrame, a named
    Series, a RecordBatch or a list of them) are read as columns after the spec's own
    records, ``tags``, ``measures`` and ``pool`` saying how (record_batch()). Keyword
    arguments set limits against resource exhaustion (``max_records=1000``; docs/errors.md
    lists them all). ``live_sources=False`` refuses inputs that read a server (a ``url``):
    for a service that runs specs it is sent.
    """
    settings = _limit_settings(limits, live_sources)
    if records is None:
        if tags is not None or measures is not None or pool is not None:
            raise TypeError("tags, measures and pool say how to read records=; no records were given")
        batches = []
    else:
        batches = record_batches(records, tags, measures, pool)
    try:
        if isinstance(spec, os.PathLike) or (isinstance(spec, str) and _looks_like_path(spec)):
            core = _core.run_spec_file(os.fspath(spec), settings, batches)
        elif isinstance(spec, str):
            core = _core.run_spec(spec, os.fspath(base_dir), settings, batches)
        elif isinstance(spec, bytes):
            core = _core.run_spec(spec.decode("utf-8"), os.fspath(base_dir), settings, batches)
        elif isinstance(spec, Mapping):
            core = _core.run_spec(dumps(spec), os.fspath(base_dir), settings, batches)
        else:
            raise TypeError(f"a spec is a dict, JSON text or a path, not a {type(spec).__name__}")
    except OverflowError as e:
        if isinstance(e, SpecOverflowError):
            raise
        raise SpecOverflowError(str(e)) from None
    return Result(core)


def run(spec: SpecLike, base_dir: str | os.PathLike[str] = ".", *, records: Any = None,
        tags: Sequence[str] | None = None, measures: Sequence[str] | None = None, pool: str | None = None,
        live_sources: bool = True, **limits: int) -> dict[str, Any]:
    """Runs an allocation spec and returns the result document as a dict.

    ``spec`` is a dict, JSON text, or a path (str or os.PathLike) to a spec file. Numbers in
    a dict must be exact: str, int or decimal.Decimal (a float is TypeError). Bad input
    raises SpecError with the message the command line prints, starting with the JSON path
    of the offending value: ``records[3].measures.gpu_seconds: must not be negative``.

    ``records``: a DataFrame (or a named Series, a RecordBatch, or a list of them) whose rows
    are records read after the spec's own, column by column, with the GIL released while the
    engine reads and runs them: ``run(spec, records=usage, measures=["gpu_seconds"])``.
    ``tags`` and ``measures`` name its columns, ``pool`` sets every row's pool
    (record_batch() says how columns are read). A bad row is SpecError naming it
    ("DataFrame row 3: gpu_seconds: must not be negative", rows counted from 0).

    Keyword arguments set limits against resource exhaustion, each a positive int:
    ``max_spec_bytes``, ``max_depth``, ``max_string_bytes``, ``max_records``, ``max_pools``,
    ``max_steps``, ``max_groups_per_step``, ``max_inputs``, ``max_input_bytes``. Input past
    one raises SpecError naming the place and the limit; an unknown name is SpecError too.

    ``live_sources=False`` makes an input with a ``url`` (a live Prometheus or OpenCost,
    docs/ingest.md "Live sources") SpecError instead of a request: for a service that runs
    specs other people send it.
    """
    return run_result(spec, base_dir, records=records, tags=tags, measures=measures, pool=pool,
                      live_sources=live_sources, **limits).to_dict()
