"""DataFrames into a run as columns (RecordBatch), not as a dict or JSON text per row: the
same result as the same records written inline, errors naming the column and row, the GIL
released, and the lines back as a DataFrame without the JSON document."""
import threading
import time
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import apportion
from apportion import Allocation, PartialAggregate, Proportional, RecordBatch, record_batch, records_from_dataframe
from conftest import case_files, load_case

POOL = {"id": "p", "cost": "100.00"}


def spec(group_by, weight="gpu_seconds", records=()):
    return {"apportion": 1, "currency": "USD", "pools": [POOL], "records": list(records),
            "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": group_by, "weight": weight}]}


def inline(frame, group_by, weight="gpu_seconds", **columns):
    """The run of the same rows written as inline spec records (the JSON path)."""
    return apportion.run(spec(group_by, weight, records_from_dataframe(frame, **columns)))


def costs(result):
    return {tuple(sorted(l["tags"].items())): l["cost"] for l in result["lines"]}


def test_categoricals_give_the_inline_result():
    # team a: 10 + 20 = 30 s, b: 10 s, none (NaN, and "" read as no tag): 4 + 6 = 10 s, of 50 s:
    # 100.00 x 30/50 = 60.00, x 10/50 = 20.00, unallocated 20.00.
    usage = pd.DataFrame({"team": pd.Categorical(["a", "b", None, "a", ""]),
                          "gpu_seconds": np.array([10, 10, 4, 20, 6], dtype=np.int64)})
    got = apportion.run(spec(["team"]), records=usage)
    assert got == inline(usage, ["team"], tags=["team"], measures=["gpu_seconds"])
    assert costs(got) == {(("team", "a"),): "60.00", (("team", "b"),): "20.00",
                          (("team", "__unallocated__"),): "20.00"}


def test_str_columns_with_nan_and_empty_cells():
    # NaN, None and "" are no tag, as the csv input reads an empty cell: ns x 7, y 2 + 1 = 3,
    # none 0 + 5 + 5 = 10 of 20: 35.00, 15.00, unallocated 50.00.
    usage = pd.DataFrame({"ns": ["x", "y", np.nan, "", None, "y"], "pod": ["p1", "p2", "p3", "p4", "p5", None],
                          "gpu_seconds": np.array([7, 2, 0, 5, 5, 1], dtype=np.int64)})
    got = apportion.run(spec(["ns"]), records=usage)  # tags inferred: the str columns
    assert got == inline(usage, ["ns"], tags=["ns", "pod"], measures=["gpu_seconds"])
    assert costs(got) == {(("ns", "x"),): "35.00", (("ns", "y"),): "15.00", (("ns", "__unallocated__"),): "50.00"}
    typed = usage.astype({"ns": "string"})  # pandas' string dtype, pandas.NA for the missing cells
    assert typed["ns"].isna().sum() == 2 and apportion.run(spec(["ns"]), records=typed) == got


def test_nullable_integers_keep_their_missing_cells():
    # b's missing cell is no value (0): a 3 of 3 + 0: all 100.00 to a, b has a zero weight.
    usage = pd.DataFrame({"t": ["a", "b", "b"], "gpu_seconds": pd.array([3, None, 0], dtype="Int64"),
                          "small": pd.array([1, 2, 3], dtype="UInt8")})
    got = apportion.run(spec(["t"]), records=usage)
    assert got == inline(usage, ["t"], tags=["t"], measures=["gpu_seconds", "small"])
    assert costs(got)[(("t", "a"),)] == "100.00"
    # "small" (uint8) is read as a measure too: weighted by it, a 1 and b 2 + 3 of 6.
    by_small = apportion.run(spec(["t"], "small"), records=usage)
    assert costs(by_small) == {(("t", "a"),): "16.67", (("t", "b"),): "83.33"}
    huge = pd.DataFrame({"t": ["a", "b"], "gpu_seconds": np.array([1, 2**63], dtype=np.uint64)})
    assert message(ValueError, record_batch, huge) == "column 'gpu_seconds', row 1: 9223372036854775808 does not fit a 64-bit signed integer"


