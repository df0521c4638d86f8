import json
import pathlib
from decimal import Decimal

import pytest

import apportion
from apportion import SpecError

SPEC = {
    "apportion": 1,
    "pools": [{"id": "node", "cost": "31.36"}],
    "records": [
        {"tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": 4000000}},
        {"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": "6000000"}},
    ],
    "steps": [{"id": "teams", "strategy": "per_namespace", "pool": "node"}],
}


def costs(result):
    return {l["tags"]["namespace"]: l["cost"] for l in result["lines"]}


def test_dict_text_and_path_agree(tmp_path):
    text = json.dumps(SPEC)
    path = tmp_path / "spec.json"
    path.write_text(text)
    by_dict = apportion.run(SPEC)
    assert by_dict == apportion.run(text) == apportion.run(path) == apportion.run(str(path))
    assert apportion.run(text.encode()) == by_dict
    assert costs(by_dict) == {"cv": "18.82", "nlp": "12.54"}
    assert by_dict["pools"] == [{"id": "node", "cost": "31.36"}]


def test_decimals_in_a_dict_stay_exact():
    spec = dict(SPEC, pools=[{"id": "node", "cost": Decimal("31.360000000001")}], precision=Decimal("1E-12"))
    result = apportion.run(spec)
    assert result["pools"][0]["cost"] == "31.360000000001"
    assert sum(Decimal(l["cost"]) for l in result["lines"]) == Decimal("31.360000000001")


def test_floats_in_a_dict_are_refused():
    spec = dict(SPEC, pools=[{"id": "node", "cost": 31.36}])
    with pytest.raises(TypeError, match=r"^pools\[0\]\.cost: floats are not exact; use str or Decimal"):
        apportion.run(spec)
    # What a plain json.load gives: the message says how to read the file exactly.
    with pytest.raises(TypeError, match=r"json\.load\(f, parse_float=decimal\.Decimal\)"):
        apportion.run(json.loads('{"apportion": 1, "pools": [{"id": "n", "cost": 31.36}]}'))


def test_errors_start_with_the_json_path():
    bad = json.loads(json.dumps(SPEC))
    bad["records"][1]["measures"]["gpu_seconds"] = -5
    with pytest.raises(SpecError, match=r"^records\[1\]\.measures\.gpu_seconds: must not be negative"):
        apportion.run(bad)
    with pytest.raises(ValueError, match=r"^line 1, column"):
        apportion.run("{not json")
    with pytest.raises(SpecError, match=r"^steps\[0\]\.pool"):
        apportion.run(dict(SPEC, steps=[{"id": "s", "strategy": "per_namespace", "pool": "nope"}]))
    nan = json.loads(json.dumps(SPEC))
    nan["pools"][0]["cost"] = Decimal("NaN")
    with pytest.raises(SpecError, match=r"^pools\[0\]\.cost"):
        apportion.run(nan)


def test_missing_file_is_a_spec_error(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(SpecError, match=r"missing\.json: cannot read the file"):
        apportion.run(missing)
    # A str that is not a JSON object names a file, even when there is none.
    with pytest.raises(SpecError, match=r"^no-such-spec\.json: cannot read the file"):
        apportion.run("no-such-spec.json")
    with pytest.raises(SpecError, match=r"missing\.json: cannot read the file"):
        apportion.run(str(missing))
    with pytest.raises(TypeError):
        apportion.run(42)


def test_out_of_range_values_are_spec_errors():
    spec = dict(SPEC, pools=[{"id": "node", "price": {"sku": "spheron/h100-sxm5", "quantity": "1" + "0" * 26}}],
                catalog="builtin")
    with pytest.raises(SpecError, match=r"^pools\[0\]"):
        apportion.run(spec)
    assert issubclass(apportion.SpecOverflowError, SpecError)
    assert issubclass(apportion.SpecOverflowError, OverflowError)


def test_inputs_are_relative_to_the_spec_file(tmp_path):
    (tmp_path / "usage.csv").write_text("namespace,gpu_seconds\nnlp,1\ncv,3\n")
    spec = dict(SPEC, records=[], inputs=[{"format": "csv", "path": "usage.csv", "pool": "node",
                                          "tags": ["namespace"], "measures": ["gpu_seconds"]}])
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert costs(apportion.run(path)) == {"cv": "23.52", "nlp": "7.84"}
    assert costs(apportion.run(spec, base_dir=tmp_path)) == {"cv": "23.52", "nlp": "7.84"}
    with pytest.raises(SpecError):
        apportion.run(spec, base_dir=pathlib.Path(tmp_path) / "elsewhere")


def test_result_object():
    r = apportion.run_result(SPEC)
    assert r.currency == "USD" and r.precision == Decimal("0.01")
    assert r.pools == {"node": Decimal("31.36")}
    assert r.coverage == {"teams": Decimal(1)}
    line = r.lines[0]
    assert (line.step, line.pool, line.kind, line.tags, line.cost) == \
        ("teams", "node", "allocated", {"namespace": "cv"}, Decimal("18.82"))
    assert line.share == Decimal("0.6")
    assert r.to_dict() == json.loads(r.to_json())
    assert "nlp" in r.to_table() and "12.54" in r.to_table()
    assert r.to_csv().splitlines()[0].startswith("step,pool,kind,namespace,cost")
    assert "strategies" not in r.to_dict()
    assert "per_namespace" in apportion.strategies()


def test_ingest_reads_a_file_like_the_command_line(tmp_path):
    (tmp_path / "usage.csv").write_text("namespace,gpu_seconds\nnlp,1.5\ncv,3\n")
    got = apportion.ingest("csv", tmp_path / "usage.csv", tags=["namespace"], measures="gpu_seconds")
    assert got == {"records": [{"tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": "1.5"}},
                               {"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": "3"}}]}
    assert "csv" in apportion.ingest_formats() and "sacct" in apportion.ingest_formats()
    (tmp_path / "bad.csv").write_text("namespace,gpu_seconds\nnlp,-1\n")
    with pytest.raises(SpecError, match=r"bad.csv line 2: .*gpu_seconds"):
        apportion.ingest("csv", tmp_path / "bad.csv", tags="namespace", measures="gpu_seconds")
    with pytest.raises(SpecError, match=r"options.tagz: unknown key"):
        apportion.ingest("csv", tmp_path / "usage.csv", tagz="namespace")


