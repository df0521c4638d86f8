from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import apportion
from apportion import Allocation, PerNamespace, lines_dataframe, records_from_dataframe


@pytest.fixture
def usage():
    return pd.DataFrame({
        "namespace": ["nlp", "cv", None, "kube-system"],
        "pod": ["p1", "p2", "p3", "p4"],
        "gpu_seconds": np.array([8294400, 5184000, 100, 3600], dtype=np.int64),
        "tokens": ["1.5", Decimal("2"), 3, None],
    })


def test_records_from_dataframe(usage):
    records = records_from_dataframe(usage, tags=["namespace"], measures=["gpu_seconds", "tokens"], pool="node")
    assert records[0] == {"tags": {"namespace": "nlp"}, "pool": "node",
                          "measures": {"gpu_seconds": 8294400, "tokens": "1.5"}}
    assert records[2] == {"tags": {}, "pool": "node", "measures": {"gpu_seconds": 100, "tokens": 3}}
    assert records[3]["measures"] == {"gpu_seconds": 3600}
    assert type(records[0]["measures"]["gpu_seconds"]) is int
    with_ids = records_from_dataframe(usage, tags=["namespace"], id="pod")
    assert [r["id"] for r in with_ids] == ["p1", "p2", "p3", "p4"]


def test_float_columns_are_refused(usage):
    usage["hours"] = [1.0, 2.0, 3.0, 4.0]
    with pytest.raises(TypeError, match="'hours' is float64: floats are not exact"):
        records_from_dataframe(usage, measures=["hours"])
    usage["mixed"] = ["1", 2.5, "3", "4"]
    with pytest.raises(TypeError, match="'mixed', row 1: float 2.5 is not exact"):
        records_from_dataframe(usage, measures=["mixed"])
    with pytest.raises(TypeError, match="tag values are str"):
        records_from_dataframe(usage, tags=["gpu_seconds"])
    with pytest.raises(KeyError):
        records_from_dataframe(usage, tags=["nope"])


def test_nullable_integers():
    df = pd.DataFrame({"t": ["a", "b"], "m": pd.array([5, None], dtype="Int64")})
    assert records_from_dataframe(df, tags=["t"], measures=["m"]) == \
        [{"tags": {"t": "a"}, "measures": {"m": 5}}, {"tags": {"t": "b"}}]


def test_dataframe_round_trip(usage):
    a = Allocation().add_pool("node", "1000")
    a.add_records(records_from_dataframe(usage, tags=["namespace"], measures=["gpu_seconds"], pool="node"))
    a.add_step("teams", PerNamespace(), pool="node")
    result = a.run()
    df = result.to_dataframe()
    assert list(df.columns) == ["step", "pool", "kind", "namespace", "cost", "weight", "share"]
    assert (df.dtypes == object).all()
    assert all(isinstance(c, Decimal) for c in df["cost"])
    assert sum(df["cost"]) == Decimal(1000)
    assert list(df["kind"]) == ["allocated", "allocated", "overhead", "unallocated"]
    assert df.loc[df["namespace"] == "nlp", "cost"].item() == Decimal("615.21")
    same = lines_dataframe(apportion.run(a.to_spec()))
    pd.testing.assert_frame_equal(df, same)


def test_lines_dataframe_optional_columns():
    result = {"lines": [{"step": "runs", "pool": None, "kind": "allocated", "tags": {"experiment": "e"},
                         "cost": "1.00", "gpu_hours": "2.000000"},
                        {"step": "runs", "kind": "allocated", "tags": {"team": "t"}, "cost": "2.00"}]}
    df = lines_dataframe(result)
    assert list(df.columns) == ["step", "pool", "kind", "experiment", "team", "cost", "weight", "share", "gpu_hours"]
    assert df["team"].tolist() == [None, "t"]
    assert df["gpu_hours"].tolist() == [Decimal("2"), None]
    assert lines_dataframe({"lines": []}).empty


def test_groupby_result_keys_come_from_the_index():
    # After a groupby the group keys are the index, not columns: they are still tags.
    usage = pd.DataFrame({"namespace": ["nlp", "nlp", "cv"], "team": ["a", "a", "b"],
                          "gpu_seconds": np.array([10, 20, 5], dtype=np.int64)})
    summed = usage.groupby(["namespace", "team"]).sum()
    assert list(summed.columns) == ["gpu_seconds"]
    records = records_from_dataframe(summed, tags=["namespace", "team"], measures=["gpu_seconds"])
    assert records == [{"tags": {"namespace": "cv", "team": "b"}, "measures": {"gpu_seconds": 5}},
                       {"tags": {"namespace": "nlp", "team": "a"}, "measures": {"gpu_seconds": 30}}]
    series = usage.groupby("namespace")["gpu_seconds"].sum()
    assert records_from_dataframe(series, tags=["namespace"], measures=["gpu_seconds"]) == [
        {"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": 5}},
        {"tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": 30}}]


def test_what_records_come_from_is_said():
    with pytest.raises(TypeError, match="a Series needs a name"):
        records_from_dataframe(pd.Series([1, 2]), measures=["x"])
    with pytest.raises(TypeError, match="DataFrame or a named Series, not a list"):
        records_from_dataframe([{"a": 1}], measures=["a"])
    with pytest.raises(KeyError, match=r"no column 'gpu' in the DataFrame \(columns: namespace, gpu_seconds\)"):
        records_from_dataframe(pd.DataFrame({"namespace": ["a"], "gpu_seconds": [1]}), measures=["gpu"])


def test_empty_tag_cells_are_missing_as_in_the_csv_input():
    usage = pd.DataFrame({"team": ["a", "", None], "gpu_seconds": np.array([1, 2, 3], dtype=np.int64)})
    assert [r["tags"] for r in records_from_dataframe(usage, tags=["team"], measures=["gpu_seconds"])] == [
        {"team": "a"}, {}, {}]


def test_lines_dataframe_carries_each_lines_bucket_under_a_series():
    # Two days of 10.00: a runs over both days (1 GPU-second each), b only on day 2 (at):
    # day 1 a 10.00; day 2 a and b 5.00 each.
    spec = {"apportion": 1,
            "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
            "pools": [{"id": "node", "cost": "20.00"}],
            "records": [{"tags": {"team": "a"}, "start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z",
                         "measures": {"gpu_seconds": 2}},
                        {"tags": {"team": "b"}, "at": "2026-06-02T08:00:00Z", "measures": {"gpu_seconds": 1}}],
            "steps": [{"id": "s", "strategy": "proportional", "pool": "node", "group_by": ["team"],
                       "weight": "gpu_seconds"}]}
    expected = [["2026-06-01T00:00:00Z", "a", Decimal("10.00")], ["2026-06-02T00:00:00Z", "a", Decimal("5.00")],
                ["2026-06-02T00:00:00Z", "b", Decimal("5.00")]]
    for frame in (lines_dataframe(apportion.run_result(spec)), lines_dataframe(apportion.run(spec))):
        assert list(frame.columns[:5]) == ["step", "pool", "bucket_start", "bucket_end", "kind"]
        assert frame[["bucket_start", "team", "cost"]].values.tolist() == expected
    assert apportion.run(spec)["series"][1]["pools"] == [{"id": "node", "cost": "10.00"}]
