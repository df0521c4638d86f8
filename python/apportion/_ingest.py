"""Reading the formats platform teams already have (docs/ingest.md)."""

from __future__ import annotations

import json
import os
from typing import Any

from . import _core
from ._json import dumps

__all__ = ["ingest", "ingest_formats"]


def ingest_formats() -> list[str]:
    """The names of the input formats, as `apportion ingest --help` lists them."""
    return _core.ingest_formats()


def ingest(format: str, source: str | os.PathLike[str], **options: Any) -> dict[str, Any]:
    """Reads a file (a path) in an input format and returns what it yields as a spec
    fragment: {"records": [...]}, {"pools": [...]} or {"catalog": {...}}, every decimal
    an exact string as the spec writes it. Options are the format's own (`ingest("sacct", "jobs.txt",
    sku="onprem/h100")`); an unreadable row raises SpecError naming the file and line.
    """
    path = os.fspath(source)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = _core.ingest_json(format, text, dumps(options), path)
    return json.loads(out)
