#include "apportion/quantity.hpp"

#include <gtest/gtest.h>

#include <type_traits>

#include "printers.hpp"

namespace {

using apportion::CpuCoreSeconds;
using apportion::Decimal;
using apportion::GibSeconds;
using apportion::GpuSeconds;
using apportion::ParseError;
using apportion::Rational;
using apportion::Requests;
using apportion::Tokens;

template <class A, class B>
concept Addable = requires(A a, B b) { a + b; };

static_assert(!std::is_constructible_v<GpuSeconds, double>, "quantities are never built from a binary float");
static_assert(!std::is_constructible_v<Tokens, double>);
static_assert(!std::is_convertible_v<Decimal, GpuSeconds>, "a bare decimal has no unit");
static_assert(!std::is_convertible_v<int, Tokens>);
static_assert(Addable<GpuSeconds, GpuSeconds>);
static_assert(!Addable<GpuSeconds, Tokens>, "GPU-seconds and tokens never add");
static_assert(!Addable<GpuSeconds, CpuCoreSeconds>, "GPU-seconds and CPU-core-seconds never add");
static_assert(!Addable<Tokens, Requests>);
static_assert(!Addable<GpuSeconds, Decimal>);

TEST(Quantity, HoursAreExact) {
  EXPECT_EQ(GpuSeconds(5400).hours(), Rational(3, 2));
  EXPECT_EQ(GpuSeconds(1).hours(), Rational(1, 3600));
  EXPECT_EQ(GpuSeconds::parse("8294400").hours(), Rational(2304));
  EXPECT_EQ(GpuSeconds::parse("0.000000000001").hours(), Rational(1, 3'600'000'000'000'000));
  // A 40-minute run of 8 GPUs at 3.92 per GPU-hour costs 20.9066..., exactly 1568/75.
  EXPECT_EQ(GpuSeconds::parse("2400").hours() * 8 * Rational(392, 100), Rational(1568, 75));
  EXPECT_EQ(CpuCoreSeconds(90).minutes(), Rational(3, 2));
  EXPECT_EQ(GibSeconds::parse("-3600").hours(), Rational(-1));
}

TEST(Quantity, FromHoursIsExact) {
  EXPECT_EQ(GpuSeconds::from_hours(Decimal::parse("1.5")), GpuSeconds(5400));
  EXPECT_EQ(GpuSeconds::from_hours(Decimal::parse("0.000000000001")).value(), Decimal::parse("0.0000000036"));
  EXPECT_EQ(GpuSeconds::from_hours(Decimal::parse("248")).hours(), Rational(248));
}

TEST(Quantity, ArithmeticStaysInItsUnit) {
  GpuSeconds a = GpuSeconds::parse("1.5");
  const GpuSeconds b(2);
  const GpuSeconds sum = a + b;
  EXPECT_EQ(sum.value(), Decimal::parse("3.5"));
  EXPECT_EQ((b - a).value(), Decimal::parse("0.5"));
  EXPECT_EQ((a * 4).value(), Decimal(6));
  a += b;
  EXPECT_EQ(a, sum);
  EXPECT_LT(b, a);
  EXPECT_EQ(a.to_string(), "3.5");
  const Tokens t = Tokens(4'000'000) + Tokens::parse("1.5e6");
  EXPECT_EQ(t.millions(), Rational(11, 2));
  EXPECT_EQ((Requests(3) + Requests(4)).value(), Decimal(7));
}

TEST(Quantity, ParsesLikeDecimal) {
  EXPECT_EQ(Tokens::parse("1.5e-07").value().raw(), 150'000);
  EXPECT_THROW(Tokens::parse("NaN"), ParseError);
  EXPECT_THROW(GpuSeconds::parse("1."), ParseError);
  EXPECT_THROW(Requests::parse(""), ParseError);
  EXPECT_EQ(Requests::parse("12").value(), Decimal(12));
}

}  // namespace