def test_decimal_object_columns_at_their_own_scale():
    # Scales 1, 2 and 12 in one column: it is held at 12. a 0.5 + 1.25 = 1.75, b 3 +
    # 0.000000000001, c "" (no value, so a zero weight): 100 x 1.75 / 4.750000000001 =
    # 36.8421...: 36.84, b 63.16, c 0.00.
    usage = pd.DataFrame({"t": ["a", "a", "b", "b", "c"],
                          "gpu_seconds": [Decimal("0.5"), "1.25", 3, Decimal("0.000000000001"), ""]})
    got = apportion.run(spec(["t"]), records=usage, measures=["gpu_seconds"])
    assert got == inline(usage, ["t"], tags=["t"], measures=["gpu_seconds"])
    assert costs(got) == {(("t", "a"),): "36.84", (("t", "b"),): "63.16", (("t", "c"),): "0.00"}
    coarse = pd.DataFrame({"t": ["a", "b"], "gpu_seconds": [Decimal("2.50"), 10**15]})  # scale 1
    assert apportion.run(spec(["t"]), records=coarse) == inline(coarse, ["t"], tags=["t"], measures=["gpu_seconds"])


def test_a_groupby_result_goes_in_with_its_index():
    usage = pd.DataFrame({"namespace": ["nlp", "nlp", "cv", None], "team": ["a", "a", "b", "b"],
                          "gpu_seconds": np.array([10, 20, 5, 15], dtype=np.int64)})
    summed = usage.groupby(["namespace", "team"], dropna=False).sum()
    assert list(summed.columns) == ["gpu_seconds"]
    got = apportion.run(spec(["namespace"]), records=summed)
    assert got == inline(summed, ["namespace"], tags=["namespace", "team"], measures=["gpu_seconds"])
    # nlp 30, cv 5, none 15 of 50: 60.00, 10.00, 30.00.
    assert costs(got) == {(("namespace", "nlp"),): "60.00", (("namespace", "cv"),): "10.00",
                          (("namespace", "__unallocated__"),): "30.00"}
    series = usage.groupby("team")["gpu_seconds"].sum()  # a named Series
    assert costs(apportion.run(spec(["team"]), records=series)) == {(("team", "a"),): "60.00",
                                                                    (("team", "b"),): "40.00"}


def test_every_spec_case_gives_the_same_result_from_columns():
    # The plain records of each case (tags, measures, pool: what a DataFrame holds) moved out
    # of the spec into one frame per pool: the result document is the same, byte for byte.
    checked = 0
    for path in case_files():
        case = load_case(path)
        doc = case.get("spec")
        if "error" in case or not isinstance(doc, dict) or doc.get("inputs"):
            continue
        plain = [r for r in doc.get("records", []) if set(r) <= {"tags", "measures", "pool"}]
        if not plain:
            continue
        frames = []
        for pool in dict.fromkeys(r.get("pool") for r in plain):
            rows = [r for r in plain if r.get("pool") == pool]
            tags = sorted({k for r in rows for k in r["tags"]})
            measures = sorted({k for r in rows for k in r.get("measures", {})})
            frame = pd.DataFrame({**{k: [r["tags"].get(k) for r in rows] for k in tags},
                                  **{m: [r.get("measures", {}).get(m) for r in rows] for m in measures}},
                                 dtype=object)
            frames.append(record_batch(frame, tags=tags, measures=measures, pool=pool))
        rest = {**doc, "records": [r for r in doc.get("records", []) if r not in plain]}
        assert apportion.run_result(rest, records=frames).to_json() == apportion.run_result(doc).to_json(), path.name
        checked += 1
    assert checked >= 15


