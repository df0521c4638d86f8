"""pandas in and out: records from a DataFrame, result lines as one.

A DataFrame goes into a run as columns (record_batch: tag columns as codes into a
dictionary, measures as exact integers), never a dict or JSON text per row. Exactness
carries through: measures come from integer columns or from object columns of str, int or
decimal.Decimal; a float column is refused. Costs come back as Decimal objects.
"""
from __future__ import annotations

import decimal
import numbers
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from . import _core

__all__ = ["lines_dataframe", "record_batch", "records_from_dataframe"]


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
        if _missing(v) or v == "":  # an empty cell, as the csv input reads one: no value
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


def is_frame(data: Any) -> bool:
    """A pandas DataFrame or Series (without importing pandas where it is not loaded)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, (pd.DataFrame, pd.Series))


def _is_tag_column(column: Any) -> bool:
    """How a column left to be inferred is read: str and categorical are tags, exact numbers
    measures; anything else is TypeError naming it."""
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return True
    if dtype.kind in "iu":
        return False
    if dtype.kind == "O":  # by its first value; every value is checked when it is read
        first = next((v for v in column.to_numpy() if not _missing(v) and v != ""), "")
        if isinstance(first, str):
            return True
        if isinstance(first, (decimal.Decimal, numbers.Integral)) and not isinstance(first, bool):
            return False
    if dtype.kind == "f":
        raise TypeError(f"column {column.name!r} is {dtype}: floats are not exact; use an integer column, or str "
                        "or Decimal values (or leave it out: name the columns with tags= and measures=)")
    raise TypeError(f"column {column.name!r} is {dtype}: neither tags (str, categorical) nor exact measures "
                    "(integers, Decimal); name the columns with tags= and measures=")


def _add_tags(batch: _core.RecordBatch, name: str, column: Any) -> None:
    import numpy as np
    import pandas as pd

    if isinstance(column.dtype, pd.CategoricalDtype):
        categories = column.cat.categories
        if len(categories) and pd.api.types.infer_dtype(categories, skipna=False) != "string":
            bad = next(c for c in categories if not isinstance(c, str))
            raise TypeError(f"column {name!r}: tag values are str, got a {type(bad).__name__} category {bad!r}")
        dictionary = categories.tolist()
        codes = column.cat.codes.to_numpy().astype(np.int32)
        if "" in dictionary:  # an empty cell, as the csv input reads one: no tag
            codes[codes == dictionary.index("")] = -1
        batch.add_tags(name, codes, dictionary)
    else:
        batch.add_tag_values(name, column.to_numpy(dtype=object), index=column.index)


def _add_measure(batch: _core.RecordBatch, name: str, column: Any) -> None:
    import numpy as np
    import pandas as pd

    dtype = column.dtype
    if dtype.kind in "iu":
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):  # pandas' nullable integers
            missing = column.isna().to_numpy()
            values = column.to_numpy(dtype=dtype.numpy_dtype, na_value=0)
            present = None if not missing.any() else (~missing).view(np.uint8)
        else:
            values, present = column.to_numpy(), None
        top = np.uint64(np.iinfo(np.int64).max)
        if values.dtype == np.uint64 and len(values) and values.max() > top:
            row = column.index[int(np.argmax(values > top))]
            raise ValueError(f"column {name!r}, row {row!r}: {values.max()} does not fit a 64-bit signed integer")
        batch.add_measure(name, np.ascontiguousarray(values, dtype=np.int64), present=present)
    elif dtype.kind == "f":
        raise TypeError(f"column {name!r} is {dtype}: floats are not exact; "
                        "use an integer column, or str or Decimal values")
    elif dtype.kind == "O":
        batch.add_measure_values(name, column.to_numpy(dtype=object), index=column.index)
    else:
        raise TypeError(f"column {name!r} is {dtype}: measures are integers, str or Decimal")


def record_batch(data: Any, tags: Sequence[str] | None = None, measures: Sequence[str] | None = None,
                 pool: str | None = None, source: str = "DataFrame") -> _core.RecordBatch:
    """The rows of a DataFrame as a RecordBatch: its columns, converted once, no row objects.

    ``data`` is a DataFrame or a named Series; named index levels count as columns (so a
    ``groupby(..., dropna=False).sum()`` goes in as it is). ``tags`` and ``measures`` name
    columns; give one and the other columns are the other kind; give neither and each
    column is read by its type: categorical and str columns are tags, integer columns and
    object columns of Decimal or int are measures (object columns of decimal str are
    measures only when named in ``measures``). ``pool``, if given, is every row's pool;
    ``source`` names rows in errors ("DataFrame row 3", counting from 0 in frame order).

    Tags: a categorical column's codes and categories are used as they are; a column of str
    is checked now and encoded in C++, when a run's steps read its key (a column of ASCII
    text no step reads is never encoded; others are encoded now). A missing cell (None, NaN, pandas.NA) or "" is no tag, as the csv
    input reads an empty cell. Measures: integer columns (numpy's, pandas' nullable ones
    with their missing cells) are read in place where they are int64; object columns of
    Decimal, str or int are held exactly at the smallest decimal scale that holds every
    value. A float column, a float value, more than 12 fractional digits or a value beyond
    64 bits at the column's scale is an error naming the column and row.
    """
    import pandas as pd

    frame = _as_frame(data)
    columns = [c for c in frame.columns]
    for name in (*(tags or ()), *(measures or ())):
        if name not in frame.columns:
            raise KeyError(f"no column {name!r} in the DataFrame (columns: {', '.join(map(str, columns))})")
    if tags is None and measures is None:
        tag_names = [c for c in columns if _is_tag_column(frame[c])]
        measure_names = [c for c in columns if c not in tag_names]
    else:
        tag_names = list(tags) if tags is not None else [c for c in columns if c not in measures]
        measure_names = list(measures) if measures is not None else [c for c in columns if c not in tag_names]
    for name in (*tag_names, *measure_names):
        if isinstance(frame[name], pd.DataFrame):
            raise ValueError(f"the DataFrame has more than one column {name!r}")
    batch = _core.RecordBatch(len(frame), pool=pool, source=source)
    for name in tag_names:
        _add_tags(batch, str(name), frame[name])
    for name in measure_names:
        _add_measure(batch, str(name), frame[name])
    return batch


def record_batches(records: Any, tags: Sequence[str] | None = None, measures: Sequence[str] | None = None,
                   pool: str | None = None, names: Sequence[str] | None = None) -> list[_core.RecordBatch]:
    """What run(records=...) takes (a DataFrame, a named Series, a RecordBatch, or a list of
    them) as RecordBatches. A frame's rows are named in errors as "DataFrame row 3", a
    list's as "DataFrame[1] row 3", or by ``names``."""
    if isinstance(records, _core.RecordBatch) or is_frame(records):
        records = [records]
        names = names or ["DataFrame"]
    else:
        records = list(records)
        names = names or [f"DataFrame[{i}]" for i in range(len(records))]
    out = []
    for name, r in zip(names, records):
        if isinstance(r, _core.RecordBatch):
            out.append(r)
        elif is_frame(r):
            out.append(record_batch(r, tags, measures, pool, source=name))
        else:
            raise TypeError(f"records are DataFrames, named Series or RecordBatches, not a {type(r).__name__}")
    return out