def test_ingest_reads_a_live_prometheus_like_its_saved_answer():
    # A server on loopback answers query_range with a saved answer; the call releases the
    # GIL while it waits, so the server's thread can answer.
    import http.server
    import threading
    saved = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data" / "prometheus" / "query_range.json"
    body, requests = saved.read_bytes(), []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the stdlib's name)
            requests.append((self.path, self.rfile.read(int(self.headers["Content-Length"])).decode()))
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        options = dict(metric="DCGM_FI_DEV_GPU_UTIL", max_gap="60s", skip_invalid=True)
        live = apportion.ingest("dcgm", url=url, start="2026-06-01T00:00:00Z", end="2026-06-01T00:01:30Z", step="30s",
                                **options)
    finally:
        server.shutdown()
        server.server_close()
    from_file = apportion.ingest("dcgm", saved, **options)
    assert live["records"] == from_file["records"] and len(live["records"]) == 2
    assert requests == [("/api/v1/query_range",
                         "query=DCGM_FI_DEV_GPU_UTIL&start=1780272000&end=1780272090&step=30")]
    with pytest.raises(SpecError, match=r"^options.url: http://127.0.0.1:1: "):
        apportion.ingest("dcgm", url="http://127.0.0.1:1", start=0, end=60, retries=0)
    with pytest.raises(TypeError, match="a file or url=, not both"):
        apportion.ingest("dcgm", saved, url=url)


def test_live_sources_false_refuses_an_input_with_a_url(tmp_path):
    # For a service that runs specs it is sent: no request is made (port 1 would refuse it,
    # a different message), by dict and by path, and alerts() the same.
    spec = {"apportion": 1, "pools": [{"id": "p", "cost": "10"}], "records": [],
            "inputs": [{"format": "dcgm", "url": "http://127.0.0.1:1", "start": 0, "end": 60, "retries": 0}],
            "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "weight": "gpu_seconds"}]}
    refused = r"^inputs\[0\]\.url: live sources are turned off here"
    with pytest.raises(SpecError, match=refused):
        apportion.run(spec, live_sources=False)
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(SpecError, match=refused):
        apportion.run_result(tmp_path / "spec.json", live_sources=False)
    with pytest.raises(SpecError, match=refused):
        apportion.alerts(spec, live_sources=False)
    with pytest.raises(SpecError, match=r"^inputs\[0\]\.url: http://127.0.0.1:1: "):
        apportion.run(spec)  # on by default: the request is made, and refused
    with pytest.raises(TypeError, match="live_sources must be True or False"):
        apportion.run(spec, live_sources="no")


def test_limits_are_keyword_arguments(tmp_path):
    # SPEC has two records: one is over the limit, by dict, text and path alike.
    message = "records: more than 1 records (limit max_records; raise it with --max-records or SpecOptions::limits)"
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(SPEC))
    for spec in (SPEC, json.dumps(SPEC), path):
        with pytest.raises(SpecError) as e:
            apportion.run(spec, max_records=1)
        assert str(e.value) == message
    assert apportion.run(SPEC, max_records=2) == apportion.run(SPEC)
    with pytest.raises(SpecError, match='^max_rows: unknown limit "max_rows"'):
        apportion.run(SPEC, max_rows=5)
    with pytest.raises(SpecError, match=r'^max_records: must be a positive whole number \(got "0"\)$'):
        apportion.run(SPEC, max_records=0)
    with pytest.raises(TypeError):
        apportion.run(SPEC, max_records="10")