def test_lists_of_frames_and_allocation_add_records():
    one = pd.DataFrame({"team": ["a", "b"], "gpu_seconds": np.array([1, 3], dtype=np.int64)})
    two = pd.DataFrame({"team": pd.Categorical(["b"]), "gpu_seconds": np.array([4], dtype=np.int64)})
    both = apportion.run(spec(["team"]), records=[one, two])
    assert both == apportion.run(spec(["team"]), records=pd.concat([one, two.astype({"team": object})]))
    assert costs(both) == {(("team", "a"),): "12.50", (("team", "b"),): "87.50"}  # 1 and 7 of 8
    a = Allocation().add_pool("p", "100.00").add_step("s", Proportional("gpu_seconds", ["team"]), pool="p")
    a.add_record({"team": "a"}, gpu_seconds=8)
    a.add_records(one, tags=["team"], measures=["gpu_seconds"]).add_records(two)
    assert repr(a) == "<apportion.Allocation USD: 1 pools, 1 records + 3 rows in 2 batches, 1 steps>"
    assert costs(a.run().to_dict()) == {(("team", "a"),): "56.25", (("team", "b"),): "43.75"}  # 9 and 7 of 16
    with pytest.raises(TypeError, match="not spec dicts"):
        a.add_records([{"tags": {}}], tags=["team"])


def test_pool_and_limits_apply_to_the_rows():
    doc = {"apportion": 1, "pools": [{"id": "p", "cost": "10"}, {"id": "q", "cost": "5"}], "records": [],
           "steps": [{"id": "s", "strategy": "even", "pool": "q", "group_by": ["team"]}]}
    usage = pd.DataFrame({"team": ["a", "b"], "gpu_seconds": np.array([1, 1], dtype=np.int64)})
    lines = apportion.run(doc, records=usage, pool="p")["lines"]
    assert [l["kind"] for l in lines] == ["unallocated"]  # the rows are the other pool's
    assert len(apportion.run(doc, records=usage, pool="q")["lines"]) == 2
    with pytest.raises(apportion.SpecError, match="^batches: more than 1 records"):
        apportion.run(doc, records=usage, max_records=1)


def message(error, call, *args, **kwargs):
    with pytest.raises(error) as e:
        call(*args, **kwargs)
    return str(e.value)


def test_errors_name_the_column_and_row():
    # The messages docs/errors.md lists (section Python), word for word.
    frame = pd.DataFrame({"t": ["a", "b", "c"], "hours": [1.0, 2.0, 3.0],
                          "mixed": ["1", 2.5, "3"], "fine": [Decimal("1"), Decimal("0.0000000000001"), 2],
                          "wide": [Decimal("0.000001"), 10**13, 1], "num": [1, "x", 2]}, index=["r0", "r1", "r2"])
    assert message(TypeError, record_batch, frame, tags=["t"], measures=["hours"]) == (
        "column 'hours' is float64: floats are not exact; use an integer column, or str or Decimal values")
    assert message(TypeError, record_batch, frame, tags=["t"], measures=["mixed"]) == (
        "column 'mixed', row 'r1': float 2.5 is not exact; use int, str or Decimal")
    assert message(ValueError, record_batch, frame, tags=["t"], measures=["fine"]) == (
        "column 'fine', row 'r1': more than 12 fractional digits: \"0.0000000000001\"")
    # Held at scale 6 (0.000001), 10^13 is 10^19 units: beyond int64.
    assert message(ValueError, record_batch, frame, tags=["t"], measures=["wide"]) == (
        "column 'wide', row 'r1': 10000000000000 does not fit a 64-bit integer at the column's scale of 6 fractional digits")
    assert message(TypeError, record_batch, frame, tags=["num"], measures=[]) == (
        "column 'num', row 'r0': tag values are str, got int 1")
    # Columns left to be inferred: no float column slips in.
    assert message(TypeError, record_batch, frame[["t", "hours"]]).startswith("column 'hours' is float64")
    assert "no column 'nope'" in message(KeyError, record_batch, frame, tags=["nope"])
    # What the engine checks names the row by position (and the frame in a list).
    negative = pd.DataFrame({"t": ["a", "b"], "gpu_seconds": np.array([5, -5], dtype=np.int64)})
    assert message(apportion.SpecError, apportion.run, spec(["t"]), records=negative) == (
        'DataFrame row 1: gpu_seconds: must not be negative (got "-5")')
    assert message(apportion.SpecError, apportion.run, spec(["t"]), records=[negative.iloc[:1], negative]) == (
        'DataFrame[1] row 1: gpu_seconds: must not be negative (got "-5")')