_OPTIONAL = ("split_cost", "unused_cost", "gpu_hours")


def lines_dataframe(result: Mapping[str, Any] | Any) -> Any:
    """The lines of a result (the dict run() returns, or a Result) as a DataFrame.

    Columns: step, pool, bucket_start and bucket_end under a series (RFC 3339 text), kind,
    one per tag key used anywhere (sorted; None where a line
    lacks it), cost, weight, share, and split_cost, unused_cost, gpu_hours when any line has
    them. Numbers are decimal.Decimal in object columns, never floats. A Result's lines come
    straight from the engine as columns, without its JSON document.
    """
    import pandas as pd

    if not isinstance(result, Mapping):
        columns = result._core.lines_columns()
        keys = sorted(columns["tags"])
        optional = [f for f in _OPTIONAL if f in columns]
        buckets = [f for f in ("bucket_start", "bucket_end") if f in columns]
        names = ["step", "pool", *buckets, "kind", *keys, "cost", "weight", "share", *optional]
        data = [columns["step"], columns["pool"], *(columns[f] for f in buckets), columns["kind"],
                *(columns["tags"][k] for k in keys),
                *(columns[f] for f in ("cost", "weight", "share", *optional))]
        frame = pd.DataFrame(dict(enumerate(data)), columns=range(len(names)), dtype=object)
        frame.columns = names  # a tag key may be spelt like another column: positions, then names
        return frame
    lines = result.get("lines", [])
    keys = sorted({k for line in lines for k in line["tags"]})
    optional = [f for f in _OPTIONAL if any(f in line for line in lines)]
    series = any("bucket" in line for line in lines)
    columns = ["step", "pool", *(["bucket_start", "bucket_end"] if series else []), "kind", *keys, "cost", "weight",
               "share", *optional]

    def num(v: Any) -> decimal.Decimal | None:
        return None if v is None else decimal.Decimal(v)

    rows = []
    for line in lines:
        bucket = [line["bucket"]["start"], line["bucket"]["end"]] if series and "bucket" in line else [None, None] if series else []
        row = [line["step"], line.get("pool"), *bucket, line["kind"], *(line["tags"].get(k) for k in keys)]
        row += [num(line.get(f)) for f in ("cost", "weight", "share", *optional)]
        rows.append(row)
    return pd.DataFrame(rows, columns=columns, dtype=object)
