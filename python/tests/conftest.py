"""Shared fixtures. CTest sets the environment (python/CMakeLists.txt):

  PYTHONPATH          <build>/python, where the package is assembled
  APPORTION_CLI       the command-line binary, for parity tests
  APPORTION_CLIB      the C ABI library (libapportion.so), when it is built
  APPORTION_SPEC_DIR  the spec cases and check_cases.py (the project's tests/spec)
"""
import json
import os
import pathlib
import subprocess
from decimal import Decimal

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


def spec_dir() -> pathlib.Path:
    """Where the spec cases and check_cases.py are: $APPORTION_SPEC_DIR, else tests/spec."""
    return pathlib.Path(os.environ.get("APPORTION_SPEC_DIR") or REPO / "tests" / "spec")


def case_files() -> list[pathlib.Path]:
    return sorted((spec_dir() / "cases").glob("*.json"))


def load_case(path: pathlib.Path) -> dict:
    with open(path) as f:
        return json.load(f, parse_float=Decimal)


@pytest.fixture(scope="session")
def cli() -> str:
    path = os.environ.get("APPORTION_CLI")
    if not path:
        pytest.skip("APPORTION_CLI is not set (CTest sets it to the apportion binary)")
    return path


def run_cli(cli: str, spec_path: str) -> subprocess.CompletedProcess:
    return subprocess.run([cli, "run", spec_path], capture_output=True, text=True, timeout=120)