def test_str_columns_are_checked_when_added_and_encoded_only_when_a_step_reads_them():
    # pod is read by no step: it is checked now (row 2 is not str) but never encoded. The
    # same frame with pod fixed gives the lines of the inline records.
    usage = pd.DataFrame({"team": ["a", "b", "a"], "pod": ["p1", "p2", 7],
                          "gpu_seconds": np.array([1, 2, 3], dtype=np.int64)}, index=["r0", "r1", "r2"])
    assert message(TypeError, record_batch, usage, tags=["team", "pod"], measures=["gpu_seconds"]) == (
        "column 'pod', row 'r2': tag values are str, got int 7")
    usage.loc["r2", "pod"] = "p3"
    batch = record_batch(usage)
    got = apportion.run(spec(["team"]), records=batch)
    assert got == inline(usage, ["team"], tags=["team", "pod"], measures=["gpu_seconds"])
    assert costs(got) == {(("team", "a"),): "66.67", (("team", "b"),): "33.33"}
    # The batch read again, by a step that groups by pod this time, and by an aggregate.
    by_pod = apportion.run(spec(["pod"]), records=batch)
    assert costs(by_pod) == {(("pod", "p1"),): "16.67", (("pod", "p2"),): "33.33", (("pod", "p3"),): "50.00"}
    aggregate = PartialAggregate()
    aggregate.add_batch(batch)
    assert sorted(r["tags"]["pod"] for r in aggregate.to_spec_records()) == ["p1", "p2", "p3"]
    # A tag no step reads still names itself in the hint of a step grouped by a key no
    # record has.
    labelled = pd.DataFrame({"label_team": ["a", "b"], "gpu_seconds": np.array([1, 1], dtype=np.int64)})
    warnings = apportion.run(spec(["team"]), records=labelled)["warnings"]
    assert any('(the records have "label_team")' in w for w in warnings), warnings
    # Text beyond ASCII is encoded when added, read or not; a lone surrogate is an error then.
    accented = pd.DataFrame({"team": ["équipe", "b"], "site": ["zürich", "b"],
                             "gpu_seconds": np.array([3, 1], dtype=np.int64)})
    assert costs(apportion.run(spec(["team"]), records=accented)) == {(("team", "b"),): "25.00",
                                                                       (("team", "équipe"),): "75.00"}
    broken = pd.DataFrame({"team": ["a", "b"], "site": ["x", "\ud800"], "gpu_seconds": np.array([1, 1], dtype=np.int64)})
    assert message(ValueError, record_batch, broken).startswith("column 'site', row 1: not valid Unicode text")


