"""MLflow: training runs read from a file store and their costs written back, from Python
and through the C ABI, into MLflow's own files, once."""
import ctypes
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

import apportion

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "data"
SPEC = EXAMPLES / "training-from-mlflow.json"


@pytest.fixture
def store(tmp_path):
    """The example spec and a copy of its store, so the write-back leaves the example alone."""
    shutil.copytree(EXAMPLES / "mlflow" / "mlruns", tmp_path / "mlflow" / "mlruns")
    shutil.copy(SPEC, tmp_path / SPEC.name)
    return tmp_path


def cost_files(root: Path) -> dict:
    return {f.parent.parent.name: f.read_text() for f in root.rglob("metrics/training_cost_usd")}


def test_costs_written_back_once(store):
    spec = store / SPEC.name
    report = apportion.log_to_mlflow(spec, store / "mlflow" / "mlruns")
    assert report["points_written"] == 18 and report["warnings"] == []
    by_run = {r["run_id"]: r for r in report["runs"]}
    # The example's step "runs" has a line a run.
    lines = sorted(Decimal(l["cost"]) for l in apportion.run(spec)["lines"] if l["step"] == "runs")
    assert sorted(r["cost"] for r in report["runs"]) == lines
    assert all(isinstance(r["cost"], Decimal) for r in report["runs"])
    files = cost_files(store / "mlflow" / "mlruns")
    assert {k: Decimal(v.split()[1]) for k, v in files.items()} == {k: r["cost"] for k, r in by_run.items()}
    for run_id, r in by_run.items():
        tag = next((store / "mlflow" / "mlruns").rglob(f"{run_id}/tags/apportion.training_cost")).read_text()
        assert tag == f"{r['cost']} USD"
        spec_tag = next((store / "mlflow" / "mlruns").rglob(f"{run_id}/tags/apportion.spec")).read_text()
        assert spec_tag == SPEC.name
    again = apportion.log_to_mlflow(spec, store / "mlflow" / "mlruns")
    assert again["points_written"] == 0
    assert cost_files(store / "mlflow" / "mlruns") == files


def test_a_dict_spec_and_bad_targets(store):
    spec = json.loads(SPEC.read_text())
    report = apportion.log_to_mlflow(spec, store / "mlflow" / "mlruns", base_dir=store, spec_name="nightly")
    assert report["points_written"] == 18
    tags = list((store / "mlflow" / "mlruns").rglob("tags/apportion.spec"))
    assert tags and all(t.read_text() == "nightly" for t in tags)
    with pytest.raises(apportion.SpecError, match="is not a folder"):
        apportion.log_to_mlflow(spec, store / "nowhere", base_dir=store)
    with pytest.raises(apportion.SpecError, match="live sources are turned off"):
        live = {k: v for k, v in spec["inputs"][0].items() if k != "path"}
        apportion.log_to_mlflow({**spec, "inputs": [{**live, "url": "http://127.0.0.1:9"}]},
                                store, base_dir=store, live_sources=False)


def test_the_c_abi_writes_the_same(store):
    path = os.environ.get("APPORTION_CLIB")
    if not path:
        pytest.skip("APPORTION_CLIB is not set (CTest sets it when the C library apportion_c is built)")
    lib = ctypes.CDLL(path)
    lib.apn_log_to_mlflow.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p,
                                      ctypes.c_size_t, ctypes.c_char_p, ctypes.c_char_p]
    lib.apn_log_to_mlflow.restype = ctypes.c_int
    lib.apn_free.argtypes = [ctypes.c_void_p]
    lib.apn_last_error.restype = ctypes.c_char_p
    text = SPEC.read_bytes()
    options = json.dumps({"base_dir": str(store), "spec_name": "from-c"}).encode()
    out, out_len = ctypes.c_void_p(), ctypes.c_size_t()
    target = str(store / "mlflow" / "mlruns").encode()
    assert lib.apn_log_to_mlflow(ctypes.byref(out), ctypes.byref(out_len), text, len(text), options, target) == 0
    report = json.loads(ctypes.string_at(out.value, out_len.value))
    lib.apn_free(out)
    assert report["points_written"] == 18
    python = apportion.log_to_mlflow(SPEC, store / "mlflow" / "mlruns")
    assert python["points_written"] == 0  # the C call wrote them
    assert [r["cost"] for r in report["runs"]] == [str(r["cost"]) for r in python["runs"]]
    bad = json.dumps({"bearer_token_env": "APPORTION_NO_SUCH_VARIABLE"}).encode()
    assert lib.apn_log_to_mlflow(ctypes.byref(out), ctypes.byref(out_len), text, len(text), bad, target) != 0
    assert lib.apn_last_error().decode() == \
        "options.bearer_token_env: the environment variable APPORTION_NO_SUCH_VARIABLE is not set"


def test_ingest_reads_a_store_folder():
    got = apportion.ingest("mlflow", EXAMPLES / "mlflow" / "mlruns",
                           sku={"a100-80gb": "onprem/a100", "h100-sxm": "cloud/h100"})
    assert len(got["records"]) == 6
    assert {r["tags"]["experiment"] for r in got["records"]} == {"bert-large-sweep", "llama-3-8b-finetune"}
    assert got["warnings"] == [f"{EXAMPLES / 'mlflow' / 'mlruns'}: 1 run deleted (lifecycle_stage deleted), left out: "
                               "aefcfad8efc84849b3aa7efe4458a885"]
