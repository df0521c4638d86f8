"""JSON text from Python values without binary floating point.

Decimals are written as the exact number they hold, ints as themselves; a float is refused,
since the spec promises amounts are read exactly and a float is already inexact.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import json
import numbers
from collections.abc import Mapping
from typing import Any

from . import _core

__all__ = ["dumps"]


def _where(path: str) -> str:
    return path or "spec"


def _dump(value: Any, path: str, out: list[str]) -> None:
    if value is None or isinstance(value, (bool, str)):
        out.append(json.dumps(value))
    elif isinstance(value, numbers.Integral):  # int, numpy integers
        out.append(str(int(value)))
    elif isinstance(value, decimal.Decimal):
        # A NaN or infinity goes in as a string, so the library names its path.
        out.append(str(value) if value.is_finite() else json.dumps(str(value)))
    elif isinstance(value, _core.Money):
        out.append(str(value.amount))
    elif isinstance(value, numbers.Real):  # float, numpy floats, Fraction
        raise TypeError(
            f"{_where(path)}: floats are not exact; use str or Decimal (got {value!r}); to read a JSON "
            "file into a dict without floats, use json.load(f, parse_float=decimal.Decimal)"
        )
    elif isinstance(value, _dt.datetime):
        if value.utcoffset() is None:
            raise TypeError(f"{_where(path)}: a naive datetime names no moment; give it a timezone")
        out.append(json.dumps(value.isoformat()))
    elif isinstance(value, (Mapping, _core.Tags)):
        out.append("{")
        for i, (k, v) in enumerate(value.items()):
            if not isinstance(k, str):
                raise TypeError(f"{_where(path)}: keys must be str, got {type(k).__name__}")
            if i:
                out.append(", ")
            out.append(json.dumps(k) + ": ")
            _dump(v, f"{path}.{k}" if path else k, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, v in enumerate(value):
            if i:
                out.append(", ")
            _dump(v, f"{path}[{i}]", out)
        out.append("]")
    elif hasattr(value, "to_spec"):  # strategies and other spec fragments
        _dump(value.to_spec(), path, out)
    else:
        raise TypeError(f"{_where(path)}: cannot write a {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    """JSON text of dicts, lists, str, int, bool, None, Decimal, Money and aware datetimes."""
    out: list[str] = []
    _dump(value, "", out)
    return "".join(out)
