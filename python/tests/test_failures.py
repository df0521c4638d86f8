"""Every failure is a Python exception: never a crash, never a silent wrong answer.

A representative set of bad input at every entry point of the bindings (specs, money,
catalogs, NumPy arrays, PartialAggregate bytes), each raising an exception of the
documented family, with the interpreter still working afterwards.
"""
import decimal
import json

import numpy as np
import pytest

import apportion
from apportion import Catalog, Money, PartialAggregate, SpecError

GOOD_SPEC = {
    "apportion": 1,
    "pools": [{"id": "p", "cost": "10.00"}],
    "records": [{"tags": {"team": "a"}, "measures": {"gpu_seconds": 1}},
                {"tags": {"team": "b"}, "measures": {"gpu_seconds": 3}}],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}],
}


def with_(**changes):
    spec = json.loads(json.dumps(GOOD_SPEC))
    spec.update(changes)
    return spec


BAD_SPECS = [
    ("", SpecError),
    ("{", SpecError),
    ("[]", SpecError),
    ("null", SpecError),
    ("{\"apportion\": 1}", SpecError),
    ("\xff\xfe", (SpecError, UnicodeError)),
    (json.dumps(with_(apportion=2)), SpecError),
    (json.dumps(with_(currency="usd")), SpecError),
    (json.dumps(with_(precision="0.03")), SpecError),
    (json.dumps(with_(pools=[{"id": "p", "cost": "NaN"}])), SpecError),
    (json.dumps(with_(pools=[{"id": "p", "cost": "1e400"}])), SpecError),
    (json.dumps(with_(pools=[{"id": "p", "cost": "1.0000000000001"}])), SpecError),
    (json.dumps(with_(records=[{"tags": {"team": 1}}])), SpecError),
    (json.dumps(with_(records=[{"tags": {"team": "a"}, "measures": {"gpu_seconds": "-1"}}])), SpecError),
    (json.dumps(with_(steps=[{"id": "s", "strategy": "nope", "pool": "p"}])), SpecError),
    (json.dumps(with_(steps=[{"id": "s", "strategy": "even", "pool": "missing", "group_by": ["team"]}])), SpecError),
    (json.dumps(with_(inputs=[{"path": "/nonexistent/file.csv", "format": "csv"}])), SpecError),
    ("[" * 100000, SpecError),
]


@pytest.mark.parametrize("text,error", BAD_SPECS, ids=range(len(BAD_SPECS)))
def test_bad_specs_raise(text, error):
    with pytest.raises(error):
        apportion.run(text)
    # The interpreter and the library still work.
    assert apportion.run(GOOD_SPEC)["lines"][0]["cost"] == "2.50"


def test_bad_spec_objects_raise():
    with pytest.raises(TypeError):
        apportion.run(with_(pools=[{"id": "p", "cost": 1.5}]))  # a float is not exact
    with pytest.raises((TypeError, SpecError)):
        apportion.run({"apportion": 1, "pools": object()})
    with pytest.raises((TypeError, SpecError, ValueError)):
        apportion.run(12345)
    with pytest.raises(SpecError, match=r"^pools\[0\]\.cost: "):
        apportion.run(with_(pools=[{"id": "p", "cost": "9" * 40}]))


@pytest.mark.parametrize("amount", ["", "abc", "1.2.3", "NaN", "inf", "-", "1e999", "1" * 60, "0x10", " 1"])
def test_bad_money_raises(amount):
    with pytest.raises((SpecError, OverflowError, ValueError)):
        Money(amount)


def test_bad_money_operations_raise():
    with pytest.raises(TypeError):
        Money(1.5)
    with pytest.raises((SpecError, ValueError)):
        Money("1", "usd")
    with pytest.raises((SpecError, ValueError)):
        Money("1", "")
    with pytest.raises(apportion.CurrencyMismatch):
        Money("1", "USD") + Money("1", "EUR")
    with pytest.raises(TypeError):
        Money("1") + 1
    big = Money("170141183460469231731687303")
    with pytest.raises(OverflowError):
        big + big
    with pytest.raises(OverflowError):
        big * 2
    with pytest.raises((SpecError, ValueError)):
        Money("10").allocate([])
    with pytest.raises((SpecError, ValueError)):
        Money("10").allocate(["0", "0"])
    with pytest.raises((SpecError, ValueError)):
        Money("10").allocate(["-1", "2"])
    with pytest.raises((SpecError, ValueError)):
        Money("10").round("0", "half_even")
    with pytest.raises((SpecError, ValueError)):
        Money("10").round("0.01", "sideways")


BAD_CATALOGS = [
    "",
    "{",
    "[]",
    "{\"skus\": 1}",
    "{\"skus\": [{\"id\": \"x\"}]}",
    "{\"skus\": [{\"id\": \"x\", \"unit\": \"gpu_hour\", \"prices\": [{\"rate\": \"-1\"}]}]}",
    "{\"skus\": [{\"id\": \"x\", \"unit\": \"gpu_hour\", \"prices\": [{\"rate\": \"1\", \"from\": \"yesterday\"}]}]}",
]


@pytest.mark.parametrize("text", BAD_CATALOGS, ids=range(len(BAD_CATALOGS)))
def test_bad_catalogs_raise(text):
    with pytest.raises(SpecError):
        Catalog.from_json(text)


