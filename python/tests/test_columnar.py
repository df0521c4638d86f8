import threading
from decimal import Decimal

import numpy as np
import pytest

from apportion import Money, split_columnar


def test_split_matches_money_allocate():
    ids = np.array([0, 1, 2, 1, 0], dtype=np.uint32)
    weights = np.array([1, 1, 1, 1, 0], dtype=np.int64)
    out = split_columnar("100", "0.01", ids, weights, 3)
    assert out.dtype == np.int64 and out.tolist() == [2500, 5000, 2500]
    # ties: equal remainders go to the larger weight, then the lower id
    out = split_columnar(Decimal("0.01"), "0.01", np.array([0, 1, 2], dtype=np.int64),
                         np.array([1, 2, 2], dtype=np.int64), 3)
    assert out.tolist() == [0, 1, 0]
    expect = [m.amount for m in Money("1000").allocate([7, 3, 11, 0, 5])]
    got = split_columnar(1000, "0.01", np.arange(5, dtype=np.int64), np.array([7, 3, 11, 0, 5], dtype=np.int64), 5)
    assert [Decimal(int(u)) * Decimal("0.01") for u in got] == expect


def test_negative_pool_and_empty_groups():
    out = split_columnar("-1", "0.1", np.array([0, 0, 2], dtype=np.uint32), np.array([1, 2, 3], dtype=np.int64), 4)
    assert out.tolist() == [-5, 0, -5, 0] and out.sum() == -10
    assert split_columnar("0", "1", np.array([], dtype=np.int64), np.array([], dtype=np.int64), 2).tolist() == [0, 0]


def test_large_weights_do_not_overflow():
    big = np.iinfo(np.int64).max
    ids = np.zeros(1000, dtype=np.int64)
    ids[500:] = 1
    out = split_columnar(str(2**62), "1", ids, np.full(1000, big, dtype=np.int64), 2)
    assert out.tolist() == [2**61, 2**61]


def test_floats_and_wrong_dtypes_are_refused_not_cast():
    ids = np.array([0, 1], dtype=np.uint32)
    with pytest.raises(TypeError):
        split_columnar("1", "0.01", ids, np.array([1.0, 2.0]), 2)
    with pytest.raises(TypeError):
        split_columnar("1", "0.01", ids.astype(np.float64), np.array([1, 2], dtype=np.int64), 2)
    with pytest.raises(TypeError):
        split_columnar("1", "0.01", ids, np.array([1, 2], dtype=np.int32), 2)
    with pytest.raises(TypeError):  # not contiguous: refused rather than copied
        split_columnar("1", "0.01", ids, np.array([1, 9, 2, 9], dtype=np.int64)[::2], 2)
    with pytest.raises(TypeError):
        split_columnar(1.5, "0.01", ids, np.array([1, 2], dtype=np.int64), 2)


def test_bad_arguments():
    ids = np.array([0, 1], dtype=np.int64)
    w = np.array([1, 2], dtype=np.int64)
    with pytest.raises(ValueError, match="not below n_groups"):
        split_columnar("1", "0.01", ids, w, 1)
    with pytest.raises(ValueError, match="not below n_groups"):
        split_columnar("1", "0.01", np.array([-1, 0], dtype=np.int64), w, 2)
    with pytest.raises(ValueError, match="must not be negative"):
        split_columnar("1", "0.01", ids, np.array([1, -2], dtype=np.int64), 2)
    with pytest.raises(ValueError, match="differ in length"):
        split_columnar("1", "0.01", ids, w[:1], 2)
    with pytest.raises(ValueError, match="not a multiple"):
        split_columnar("1.001", "0.01", ids, w, 2)
    with pytest.raises(ValueError, match="sum to zero"):
        split_columnar("1", "0.01", ids, np.zeros(2, dtype=np.int64), 2)


def test_releases_the_gil():
    ids = np.random.default_rng(1).integers(0, 1000, 2_000_000, dtype=np.int64)
    w = np.random.default_rng(2).integers(0, 10**9, 2_000_000, dtype=np.int64)
    results = []
    threads = [threading.Thread(target=lambda: results.append(split_columnar("123456.78", "0.01", ids, w, 1000)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all((r == results[0]).all() for r in results)
    assert results[0].sum() == 12345678
