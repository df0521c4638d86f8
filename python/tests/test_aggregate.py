"""apportion.PartialAggregate and apportion.group_sums: exact, mergeable, picklable
aggregates of records, and the columnar core's speed from Python."""
import pickle
import time
from decimal import Decimal

import numpy as np
import pytest

import apportion
from apportion import PartialAggregate, group_sums, split_columnar


ROWS = [
    ({"namespace": "nlp", "team": "search"}, {"gpu_seconds": "10"}),
    ({"namespace": "nlp", "team": "search"}, {"gpu_seconds": Decimal("0.5")}),
    ({"namespace": "cv"}, {"gpu_seconds": 7}),
    ({"namespace": "nlp", "team": "ads"}, {"gpu_seconds": "1", "tokens": 5}),
    ({"namespace": "cv"}, {"gpu_seconds": "3.25"}),
]


def aggregate(rows):
    a = PartialAggregate()
    for tags, measures in rows:
        a.add(tags, measures)
    return a


def test_records_are_summed_sorted_and_counted():
    a = aggregate(ROWS)
    assert (len(a), a.groups, a.rows) == (3, 3, 5)
    assert a.to_spec_records() == [
        {"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": "10.25"}},
        {"tags": {"namespace": "nlp", "team": "ads"}, "measures": {"gpu_seconds": "1", "tokens": "5"}},
        {"tags": {"namespace": "nlp", "team": "search"}, "measures": {"gpu_seconds": "10.5"}},
    ]
    assert a.records("usage.csv")[0]["origin"] == "usage.csv (aggregated: 2 rows)"


def test_merge_order_and_pickling_do_not_change_the_records():
    whole = aggregate(ROWS).to_spec_records()
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        shards = [aggregate(ROWS[i::3]) for i in range(3)]
        merged = pickle.loads(pickle.dumps(shards[order[0]]))
        for k in order[1:]:
            merged.merge(pickle.loads(pickle.dumps(shards[k])))
        assert merged.to_spec_records() == whole
    data = aggregate(ROWS).serialize()
    assert isinstance(data, bytes) and data.startswith(b"APNAGG")
    assert PartialAggregate.deserialize(data).to_spec_records() == whole
    with pytest.raises(ValueError, match="not a serialized PartialAggregate"):
        PartialAggregate.deserialize(b"nonsense")


def test_records_run_in_a_spec_like_the_rows():
    spec = {"apportion": 1, "pools": [{"id": "c", "cost": "100.00"}],
            "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "c"}]}
    by_rows = apportion.run({**spec, "records": [{"tags": t, "measures": {k: str(v) for k, v in m.items()}}
                                                 for t, m in ROWS]})
    by_groups = apportion.run({**spec, "records": aggregate(ROWS).to_spec_records()})
    assert by_groups["lines"] == by_rows["lines"]


def test_add_columns_reads_numpy_in_place_and_refuses_floats():
    ids = np.array([0, 1, 0, 2, 1], dtype=np.uint32)
    weights = np.array([1500, 250, 500, 0, 1], dtype=np.int64)  # milli-GPU-seconds
    groups = [{"team": "a"}, {"team": "b"}, {"team": "c"}]
    a = PartialAggregate()
    a.add_columns(ids, weights, groups, "gpu_seconds", scale=3, pool="p")
    assert a.to_spec_records() == [
        {"pool": "p", "tags": {"team": "a"}, "measures": {"gpu_seconds": "2"}},
        {"pool": "p", "tags": {"team": "b"}, "measures": {"gpu_seconds": "0.251"}},
        {"pool": "p", "tags": {"team": "c"}, "measures": {"gpu_seconds": "0"}},
    ]
    assert a.rows == 5
    b = PartialAggregate()
    b.add_columns(ids.astype(np.int64), weights, groups, "gpu_seconds", scale=3, pool="p")
    assert b.to_spec_records() == a.to_spec_records()
    with pytest.raises(TypeError):
        a.add_columns(ids, weights.astype(np.float64), groups, "gpu_seconds")
    with pytest.raises(ValueError, match="not below n_groups"):
        a.add_columns(ids, weights, groups[:2], "gpu_seconds")
    with pytest.raises(ValueError, match="must not be negative"):
        a.add({"t": "x"}, {"m": "-1"})
    with pytest.raises(TypeError):
        a.add({"t": "x"}, {"m": 1.5})
    assert a.rows == 5


def test_overflow_is_an_error():
    a = PartialAggregate()
    big = "100000000000000000000000000"
    a.add({"t": "x"}, {"m": big})
    with pytest.raises(OverflowError):
        a.add({"t": "x"}, {"m": big})
    assert a.rows == 1


def test_group_sums_are_exact():
    ids = np.array([0, 0, 1], dtype=np.uint32)
    w = np.array([2**62, 2**62, 3], dtype=np.int64)
    assert group_sums(ids, w, 3) == [2**63, 3, 0]
    with pytest.raises(TypeError):
        group_sums(ids, w.astype(np.float64), 3)


def test_python_split_reaches_the_core_speed():
    """split_columnar from Python costs no more than the C++ core plus a small constant."""
    n, groups = 10_000_000, 4000
    rng = np.random.default_rng(0)
    ids = rng.integers(0, groups, n, dtype=np.uint32)
    w = rng.integers(0, 10**12, n, dtype=np.int64)
    split_columnar("1234567.89", "0.01", ids, w, groups)  # warm up
    best = min(_timed(lambda: split_columnar("1234567.89", "0.01", ids, w, groups)) for _ in range(3))
    rows_per_second = n / best
    print(f"split_columnar from Python: {rows_per_second / 1e6:.0f}M rows/s")
    assert rows_per_second > 50e6  # a floor far below the measured figure, for loaded machines


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start
