"""pandas in and out: records from a DataFrame, result lines as one.

Exactness carries through: measures come from integer columns or from object columns of
str, int or decimal.Decimal; a float column is refused. Costs come back as Decimal objects.
"""
from __future__ import annotations

import decimal
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["lines_dataframe", "records_from_dataframe"]


def _missing(value: Any) -> bool:
    import pandas as pd

    return value is None or (not isinstance(value, (str, decimal.Decimal)) and bool(pd.isna(value)))


def _measure_column(df: Any, name: str) -> list[Any]:
    column = df[name]
    kind = column.dtype.kind
    if kind in "iu":  # numpy and pandas' nullable integers: exact
        return [None if _missing(v) else int(v) for v in column.tolist()]
    if kind == "f":
        raise TypeError(f"column {name!r} is {column.dtype}: floats are not exact; "
                        "use an integer column, or str or Decimal values")
    if kind != "O":
        raise TypeError(f"column {name!r} is {column.dtype}: measures are integers, str or Decimal")
    values = []
    for row, v in zip(df.index, column.tolist()):
        if _missing(v):
            values.append(None)
        elif isinstance(v, (str, decimal.Decimal)) or (isinstance(v, numbers.Integral) and not isinstance(v, bool)):
            values.append(v)
        else:
            raise TypeError(f"column {name!r}, row {row!r}: {type(v).__name__} {v!r} is not exact; "
                            "use int, str or Decimal")
    return values


def _tag_column(df: Any, name: str) -> list[str | None]:
    values: list[str | None] = []
    for row, v in zip(df.index, df[name].tolist()):
        if _missing(v) or v == "":  # an empty cell, as the csv input reads one: no tag
            values.append(None)
        elif isinstance(v, str):
            values.append(v)
        else:
            raise TypeError(f"column {name!r}, row {row!r}: tag values are str, got {type(v).__name__} {v!r}")
    return values


def _as_frame(data: Any) -> Any:
    """A DataFrame whose columns include its named index levels (the keys of a groupby)."""
    import pandas as pd

    if isinstance(data, pd.Series):
        if data.name is None:
            raise TypeError("a Series needs a name, the column its values become: series.rename('gpu_seconds')")
        data = data.to_frame()
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"records come from a pandas DataFrame or a named Series, not a {type(data).__name__}")
    levels = [n for n in data.index.names if n is not None and n not in data.columns]
    return data.reset_index(level=levels) if levels else data


def records_from_dataframe(df: Any, tags: Sequence[str] = (), measures: Sequence[str] = (),
                           pool: str | None = None, id: str | None = None) -> list[dict[str, Any]]:
    """Spec records from the rows of a DataFrame, as the spec's ``csv`` input reads a file.

    ``df`` is a DataFrame or a named Series; named index levels count as columns, so the
    result of ``df.groupby(["namespace", "team"], dropna=False).sum()`` can be given as it
    is (``dropna=False``: pandas otherwise drops the rows with a missing key, and their
    usage with them, where here they land on the unallocated line). ``tags``
    and ``measures`` name columns; ``pool``, if given, is set on every record; ``id`` names
    a column of record ids. A missing tag (None, NaN, "") leaves the key out, so the record
    lands on its step's unallocated line; a missing measure counts as 0. Integer columns are
    exact; object columns may hold str, int or Decimal; a float column is TypeError, since
    its values are already rounded to binary.
    """
    df = _as_frame(df)
    for name in (*tags, *measures, *([id] if id else [])):
        if name not in df.columns:
            raise KeyError(f"no column {name!r} in the DataFrame (columns: {', '.join(map(str, df.columns))})")
    tag_values = {name: _tag_column(df, name) for name in tags}
    measure_values = {name: _measure_column(df, name) for name in measures}
    ids = _tag_column(df, id) if id else None
    records = []
    for i in range(len(df)):
        record: dict[str, Any] = {}
        if ids is not None and ids[i] is not None:
            record["id"] = ids[i]
        record["tags"] = {k: v[i] for k, v in tag_values.items() if v[i] is not None}
        if pool is not None:
            record["pool"] = pool
        m = {k: v[i] for k, v in measure_values.items() if v[i] is not None}
        if m:
            record["measures"] = m
        records.append(record)
    return records


_OPTIONAL = ("split_cost", "unused_cost", "gpu_hours")


def lines_dataframe(result: Mapping[str, Any] | Any) -> Any:
    """The lines of a result (the dict run() returns, or a Result) as a DataFrame.

    Columns: step, pool, kind, one per tag key used anywhere (sorted; None where a line
    lacks it), cost, weight, share, and split_cost, unused_cost, gpu_hours when any line has
    them. Numbers are decimal.Decimal in object columns, never floats.
    """
    import pandas as pd

    if not isinstance(result, Mapping):
        result = result.to_dict()
    lines = result.get("lines", [])
    keys = sorted({k for line in lines for k in line["tags"]})
    optional = [f for f in _OPTIONAL if any(f in line for line in lines)]
    columns = ["step", "pool", "kind", *keys, "cost", "weight", "share", *optional]

    def num(v: Any) -> decimal.Decimal | None:
        return None if v is None else decimal.Decimal(v)

    rows = []
    for line in lines:
        row = [line["step"], line.get("pool"), line["kind"], *(line["tags"].get(k) for k in keys)]
        row += [num(line.get(f)) for f in ("cost", "weight", "share", *optional)]
        rows.append(row)
    return pd.DataFrame(rows, columns=columns, dtype=object)
