"""`python -m apportion ...` (and the `apportion` script pip installs): the command line.

pip installs the command line inside the package (apportion/_bin/apportion); from a build
tree (PYTHONPATH=build/python), APPORTION_CLI or an `apportion` on PATH is run instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


def command_line() -> str:
    """The path of the `apportion` executable this package runs."""
    inside = Path(__file__).resolve().parent / "_bin" / "apportion"
    if inside.is_file():
        return str(inside)
    found = os.environ.get("APPORTION_CLI") or shutil.which("apportion")
    if not found:
        raise SystemExit("apportion: the command line is not installed with this package "
                         "(install it with pip, or set APPORTION_CLI to the built executable)")
    return found


def main() -> None:
    cli = command_line()
    os.execv(cli, [cli, *sys.argv[1:]])


if __name__ == "__main__":
    main()
