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


def ingest(format: str, source: str | os.PathLike[str] | None = None, **options: Any) -> dict[str, Any]:
    """Reads a file (a path) in an input format and returns what it yields as a spec
    fragment: {"records": [...]}, {"pools": [...]} or {"catalog": {...}}, every decimal
    an exact string as the spec writes it. Options are the format's own (`ingest("sacct", "jobs.txt",
    sku="onprem/h100")`); an unreadable row raises SpecError naming the file and line. A
    folder is read by a format that reads folders (`ingest("mlflow", "mlruns", sku=...)`).

    Without a file, `url=` reads a live Prometheus, OpenCost or MLflow tracking server instead (docs/ingest.md,
    "Live sources"): `ingest("dcgm", url="http://prometheus:9090", start="2026-06-01T00:00:00Z",
    end="2026-06-02T00:00:00Z", max_gap="90s")`. The call releases the GIL while it waits.
    """
    if source is None:
        if "url" not in options:
            raise TypeError("ingest() needs a file, or url= for a live source")
        return json.loads(_core.ingest_live_json(format, dumps(options)))
    if "url" in options:
        raise TypeError("ingest() takes a file or url=, not both")
    path = os.fspath(source)
    if os.path.isdir(path):  # an MLflow file store, mlruns/
        return json.loads(_core.ingest_folder_json(format, path, dumps(options)))
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = _core.ingest_json(format, text, dumps(options), path)
    return json.loads(out)
