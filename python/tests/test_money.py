import decimal
from decimal import Decimal

import pytest

import apportion
from apportion import CurrencyMismatch, Money, SpecError


def test_exact_construction():
    assert Money("12.50", "USD").amount == Decimal("12.5")
    assert Money(3, "EUR").amount == Decimal(3)
    assert Money(Decimal("0.1")).amount == Decimal("0.1")
    assert Money("1.5e-07").amount == Decimal("1.5E-7")
    assert Money(Decimal("1E+3")).amount == Decimal(1000)
    assert Money("1").currency == "USD"


def test_float_is_refused_with_the_reason():
    with pytest.raises(TypeError, match="float is a binary fraction"):
        Money(0.1)
    with pytest.raises(TypeError, match="expected a str, an int or a decimal.Decimal"):
        Money(True)
    with pytest.raises(TypeError):
        Money([1])


def test_bad_text_and_currency():
    with pytest.raises(apportion.ParseError):
        Money("12,50")
    with pytest.raises(SpecError, match="ISO 4217"):
        Money("1", "XYZ")
    with pytest.raises(ValueError):  # SpecError is a ValueError
        Money(Decimal("NaN"))
    assert issubclass(apportion.ParseError, SpecError)
    assert issubclass(SpecError, ValueError)


def test_no_float_conversion():
    assert not hasattr(Money, "__float__")
    with pytest.raises(TypeError):
        float(Money("1"))


def test_arithmetic():
    a, b = Money("10.25"), Money("0.75")
    assert a + b == Money(11)
    assert a - b == Money("9.5")
    assert -a == Money("-10.25")
    assert a * 3 == Money("30.75") == 3 * a
    with pytest.raises(TypeError):
        a * Decimal("1.5")
    with pytest.raises(TypeError):
        a + 1
    with pytest.raises(TypeError):
        a * 1.5


def test_currency_mismatch():
    usd, eur = Money(1, "USD"), Money(1, "EUR")
    with pytest.raises(CurrencyMismatch, match="cannot combine"):
        usd + eur
    with pytest.raises(CurrencyMismatch):
        usd < eur
    assert usd != eur
    assert not (usd == eur)


def test_comparisons_and_hash():
    assert Money("1.10") == Money("1.1")
    assert hash(Money("1.10")) == hash(Money("1.1"))
    assert Money(1) < Money("1.01") <= Money("1.01") < Money(2)
    assert Money(2) > Money(1) and Money(2) >= Money(2)
    assert len({Money("1.0"), Money(1), Money(1, "EUR")}) == 2
    assert not Money(0) and Money("0.01")


def test_round_modes():
    assert Money("2.345").round() == Money("2.34")  # half-even by default
    assert Money("2.345").round(mode="half_up") == Money("2.35")
    assert Money("2.345").round(mode=decimal.ROUND_HALF_UP) == Money("2.35")
    assert Money("2.341").round("0.01", "ceiling") == Money("2.35")
    assert Money("-2.349").round("0.01", "down") == Money("-2.34")
    assert Money("1234", "JPY").round("100") == Money(1200, "JPY")
    with pytest.raises(ValueError, match="unknown rounding mode"):
        Money(1).round(mode="nearest")


def test_allocate_sums_exactly():
    parts = Money("100").allocate([1, 1, 1])
    assert parts == [Money("33.34"), Money("33.33"), Money("33.33")]
    assert sum((p.amount for p in parts), Decimal(0)) == Decimal(100)
    # ties go to the larger weight, then the earlier part
    assert Money("0.01").allocate(["1", "2", "2"]) == [Money(0), Money("0.01"), Money(0)]
    assert Money("-1").allocate([1, 2], unit="0.1") == [Money("-0.3"), Money("-0.7")]
    with pytest.raises(SpecError, match="weights sum to zero"):
        Money(1).allocate([0, 0])
    with pytest.raises(TypeError):
        Money(1).allocate([0.5, 0.5])


def test_str_and_repr():
    assert str(Money("12.50")) == "12.5 USD"
    assert repr(Money("12.50", "EUR")) == "Money('12.5', 'EUR')"
    assert Money("12.5").to_fixed() == "12.50"


def test_overflow():
    big = Money("1e20")
    with pytest.raises(OverflowError):
        big * 10**10
