#include "apportion/decimal.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "printers.hpp"

namespace {

using apportion::BigInt;
using apportion::Decimal;
using apportion::ExcessDigits;
using apportion::int128;
using apportion::OverflowError;
using apportion::ParseError;
using apportion::Rational;
using apportion::RoundingMode;

Decimal D(const char* text) { return Decimal::parse(text); }

constexpr int128 max128 = Decimal::max_raw();
constexpr int128 min128 = Decimal::min_raw();

static_assert(!std::is_constructible_v<Decimal, double>, "a double is never an exact decimal");
static_assert(!std::is_constructible_v<Decimal, float>, "a float is never an exact decimal");
static_assert(!std::is_convertible_v<int, Decimal>, "integers convert only explicitly");
static_assert(std::is_constructible_v<Decimal, std::int64_t>);

TEST(DecimalParse, ReadsExponentsExactly) {
  EXPECT_EQ(D("1.5e-07").raw(), 150'000);
  EXPECT_EQ(D("3.75e-08").raw(), 37'500);
  EXPECT_EQ(D("1E3"), Decimal(1000));
  EXPECT_EQ(D("1e+3"), Decimal(1000));
  EXPECT_EQ(D("25E-1"), D("2.5"));
  EXPECT_EQ(D("0.00012e4"), D("1.2"));
  EXPECT_EQ(D("120000e-5"), D("1.2"));
  EXPECT_EQ(D("0e999999999999"), Decimal());
}

TEST(DecimalParse, ReadsSignsAndZeros) {
  EXPECT_EQ(D("-0.5").raw(), -Decimal::one_raw / 2);
  EXPECT_EQ(D("-0"), Decimal());
  EXPECT_EQ(D("0.000"), Decimal());
  EXPECT_EQ(D("31.36").raw(), static_cast<int128>(31'360'000'000'000));
  EXPECT_EQ(D("-12.5"), -D("12.5"));
  EXPECT_EQ(D("1").raw(), Decimal::one_raw);
}

TEST(DecimalParse, HoldsTwelveFractionalDigits) {
  EXPECT_EQ(D("0.000000000001").raw(), 1);
  EXPECT_EQ(D("-0.000000000001").raw(), -1);
  EXPECT_EQ(D("0.123456789012").raw(), 123'456'789'012);
  // Trailing zeros beyond the twelfth digit lose nothing.
  EXPECT_EQ(D("0.1000000000000000").raw(), Decimal::one_raw / 10);
  EXPECT_EQ(D("1e-12").raw(), 1);
}

// Plain digits take a fast path (up to 18 integer and 12 fraction digits); the same text
// with "e0" goes the general way. Both give the same value on either side of its limits.
TEST(DecimalParse, PlainDigitsAgreeWithTheGeneralPath) {
  for (const char* text : {"0", "-0", "7", "-7.5", "0.000000000001", "1.000000000001", "999999999999999999",
                           "9999999999999999999", "-999999999999999999.999999999999", "99999999999999999.5",
                           "123456789012345678.123456789012", "0012.50", "18446744073709551616"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(D(text).raw(), Decimal::parse(std::string(text) + "e0").raw());
  }
  EXPECT_THROW(D("1."), ParseError);
  EXPECT_THROW(D("-"), ParseError);
  EXPECT_THROW(D("1.2.3"), ParseError);
}

TEST(DecimalParse, RejectsAThirteenthDigit) {
  EXPECT_THROW(D("0.0000000000001"), ParseError);
  EXPECT_THROW(D("0.1234567890123"), ParseError);
  EXPECT_THROW(D("1e-13"), ParseError);
  EXPECT_THROW(D("1.5e-12"), ParseError);
  EXPECT_THROW(D("1e-1000000000000"), ParseError);
}

TEST(DecimalParse, RoundsExcessDigitsHalfEvenWhenAsked) {
  const auto R = [](const char* text) { return Decimal::parse(text, ExcessDigits::round_half_even).raw(); };
  EXPECT_EQ(R("0.0000000000005"), 0);   // tie, 0 is even
  EXPECT_EQ(R("0.0000000000015"), 2);   // tie, up to even
  EXPECT_EQ(R("0.0000000000025"), 2);   // tie, down to even
  EXPECT_EQ(R("0.00000000000250001"), 3);
  EXPECT_EQ(R("0.0000000000024999"), 2);
  EXPECT_EQ(R("0.0000000000006"), 1);
  EXPECT_EQ(R("-0.0000000000015"), -2);
  EXPECT_EQ(R("-0.0000000000006"), -1);
  EXPECT_EQ(R("1.5e-12"), 2);
  EXPECT_EQ(R("4e-13"), 0);
  EXPECT_EQ(R("1e-1000000000000"), 0);
  EXPECT_EQ(R("0.123456789012"), 123'456'789'012);
}

TEST(DecimalParse, OverflowsBeyondTheRange) {
  EXPECT_THROW(D("1e27"), OverflowError);
  EXPECT_THROW(D("-1e27"), OverflowError);
  EXPECT_THROW(D("1000000000000000000000000000"), OverflowError);
  EXPECT_THROW(D("1e999999999999"), OverflowError);
  EXPECT_THROW(D("170141183460469231731687303.715884105728"), OverflowError);
  EXPECT_EQ(D("1e26").raw(), apportion::detail::pow10_128(38));
  EXPECT_EQ(D("170141183460469231731687303.715884105727").raw(), max128);
  EXPECT_EQ(D("-170141183460469231731687303.715884105727").raw(), -max128);
  EXPECT_EQ(D("99999999999999999999999999").to_string(), "99999999999999999999999999");
}

TEST(DecimalParse, ExcessZerosDoNotShrinkTheRange) {
  // Regression: a value of 27 integer digits written with a 13th fractional digit was
  // refused as out of range although it is held exactly.
  EXPECT_EQ(D("100000000000000000000000000.0000000000000"), D("1e26"));
  EXPECT_EQ(D("170141183460469231731687303.7158841057270").raw(), max128);
  EXPECT_EQ(Decimal::parse("170141183460469231731687303.7158841057265", ExcessDigits::round_half_even).raw(), max128 - 1);
  EXPECT_THROW(Decimal::parse("170141183460469231731687303.7158841057275", ExcessDigits::round_half_even),
               OverflowError);
  EXPECT_THROW(D("170141183460469231731687303.7158841057280"), OverflowError);
}

TEST(DecimalParse, ReadsBackTheMostNegativeValue) {
  // Regression (found by tests/test_properties.cpp): the most negative raw value, -2^127,
  // is a Decimal that sums can reach and to_string() writes, but parse() refused its text
  // as out of range because it accumulated the magnitude, which only reaches 2^127 - 1.
  const Decimal lowest = Decimal::from_raw(Decimal::min_raw());
  EXPECT_EQ(lowest.to_string(), "-170141183460469231731687303.715884105728");
  EXPECT_EQ(Decimal::parse(lowest.to_string()), lowest);
  EXPECT_EQ(D("-170141183460469231731687303.7158841057280"), lowest);
  EXPECT_EQ(Decimal::parse("-170141183460469231731687303.7158841057275", ExcessDigits::round_half_even), lowest);
  EXPECT_EQ(Decimal::parse("-170141183460469231731687303.7158841057285", ExcessDigits::round_half_even), lowest);
  EXPECT_THROW(Decimal::parse("-170141183460469231731687303.71588410572851", ExcessDigits::round_half_even),
               OverflowError);
  EXPECT_THROW(D("-170141183460469231731687303.715884105729"), OverflowError);
  EXPECT_THROW(D("-1000000000000000000000000000"), OverflowError);
  // Rounding a negative value is unchanged: half-even on the magnitude.
  EXPECT_EQ(Decimal::parse("-1.5e-12", ExcessDigits::round_half_even).raw(), -2);
  EXPECT_EQ(Decimal::parse("-2.5e-12", ExcessDigits::round_half_even).raw(), -2);
  EXPECT_EQ(Decimal::parse("-2.51e-12", ExcessDigits::round_half_even).raw(), -3);
}

TEST(DecimalParse, RejectsWhatIsNotJsonNumberSyntax) {
  for (const char* bad : {"", "NaN", "nan", "Infinity", "-Infinity", "inf", "abc", "1.", ".5", "-.5", "-", "+1",
                          "1e", "1e+", "1E-", "--1", " 1", "1 ", "0x10", "1,5", "1.2.3", "1e2.5", "12a", "e5"}) {
    EXPECT_THROW(D(bad), ParseError) << '"' << bad << '"';
  }
}

TEST(DecimalParse, ErrorsQuoteTheText) {
  try {
    D("12abc");
    FAIL() << "no exception";
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("\"12abc\""), std::string::npos) << e.what();
  }
}

TEST(DecimalText, ToStringIsShortestExact) {
  EXPECT_EQ(D("12.50").to_string(), "12.5");
  EXPECT_EQ(D("3.75e-08").to_string(), "0.0000000375");
  EXPECT_EQ(D("-3").to_string(), "-3");
  EXPECT_EQ(D("0").to_string(), "0");
  EXPECT_EQ(D("-0.000000000001").to_string(), "-0.000000000001");
  EXPECT_EQ(D("1E3").to_string(), "1000");
  EXPECT_EQ(Decimal::from_raw(max128).to_string(), "170141183460469231731687303.715884105727");
  EXPECT_EQ(Decimal::from_raw(min128).to_string(), "-170141183460469231731687303.715884105728");
}

TEST(DecimalText, ToStringRoundTrips) {
  for (const char* text : {"0", "1", "-1", "0.5", "123456789.123456789012", "-0.000000000001", "10", "100.01"})
    EXPECT_EQ(D(text).to_string(), text);
}

TEST(DecimalText, ToFixedPadsAndRoundsHalfEven) {
  EXPECT_EQ(D("2.5").to_fixed(2), "2.50");
  EXPECT_EQ(D("0.125").to_fixed(2), "0.12");
  EXPECT_EQ(D("0.135").to_fixed(2), "0.14");
  EXPECT_EQ(D("-0.125").to_fixed(2), "-0.12");
  EXPECT_EQ(D("-0.135").to_fixed(2), "-0.14");
  EXPECT_EQ(D("0.005").to_fixed(2), "0.00");
  EXPECT_EQ(D("-0.004").to_fixed(2), "0.00");  // never "-0.00"
  EXPECT_EQ(D("0.001").to_fixed(6), "0.001000");
  EXPECT_EQ(D("7").to_fixed(3), "7.000");
  EXPECT_EQ(D("0.000000000001").to_fixed(12), "0.000000000001");
  EXPECT_EQ(D("-1234.5678").to_fixed(1), "-1234.6");
}

TEST(DecimalText, ToFixedWithNoPlaces) {
  EXPECT_EQ(D("2.5").to_fixed(0), "2");
  EXPECT_EQ(D("3.5").to_fixed(0), "4");
  EXPECT_EQ(D("-3.5").to_fixed(0), "-4");
  EXPECT_EQ(D("1234").to_fixed(0), "1234");
  // Regression: a value rounding to zero used to print as "".
  EXPECT_EQ(D("0").to_fixed(0), "0");
  EXPECT_EQ(D("0.4").to_fixed(0), "0");
  EXPECT_EQ(D("-0.4").to_fixed(0), "0");
}

TEST(DecimalText, ToFixedRejectsPlacesOutsideTheScale) {
  EXPECT_THROW((void)D("1").to_fixed(-1), std::invalid_argument);
  EXPECT_THROW((void)D("1").to_fixed(13), std::invalid_argument);
}

struct RoundCase {
  const char* value;
  // Results for half_even, half_up, down, up, floor, ceiling (Python's decimal module).
  const char* expected[6];
};

TEST(DecimalRound, EveryModeMatchesPythonDecimal) {
  const RoundingMode modes[] = {RoundingMode::half_even, RoundingMode::half_up, RoundingMode::down,
                                RoundingMode::up,        RoundingMode::floor,   RoundingMode::ceiling};
  const RoundCase cases[] = {
      {"2.5", {"2", "3", "2", "3", "2", "3"}},     {"1.5", {"2", "2", "1", "2", "1", "2"}},
      {"-2.5", {"-2", "-3", "-2", "-3", "-3", "-2"}}, {"-1.5", {"-2", "-2", "-1", "-2", "-2", "-1"}},
      {"2.4", {"2", "2", "2", "3", "2", "3"}},     {"-2.4", {"-2", "-2", "-2", "-3", "-3", "-2"}},
      {"2.6", {"3", "3", "2", "3", "2", "3"}},     {"-2.6", {"-3", "-3", "-2", "-3", "-3", "-2"}},
      {"2", {"2", "2", "2", "2", "2", "2"}},       {"-2", {"-2", "-2", "-2", "-2", "-2", "-2"}},
      {"0.5", {"0", "1", "0", "1", "0", "1"}},     {"-0.5", {"0", "-1", "0", "-1", "-1", "0"}},
      {"0.000000000001", {"0", "0", "0", "1", "0", "1"}},
      {"-0.000000000001", {"0", "0", "0", "-1", "-1", "0"}},
  };
  for (const RoundCase& c : cases)
    for (int m = 0; m < 6; ++m)
      EXPECT_EQ(D(c.value).round(Decimal(1), modes[m]), D(c.expected[m])) << c.value << " mode " << m;
}

TEST(DecimalRound, RoundsToAnyPositiveUnit) {
  EXPECT_EQ(D("31.365").round(D("0.01")), D("31.36"));
  EXPECT_EQ(D("31.375").round(D("0.01")), D("31.38"));
  EXPECT_EQ(D("31.365").round(D("0.01"), RoundingMode::half_up), D("31.37"));
  EXPECT_EQ(D("0.00015").round(D("0.0001")), D("0.0002"));
  EXPECT_EQ(D("1234").round(D("100")), D("1200"));
  EXPECT_EQ(D("1250").round(D("100")), D("1200"));
  EXPECT_EQ(D("1350").round(D("100")), D("1400"));
  EXPECT_EQ(D("-1250").round(D("100"), RoundingMode::ceiling), D("-1200"));
  EXPECT_EQ(D("7").round(D("0.25"), RoundingMode::up), D("7"));
  EXPECT_EQ(D("7.1").round(D("0.25"), RoundingMode::up), D("7.25"));
  EXPECT_THROW((void)D("1").round(Decimal()), std::invalid_argument);
  EXPECT_THROW((void)D("1").round(D("-0.01")), std::invalid_argument);
  EXPECT_THROW((void)Decimal::from_raw(max128).round(Decimal(1), RoundingMode::up), OverflowError);
}

TEST(DecimalRound, HalfwayTestDoesNotOverflowForHugeUnits) {
  // Regression: the remainder was doubled before comparing it with half the unit, which
  // overflowed int128 for units above about 8.5e25.
  const Decimal unit = D("1e26");
  EXPECT_EQ(D("9e25").round(unit), unit);
  EXPECT_EQ(D("9e25").round(unit, RoundingMode::half_up), unit);
  EXPECT_EQ(D("4e25").round(unit), Decimal());
  EXPECT_EQ(D("-9e25").round(unit), -unit);
  EXPECT_EQ(D("1.5e26").round(unit, RoundingMode::down), unit);
}

TEST(DecimalRational, ConvertsBothWaysExactly) {
  EXPECT_EQ(D("0.125").to_rational(), Rational(1, 8));
  EXPECT_EQ(D("-2.5").to_rational(), Rational(-5, 2));
  EXPECT_EQ(Decimal::from_rational(Rational(1, 3), D("0.01")), D("0.33"));
  EXPECT_EQ(Decimal::from_rational(Rational(2, 3), D("0.01")), D("0.67"));
  EXPECT_EQ(Decimal::from_rational(Rational(1, 3), D("0.000000000001")), D("0.333333333333"));
  EXPECT_EQ(Decimal::from_rational(Rational(-1, 8), D("0.01")), D("-0.12"));
  EXPECT_EQ(Decimal::from_rational(Rational(-1, 8), D("0.01"), RoundingMode::half_up), D("-0.13"));
  EXPECT_EQ(Decimal::from_rational(Rational(-1, 8), D("0.01"), RoundingMode::floor), D("-0.13"));
  EXPECT_EQ(Decimal::from_rational(Rational(-1, 8), D("0.01"), RoundingMode::ceiling), D("-0.12"));
  EXPECT_EQ(Decimal::from_rational(Rational(5, 2), Decimal(1)), Decimal(2));
  EXPECT_EQ(Decimal::from_rational(Rational(7, 2), Decimal(1)), Decimal(4));
  EXPECT_EQ(Decimal::from_rational(Rational(12345, 100), D("10")), D("120"));
  EXPECT_THROW((void)Decimal::from_rational(Rational(BigInt(1) << 100), Decimal(1)), OverflowError);
  EXPECT_THROW((void)Decimal::from_rational(Rational(1), Decimal()), std::invalid_argument);
}

TEST(DecimalInt128, ToInt128AcceptsExactlyTheInt128Range) {
  const BigInt two127 = BigInt(1) << 127;
  EXPECT_EQ(apportion::to_int128(BigInt(0), "v"), 0);
  EXPECT_EQ(apportion::to_int128(BigInt(-42), "v"), -42);
  EXPECT_EQ(apportion::to_int128(two127 - 1, "v"), max128);
  EXPECT_EQ(apportion::to_int128(-two127, "v"), min128);
  EXPECT_EQ(apportion::to_int128(-two127 + 1, "v"), min128 + 1);
  EXPECT_EQ(apportion::to_int128((BigInt(1) << 64) + 5, "v"), (static_cast<int128>(1) << 64) + 5);
  EXPECT_EQ(apportion::to_int128(-(BigInt(1) << 126) - 3, "v"), -(static_cast<int128>(1) << 126) - 3);
  EXPECT_THROW(apportion::to_int128(two127, "v"), OverflowError);
  EXPECT_THROW(apportion::to_int128(-two127 - 1, "v"), OverflowError);
  EXPECT_THROW(apportion::to_int128(-(two127 + (BigInt(1) << 3)), "v"), OverflowError);
  EXPECT_THROW(apportion::to_int128(BigInt(1) << 128, "v"), OverflowError);
  EXPECT_THROW(apportion::to_int128(-(BigInt(1) << 200), "v"), OverflowError);
}

TEST(DecimalInt128, ToInt128NamesWhat) {
  try {
    apportion::to_int128(BigInt(1) << 130, "the pool");
    FAIL() << "no exception";
  } catch (const OverflowError& e) {
    EXPECT_NE(std::string(e.what()).find("the pool"), std::string::npos) << e.what();
  }
}

TEST(DecimalInt128, PrintsEveryInt128) {
  EXPECT_EQ(apportion::int128_to_string(0), "0");
  EXPECT_EQ(apportion::int128_to_string(-7), "-7");
  EXPECT_EQ(apportion::int128_to_string(max128), "170141183460469231731687303715884105727");
  EXPECT_EQ(apportion::int128_to_string(min128), "-170141183460469231731687303715884105728");
  // Each side of the 64-bit fast path.
  const int128 big = std::numeric_limits<long long>::max();
  EXPECT_EQ(apportion::int128_to_string(big), "9223372036854775807");
  EXPECT_EQ(apportion::int128_to_string(big + 1), "9223372036854775808");
  EXPECT_EQ(apportion::int128_to_string(-big - 1), "-9223372036854775808");
  EXPECT_EQ(apportion::int128_to_string(-big - 2), "-9223372036854775809");
}

// narrow_to_int128 reads the BigInt's limbs: every edge of the range, both signs.
TEST(DecimalInt128, NarrowsExactlyTheValuesThatFit) {
  const BigInt top = BigInt(1) << 127;
  EXPECT_EQ(apportion::narrow_to_int128(BigInt(0)), int128{0});
  EXPECT_EQ(apportion::narrow_to_int128(BigInt(-5)), int128{-5});
  EXPECT_EQ(apportion::narrow_to_int128(BigInt(1) << 64), int128{1} << 64);
  EXPECT_EQ(apportion::narrow_to_int128(-(BigInt(1) << 64) - 3), -(int128{1} << 64) - 3);
  EXPECT_EQ(apportion::narrow_to_int128(top - 1), max128);
  EXPECT_EQ(apportion::narrow_to_int128(-top), min128);
  EXPECT_EQ(apportion::narrow_to_int128(top), std::nullopt);
  EXPECT_EQ(apportion::narrow_to_int128(-top - 1), std::nullopt);
  EXPECT_EQ(apportion::narrow_to_int128(BigInt(1) << 128), std::nullopt);
  EXPECT_EQ(apportion::narrow_to_int128(-(BigInt(1) << 200)), std::nullopt);
  // A value that shrank keeps no stale high limb.
  BigInt shrunk = (BigInt(1) << 190) + 9;
  shrunk -= BigInt(1) << 190;
  EXPECT_EQ(apportion::narrow_to_int128(shrunk), int128{9});
}

TEST(DecimalArithmetic, IsExactAndChecked) {
  EXPECT_EQ(D("0.1") + D("0.2"), D("0.3"));
  EXPECT_EQ(D("0.1") - D("0.3"), D("-0.2"));
  EXPECT_EQ(D("1.25") * 4, Decimal(5));
  EXPECT_EQ(3 * D("0.000000000001"), D("0.000000000003"));
  EXPECT_EQ(D("1.5") * D("2.5"), D("3.75"));
  EXPECT_EQ(D("-0.000001") * D("0.000001"), D("-0.000000000001"));
  EXPECT_THROW((void)(D("0.0000001") * D("0.0000001")), apportion::PrecisionError);
  EXPECT_THROW((void)(Decimal::from_raw(max128) + D("0.000000000001")), OverflowError);
  EXPECT_THROW((void)(Decimal::from_raw(min128) - D("0.000000000001")), OverflowError);
  EXPECT_THROW((void)(-Decimal::from_raw(min128)), OverflowError);
  EXPECT_THROW((void)Decimal::from_raw(min128).abs(), OverflowError);
  EXPECT_THROW((void)(D("1e26") * 2), OverflowError);
  EXPECT_THROW((void)(D("1e14") * D("1e14")), OverflowError);
  Decimal acc;
  acc += D("2.5");
  acc -= D("0.5");
  EXPECT_EQ(acc, Decimal(2));
}

TEST(DecimalArithmetic, IntegerConstructorIsChecked) {
  EXPECT_EQ(Decimal(std::numeric_limits<std::int64_t>::max()).to_string(), "9223372036854775807");
  EXPECT_EQ(Decimal(std::numeric_limits<std::int64_t>::min()).to_string(), "-9223372036854775808");
  EXPECT_EQ(Decimal(std::numeric_limits<std::uint64_t>::max()).to_string(), "18446744073709551615");
}

TEST(DecimalCompare, OrdersByValue) {
  EXPECT_LT(D("-1"), D("-0.5"));
  EXPECT_LT(D("0.000000000001"), D("0.00000000001"));
  EXPECT_GT(D("10"), D("9.999999999999"));
  EXPECT_EQ(D("1.50"), D("1.5"));
  EXPECT_EQ(D("-2").signum(), -1);
  EXPECT_EQ(D("0").signum(), 0);
  EXPECT_EQ(D("0.1").signum(), 1);
  EXPECT_TRUE(Decimal().is_zero());
  EXPECT_EQ(D("-2.5").abs(), D("2.5"));
}

TEST(DecimalUnits, PowersOfTenAndDigits) {
  for (const char* yes : {"0.000000000001", "0.01", "1", "10", "1e20"}) EXPECT_TRUE(D(yes).is_power_of_ten()) << yes;
  for (const char* no : {"0", "-0.01", "0.02", "0.11", "20", "0.5"}) EXPECT_FALSE(D(no).is_power_of_ten()) << no;
  EXPECT_EQ(D("12").fractional_digits(), 0);
  EXPECT_EQ(D("0").fractional_digits(), 0);
  EXPECT_EQ(D("1.50").fractional_digits(), 1);
  EXPECT_EQ(D("-0.001").fractional_digits(), 3);
  EXPECT_EQ(D("0.000000000001").fractional_digits(), 12);
  EXPECT_TRUE(D("1.25").is_multiple_of(D("0.05")));
  EXPECT_TRUE(D("-1.25").is_multiple_of(D("0.25")));
  EXPECT_FALSE(D("1.25").is_multiple_of(D("0.1")));
  EXPECT_FALSE(D("1").is_multiple_of(Decimal()));
}

// multiply() and divide() give exactly what Rational's operators give, in machine integers
// where the parts fit 64 bits and through boost where they do not; results compare equal
// and have the same (reduced) numerator and denominator, so nothing reading them can tell.
TEST(DecimalRational, MultiplyAndDivideAreRationalsOperators) {
  namespace mp = boost::multiprecision;
  const BigInt big = BigInt(1) << 64;  // one past 64 bits
  const std::vector<Rational> values = {
      Rational(0), Rational(1), Rational(-1), Rational(7, 2), Rational(-7, 2), Rational(123456789, 100),
      Rational(BigInt(std::numeric_limits<std::uint64_t>::max())), Rational(1, BigInt(std::numeric_limits<std::uint64_t>::max())),
      Rational(BigInt("18446744073709551615"), BigInt("18446744073709551614")), Rational(big), Rational(1, big),
      Rational(big - 1, big), Rational(-6, 35), Rational(48, 25), Rational(BigInt(1) << 62, 3), Rational(3, BigInt(1) << 63)};
  std::uint64_t state = 12345;
  std::vector<Rational> all = values;
  for (int i = 0; i < 300; ++i) {  // random parts of every size up to 64 bits, and signs
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const std::uint64_t n = state >> (state % 64), d = (state * 2654435761ULL >> (state % 61)) | 1;
    all.push_back(Rational(BigInt(n), BigInt(d)) * (i % 3 == 0 ? -1 : 1));
  }
  for (const Rational& a : all) {
    for (const Rational& b : values) {
      const Rational product = apportion::multiply(a, b), expected = a * b;
      EXPECT_EQ(product, expected) << a << " x " << b;
      EXPECT_EQ(mp::numerator(product), mp::numerator(expected)) << a << " x " << b;
      EXPECT_EQ(mp::denominator(product), mp::denominator(expected)) << a << " x " << b;
      if (b == 0) continue;
      const Rational quotient = apportion::divide(a, b), exact = a / b;
      EXPECT_EQ(mp::numerator(quotient), mp::numerator(exact)) << a << " / " << b;
      EXPECT_EQ(mp::denominator(quotient), mp::denominator(exact)) << a << " / " << b;
    }
  }
  EXPECT_THROW(apportion::divide(Rational(1), Rational(0)), std::exception);
}

TEST(DecimalRational, FloorOf) {
  EXPECT_EQ(apportion::floor_of(Rational(7, 2)), 3);
  EXPECT_EQ(apportion::floor_of(Rational(-7, 2)), -4);
  EXPECT_EQ(apportion::floor_of(Rational(-4)), -4);
  EXPECT_EQ(apportion::floor_of(Rational(0)), 0);
}

}  // namespace