def test_record_batch_reads_numpy_arrays_in_place_and_refuses_others():
    b = RecordBatch(3, source="usage")
    codes = np.array([0, 1, -1], dtype=np.int32)
    b.add_tags("team", codes, ["a", "b"])
    b.add_measure("gpu_seconds", np.array([25, 15, 10], dtype=np.int64), scale=1)  # 2.5, 1.5, 1.0
    assert (b.rows, b.tags, b.measures, b.source) == (3, ["team"], ["gpu_seconds"], "usage")
    # a 2.5, b 1.5, none 1.0 of 5.0: 50.00, 30.00, 20.00
    assert costs(apportion.run(spec(["team"]), records=b)) == {
        (("team", "a"),): "50.00", (("team", "b"),): "30.00", (("team", "__unallocated__"),): "20.00"}
    with pytest.raises(TypeError):  # int64 codes are not converted
        b.add_tags("other", codes.astype(np.int64), ["a"])
    with pytest.raises(TypeError):
        b.add_measure("hours", np.array([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match="column 'x': 2 values for 3 rows"):
        b.add_measure("x", np.array([1, 2], dtype=np.int64))
    with pytest.raises(ValueError, match="already a tag"):
        b.add_tags("team", codes, ["a"])
    bad = RecordBatch(1, source="usage")
    bad.add_tags("team", np.array([2], dtype=np.int32), ["a"])
    with pytest.raises(apportion.SpecError, match="^usage row 0: team: code 2 is not below the dictionary's 1 values$"):
        apportion.run(spec(["team"]), records=bad)


def test_partial_aggregates_from_batches_merge_to_the_rows():
    usage = pd.DataFrame({"ns": pd.Categorical(["x", "y", "x", None]), "team": ["a", "a", "b", "b"],
                          "gpu_seconds": [Decimal("1.5"), 2, 3, 4]})
    whole = PartialAggregate()
    whole.add_batch(record_batch(usage))
    rows = PartialAggregate()
    for r in records_from_dataframe(usage, tags=["ns", "team"], measures=["gpu_seconds"]):
        rows.add(r["tags"], r["measures"])
    assert whole.to_spec_records() == rows.to_spec_records() and whole.rows == 4
    halves = [PartialAggregate(), PartialAggregate()]
    halves[1].add_batch(record_batch(usage.iloc[2:]))
    halves[0].add_batch(record_batch(usage.iloc[:2]))
    halves[1].merge(halves[0])
    assert halves[1].to_spec_records() == whole.to_spec_records()
    negative = pd.DataFrame({"t": ["a", "b"], "gpu_seconds": np.array([1, -1], dtype=np.int64)})
    with pytest.raises(apportion.SpecError, match="^DataFrame row 1: gpu_seconds: must not be negative"):
        whole.add_batch(record_batch(negative))
    assert whole.rows == 4  # nothing of the bad batch was added


def test_lines_come_back_as_the_document_holds_them():
    # Every spec case: the DataFrame from the engine's columns equals the one from the JSON
    # document (split_cost, unused_cost and gpu_hours included where a case has them).
    seen = set()
    for path in case_files():
        case = load_case(path)
        if "error" in case:
            continue
        result = apportion.run_result(case["spec_text"] if "spec_text" in case else case["spec"])
        frame = result.to_dataframe()
        pd.testing.assert_frame_equal(frame, apportion.lines_dataframe(result.to_dict()))
        seen.update(frame.columns)
    assert {"split_cost", "unused_cost", "gpu_hours"} <= seen


def test_the_gil_is_released_while_the_rows_are_read():
    # The run of 2M rows takes a while; a second thread keeps running Python meanwhile. With
    # the GIL held throughout, it could not tick between the run's start and end.
    rows = 2_000_000
    rng = np.random.default_rng(7)
    batch = RecordBatch(rows)
    batch.add_tags("team", rng.integers(0, 100, rows, dtype=np.int32), [f"t{i}" for i in range(100)])
    batch.add_measure("gpu_seconds", rng.integers(1, 3600, rows, dtype=np.int64))
    span = {}

    def work():
        span["start"] = time.perf_counter()
        span["result"] = apportion.run_result(spec(["team"]), records=batch)
        span["end"] = time.perf_counter()

    ticks = []
    worker = threading.Thread(target=work)
    worker.start()
    while worker.is_alive():
        ticks.append(time.perf_counter())
        time.sleep(0.001)
    worker.join()
    inside = [t for t in ticks if span["start"] < t < span["end"]]
    assert span["end"] - span["start"] > 0.05
    assert len(inside) >= 5, (len(inside), span["end"] - span["start"])
    assert sum(Decimal(l.cost) for l in span["result"].lines) == Decimal("100.00")
