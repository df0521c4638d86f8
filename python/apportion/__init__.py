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

A DataFrame goes in as columns, not as a dict per row, with the GIL released while the
engine reads it; the lines come back as one::

    result = apportion.run_result(spec, records=usage, measures=["gpu_seconds"])
    lines = result.to_dataframe()

Budgets and anomalies of a spec fire alerts; ``apportion.alerts(spec, format="slack")``
renders the new ones as text, JSON or a Slack Block Kit payload (nothing is sent)::

    payload = apportion.alerts("spec.json", format="slack", already_fired=keys_seen_before)

Amounts are exact everywhere: str, int, decimal.Decimal and Money go in, decimal.Decimal and
Money come out, and a float is refused with TypeError. Bad input raises SpecError (a
ValueError) whose message starts with the JSON path of the offending value.
"""
import os as _os
from collections.abc import Iterable as _Iterable
from collections.abc import Mapping as _Mapping

from . import _core
from ._allocation import (
    Allocation,
    Commitment,
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
    RecordBatch,
    SpecError,
    Tags,
    group_sums,
    split_columnar,
    strategies,
)
from ._json import dumps
from ._ingest import ingest, ingest_formats
from ._pandas import lines_dataframe, record_batch, records_from_dataframe
from ._result import Line, Result, SpecOverflowError, run, run_result
from ._result import SpecLike as _SpecLike
from ._result import _limit_settings, _looks_like_path

__version__: str = _core.__version__

_Mapping.register(Tags)

_ALERT_FORMATS = ("text", "json", "slack")


def alerts(
    spec: _SpecLike,
    format: str = "text",
    already_fired: _Iterable[str] = (),
    base_dir: str | _os.PathLike[str] = ".",
    *,
    live_sources: bool = True,
    **limits: int,
) -> str:
    """Runs a spec and renders the alerts its budgets and anomalies fire, as a str.

    ``spec`` is what run() takes: a dict, JSON text or a path. ``format`` is ``"text"``
    (one block per alert; ``"no new alerts"`` when none fired), ``"json"`` (``{"alerts":
    [{"key", "severity", "source", "rule", "tags", "title", "facts"}]}``) or ``"slack"`` (a
    Slack Block Kit message payload, to post yourself: the library sends nothing).
    ``already_fired`` holds alert keys fired by earlier checks; they do not fire again, so
    keep the keys of each check (the ``"json"`` format lists them) and pass them in the
    next. ``base_dir``, ``live_sources`` and keyword limits are as for run(). Bad input
    raises SpecError.
    """
    if format not in _ALERT_FORMATS:
        raise ValueError(f"format must be 'text', 'json' or 'slack', not {format!r}")
    if isinstance(already_fired, (str, bytes)):
        raise TypeError("already_fired is a list of alert keys, not a single str")
    fired = list(already_fired)
    for key in fired:
        if not isinstance(key, str):
            raise TypeError(f"already_fired holds str alert keys, not {type(key).__name__}")
    settings = _limit_settings(limits, live_sources)
    try:
        if isinstance(spec, _os.PathLike) or (isinstance(spec, str) and _looks_like_path(spec)):
            return _core.alerts_spec_file(_os.fspath(spec), settings, format, fired)
        if isinstance(spec, str):
            return _core.alerts_spec(spec, _os.fspath(base_dir), settings, format, fired)
        if isinstance(spec, bytes):
            return _core.alerts_spec(spec.decode("utf-8"), _os.fspath(base_dir), settings, format, fired)
        if isinstance(spec, _Mapping):
            return _core.alerts_spec(dumps(spec), _os.fspath(base_dir), settings, format, fired)
    except OverflowError as e:
        if isinstance(e, SpecOverflowError):
            raise
        raise SpecOverflowError(str(e)) from None
    raise TypeError(f"a spec is a dict, JSON text or a path, not a {type(spec).__name__}")


def log_to_mlflow(
    spec: _SpecLike,
    target: str | _os.PathLike[str],
    base_dir: str | _os.PathLike[str] = ".",
    *,
    spec_name: str | None = None,
    bearer_token_env: str = "MLFLOW_TRACKING_TOKEN",
    live_sources: bool = True,
    **limits: int,
) -> dict:
    """Runs a spec and writes its priced runs' training costs back to MLflow.

    For every run a ``per_experiment`` step priced (a record tagged ``run_id``, as the
    ``mlflow`` input tags them), writes the metrics ``training_cost_<currency>``,
    ``gpu_hours`` and, with an ``epochs`` metric or param, ``cost_per_epoch``, and
    ``apportion.*`` tags holding the exact decimals, to ``target``: an MLflow file store's
    folder (``mlruns``) or a tracking server's ``http(s)://`` address (with the token in
    ``bearer_token_env`` when set). A second call with the same spec writes nothing new; a
    changed price writes a new point. ``spec_name`` is written in the tag
    ``apportion.spec``; by default a path spec's file name, and nothing for a dict or text
    spec. Returns the report: ``{"target", "runs": [{"run_id", "step", "cost",
    "gpu_hours", "cost_per_epoch", "metrics_written", "tags_written"}], "not_logged",
    "points_written", "warnings"}``, amounts as decimal.Decimal; the warnings are the
    write-back's (runs not logged), the inputs' own are in run()'s result.
    ``base_dir``, ``live_sources`` and keyword limits are as for run() (a path spec's
    ``inputs`` are relative to its folder). Bad input raises SpecError.
    """
    import json as _json
    from decimal import Decimal as _Decimal

    settings = _limit_settings(limits, live_sources)
    token = _os.environ.get(bearer_token_env) or None
    if isinstance(spec, _os.PathLike) or (isinstance(spec, str) and _looks_like_path(spec)):
        path = _os.fspath(spec)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        base_dir = _os.path.dirname(path) or "."
        if spec_name is None:
            spec_name = _os.path.basename(path)
    elif isinstance(spec, bytes):
        text = spec.decode("utf-8")
    elif isinstance(spec, str):
        text = spec
    elif isinstance(spec, _Mapping):
        text = dumps(spec)
    else:
        raise TypeError(f"a spec is a dict, JSON text or a path, not a {type(spec).__name__}")
    try:
        report = _json.loads(
            _core.log_to_mlflow_spec(text, _os.fspath(base_dir), settings, _os.fspath(target), spec_name or "", token))
    except OverflowError as e:
        if isinstance(e, SpecOverflowError):
            raise
        raise SpecOverflowError(str(e)) from None
    for logged in report["runs"]:
        for key in ("cost", "gpu_hours", "cost_per_epoch"):
            if logged[key] is not None:
                logged[key] = _Decimal(logged[key])
    return report


def report_html(
    spec: _SpecLike,
    title: str | None = None,
    base_dir: str | _os.PathLike[str] = ".",
    **limits: int,
) -> str:
    """Runs a spec and returns its HTML showback report as a str (docs/report.md).

    ``spec`` is what run() takes: a dict, JSON text or a path; ``base_dir`` and keyword
    limits are as for run(). The page is self-contained (inline CSS, SVG and a table
    sorter, nothing fetched), so it can be written to a file and mailed. Bad input raises SpecError.
    """
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title is a str, not {type(title).__name__}")
    return run_result(spec, base_dir, **limits).to_html(title)


__all__ = [
    "Allocation",
    "Catalog",
    "Commitment",
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
    "RecordBatch",
    "Result",
    "SpecError",
    "SpecOverflowError",
    "Strategy",
    "Tags",
    "WeightedSplit",
    "__version__",
    "alerts",
    "dumps",
    "group_sums",
    "ingest",
    "ingest_formats",
    "lines_dataframe",
    "log_to_mlflow",
    "record_batch",
    "records_from_dataframe",
    "report_html",
    "run",
    "run_result",
    "split_columnar",
    "strategies",
]
