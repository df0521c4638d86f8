"""The Python package and the command line agree on every spec case, byte for byte on
results and message for message on errors; check_cases.py passes through apportion.run()."""
import json
import pathlib
import subprocess
import sys

import pytest

import apportion
from conftest import case_files, load_case, run_cli, spec_dir

CASES = case_files()


def test_there_are_cases():
    assert len(CASES) >= 10


def test_check_cases_passes_through_python():
    folder = pathlib.Path(apportion.__file__).resolve().parents[1]
    p = subprocess.run([sys.executable, str(spec_dir() / "check_cases.py"), "--python", str(folder),
                        *map(str, CASES)], capture_output=True, text=True, timeout=600)
    last = p.stdout.strip().splitlines()[-1]
    assert last.endswith(" 0 failed"), p.stdout + p.stderr
    assert p.returncode == 0


@pytest.mark.parametrize("case_path", CASES, ids=[c.stem for c in CASES])
def test_same_result_as_the_command_line(case_path, cli, tmp_path):
    case = load_case(case_path)
    spec = case["spec_text"] if "spec_text" in case else apportion.dumps(case["spec"])
    path = tmp_path / "spec.json"
    path.write_text(spec)
    proc = run_cli(cli, str(path))
    try:
        got = apportion.run_result(path)
    except apportion.SpecError as e:
        assert proc.returncode == 2, proc.stdout
        assert str(e) == proc.stderr.strip()
        assert "error" in case
    else:
        assert proc.returncode == 0, proc.stderr
        assert got.to_json() == proc.stdout
        assert apportion.run(spec) == json.loads(proc.stdout)
        assert "error" not in case