def test_bad_catalog_calls_raise(tmp_path):
    with pytest.raises((SpecError, OSError)):
        Catalog.load(tmp_path / "missing.json")
    builtin = Catalog.builtin()
    with pytest.raises(SpecError, match="no/such-sku"):
        builtin.rate_at("no/such-sku", "on_demand", "2026-06-02T00:00:00Z")
    with pytest.raises((SpecError, ValueError)):
        builtin.rate_at(builtin.skus[0], "on_demand", "not a time")
    with pytest.raises((SpecError, ValueError)):
        builtin.cost(builtin.skus[0], "on_demand", "-1", "2026-06-02T00:00:00Z", "2026-06-02T01:00:00Z")
    with pytest.raises(TypeError):
        builtin.cost(builtin.skus[0], "on_demand", 1.5, "2026-06-02T00:00:00Z", "2026-06-02T01:00:00Z")


def test_bad_numpy_arrays_raise():
    ids = np.array([0, 1], dtype=np.uint32)
    weights = np.array([1, 2], dtype=np.int64)
    assert sum(apportion.split_columnar("1.00", "0.01", ids, weights, 2)) == 100
    bad_arrays = [
        (np.array([0, 1], dtype=np.float64), weights),
        (ids, np.array([1.0, 2.0])),
        (ids, np.array(["1", "2"])),
        (np.zeros((2, 2), dtype=np.uint32), weights),
        (ids, weights[::-1][::1].repeat(2)[::2]),  # a strided view
        ([0, 1], weights),
        (None, weights),
    ]
    for group_ids, w in bad_arrays:
        with pytest.raises((TypeError, ValueError)):
            apportion.split_columnar("1.00", "0.01", group_ids, w, 2)
    with pytest.raises(ValueError):
        apportion.split_columnar("1.00", "0.01", ids, np.array([1], dtype=np.int64), 2)  # lengths differ
    with pytest.raises(ValueError):
        apportion.split_columnar("1.00", "0.01", np.array([0, 5], dtype=np.uint32), weights, 2)
    with pytest.raises(ValueError):
        apportion.split_columnar("1.00", "0.01", np.array([-1, 0], dtype=np.int64), weights, 2)
    with pytest.raises(ValueError):
        apportion.split_columnar("1.00", "0.01", ids, np.array([-1, 2], dtype=np.int64), 2)
    with pytest.raises(ValueError):
        apportion.split_columnar("1.00", "0.01", ids, np.zeros(2, dtype=np.int64), 2)
    with pytest.raises((ValueError, SpecError)):
        apportion.split_columnar("1.005", "0.01", ids, weights, 2)
    with pytest.raises((ValueError, SpecError)):
        apportion.split_columnar("1.00", "0", ids, weights, 2)
    with pytest.raises((ValueError, SpecError, OverflowError)):
        apportion.split_columnar("1e30", "0.01", ids, weights, 2)
    with pytest.raises((TypeError, ValueError)):
        apportion.group_sums(ids, weights, -1)
    with pytest.raises((TypeError, ValueError)):
        apportion.group_sums(ids.astype(np.int32), weights, 2)


@pytest.mark.parametrize("data", [b"", b"\x00", b"garbage", b"\xff" * 64, b"APNAGG" + b"\x00" * 64])
def test_bad_aggregate_bytes_raise(data):
    with pytest.raises(ValueError):
        PartialAggregate.deserialize(data)


def test_truncated_and_corrupted_aggregate_bytes_raise_or_read():
    a = PartialAggregate()
    for i in range(20):
        a.add({"team": f"t{i % 3}", "namespace": f"n{i % 4}"}, {"gpu_seconds": str(i)}, pool="p" if i % 2 else None)
    data = a.serialize()
    expected = a.records()
    for cut in range(len(data)):
        with pytest.raises(ValueError):
            PartialAggregate.deserialize(data[:cut])
    # A flipped byte is refused or gives some aggregate; never a crash.
    for i in range(0, len(data), max(1, len(data) // 64)):
        corrupted = bytearray(data)
        corrupted[i] ^= 0x5A
        try:
            b = PartialAggregate.deserialize(bytes(corrupted))
        except (ValueError, OverflowError):
            continue
        b.records()
    assert PartialAggregate.deserialize(data).records() == expected
    with pytest.raises(TypeError):
        PartialAggregate.deserialize("not bytes")
    with pytest.raises(TypeError):
        a.merge("not an aggregate")
    with pytest.raises(ValueError):
        a.add({"team": "a"}, {"gpu_seconds": "-1"})
    with pytest.raises((ValueError, SpecError)):
        a.add({"team": "a"}, {"gpu_seconds": "abc"})
    with pytest.raises(TypeError):
        a.add({"team": "a"}, {"gpu_seconds": 1.5})
    assert a.records() == expected  # a refused row changed nothing


def test_bad_ingest_raises(tmp_path):
    sample = tmp_path / "usage.csv"
    sample.write_text("namespace,gpu_seconds\nnlp,abc\n")
    with pytest.raises((SpecError, ValueError)):
        apportion.ingest("no-such-format", sample)
    with pytest.raises((SpecError, ValueError)):
        apportion.ingest("sacct", sample)
    with pytest.raises(SpecError, match="no_such_option"):
        apportion.ingest("csv", sample, no_such_option=1)
    with pytest.raises(OSError):
        apportion.ingest("csv", tmp_path / "missing.csv")


def test_exceptions_are_ordinary_python_exceptions():
    for cls in (SpecError, apportion.ParseError, apportion.CurrencyMismatch, apportion.PriceNotFound):
        assert issubclass(cls, ValueError)
    try:
        apportion.run("{")
    except SpecError as e:
        assert str(e)
    assert decimal.Decimal(apportion.run(GOOD_SPEC)["pools"][0]["cost"]) == decimal.Decimal("10")
