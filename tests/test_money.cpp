#include "apportion/money.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "printers.hpp"

namespace {

using apportion::Currency;
using apportion::CurrencyMismatch;
using apportion::Decimal;
using apportion::Money;
using apportion::ParseError;
using apportion::RoundingMode;

Decimal D(const char* text) { return Decimal::parse(text); }

static_assert(!std::is_constructible_v<Money, double, Currency>, "money is never built from a binary float");
static_assert(!std::is_constructible_v<Money, float, Currency>, "money is never built from a binary float");
static_assert(std::is_constructible_v<Money, Decimal, Currency>);
static_assert(!std::is_convertible_v<const char*, Currency>, "a currency code is checked explicitly");

std::vector<std::string> texts(const std::vector<Money>& parts) {
  std::vector<std::string> out;
  for (const Money& m : parts) out.push_back(m.to_fixed());
  return out;
}

TEST(Currency, KnowsMinorUnits) {
  EXPECT_EQ(Currency("USD").minor_digits(), 2);
  EXPECT_EQ(Currency("USD").minor_unit(), D("0.01"));
  EXPECT_EQ(Currency("EUR").minor_digits(), 2);
  EXPECT_EQ(Currency("JPY").minor_digits(), 0);
  EXPECT_EQ(Currency("JPY").minor_unit(), Decimal(1));
  EXPECT_EQ(Currency("KWD").minor_digits(), 3);
  EXPECT_EQ(Currency("KWD").minor_unit(), D("0.001"));
  EXPECT_EQ(Currency("CLF").minor_unit(), D("0.0001"));
  EXPECT_EQ(Currency().code(), "USD");
  EXPECT_EQ(Currency("EUR").code(), "EUR");
}

TEST(Currency, RejectsUnknownCodes) {
  for (const char* bad : {"XYZ", "usd", "", "US", "USDX", "XAU", "XXX", "BGN", "HRK", " USD"})
    EXPECT_THROW(Currency{bad}, ParseError) << '"' << bad << '"';
  EXPECT_THROW(Money::parse("1", "ABC"), ParseError);
}

TEST(Currency, ComparesByCode) {
  EXPECT_EQ(Currency("USD"), Currency());
  EXPECT_NE(Currency("USD"), Currency("EUR"));
}

TEST(Money, ParsesExactlyAndPrints) {
  const Money m = Money::parse("12.50");
  EXPECT_EQ(m.amount(), D("12.5"));
  EXPECT_EQ(m.currency(), Currency("USD"));
  EXPECT_EQ(m.to_string(), "12.5");
  EXPECT_EQ(m.to_fixed(), "12.50");
  EXPECT_EQ(Money::parse("1.5e-07").to_string(), "0.00000015");
  EXPECT_EQ(Money::parse("-3", "EUR").to_fixed(), "-3.00");
  EXPECT_EQ(Money::parse(Money::parse("0.125").to_string()), Money::parse("0.125"));
  EXPECT_THROW(Money::parse("NaN"), ParseError);
  EXPECT_THROW(Money::parse("1.0000000000001"), ParseError);
  std::ostringstream os;
  os << Money::parse("31.36");
  EXPECT_EQ(os.str(), "31.36 USD");
}

TEST(Money, ToFixedUsesTheCurrencyDigits) {
  EXPECT_EQ(Money::parse("1234.5", "JPY").to_fixed(), "1234");
  EXPECT_EQ(Money::parse("1235.5", "JPY").to_fixed(), "1236");
  EXPECT_EQ(Money::parse("0.4", "JPY").to_fixed(), "0");
  EXPECT_EQ(Money::zero(Currency("JPY")).to_fixed(), "0");
  EXPECT_EQ(Money::parse("1.2345", "KWD").to_fixed(), "1.234");
  EXPECT_EQ(Money::parse("1.2355", "KWD").to_fixed(), "1.236");
  EXPECT_EQ(Money::parse("2", "KWD").to_fixed(), "2.000");
  EXPECT_EQ(Money::zero().to_fixed(), "0.00");
}

TEST(Money, RoundsToTheMinorUnitHalfEvenByDefault) {
  EXPECT_EQ(Money::parse("0.125").round(), Money::parse("0.12"));
  EXPECT_EQ(Money::parse("0.135").round(), Money::parse("0.14"));
  EXPECT_EQ(Money::parse("0.125").round(RoundingMode::half_up), Money::parse("0.13"));
  EXPECT_EQ(Money::parse("-0.125").round(RoundingMode::floor), Money::parse("-0.13"));
  EXPECT_EQ(Money::parse("2.5", "JPY").round(), Money::parse("2", "JPY"));
  EXPECT_EQ(Money::parse("3.5", "JPY").round(), Money::parse("4", "JPY"));
  EXPECT_EQ(Money::parse("1.0005", "KWD").round(), Money::parse("1", "KWD"));
  EXPECT_EQ(Money::parse("1.0015", "KWD").round(), Money::parse("1.002", "KWD"));
  EXPECT_EQ(Money::parse("31.3649").round(D("0.0001")), Money::parse("31.3649"));
  EXPECT_EQ(Money::parse("1234").round(D("100")), Money::parse("1200"));
  EXPECT_EQ(Money::parse("1.2", "EUR").round().currency(), Currency("EUR"));
}

TEST(Money, ArithmeticKeepsTheCurrency) {
  const Money a = Money::parse("10.10", "EUR");
  const Money b = Money::parse("0.05", "EUR");
  EXPECT_EQ(a + b, Money::parse("10.15", "EUR"));
  EXPECT_EQ(a - b, Money::parse("10.05", "EUR"));
  EXPECT_EQ(-a, Money::parse("-10.10", "EUR"));
  EXPECT_EQ(b * 3, Money::parse("0.15", "EUR"));
  Money acc = Money::zero(Currency("EUR"));
  acc += a;
  acc -= b;
  EXPECT_EQ(acc, Money::parse("10.05", "EUR"));
  EXPECT_LT(b, a);
  EXPECT_GT(a, b);
}

TEST(Money, MixingCurrenciesThrows) {
  const Money usd = Money::parse("1");
  const Money eur = Money::parse("1", "EUR");
  EXPECT_THROW((void)(usd + eur), CurrencyMismatch);
  EXPECT_THROW((void)(usd - eur), CurrencyMismatch);
  EXPECT_THROW((void)(usd < eur), CurrencyMismatch);
  EXPECT_THROW((void)(usd <=> eur), CurrencyMismatch);
  Money acc = usd;
  EXPECT_THROW(acc += eur, CurrencyMismatch);
  EXPECT_EQ(acc, usd);
  // Equality is defined across currencies: different currencies are simply not equal.
  EXPECT_FALSE(usd == eur);
  try {
    (void)(usd + eur);
  } catch (const CurrencyMismatch& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("USD"), std::string::npos) << what;
    EXPECT_NE(what.find("EUR"), std::string::npos) << what;
  }
}

TEST(Money, AllocateSplitsIntoMinorUnitsThatSumExactly) {
  const std::vector<Decimal> thirds = {Decimal(1), Decimal(1), Decimal(1)};
  EXPECT_EQ(texts(Money::parse("100").allocate(thirds)), (std::vector<std::string>{"33.34", "33.33", "33.33"}));
  EXPECT_EQ(texts(Money::parse("-1").allocate(thirds)), (std::vector<std::string>{"-0.34", "-0.33", "-0.33"}));
  EXPECT_EQ(texts(Money::parse("100", "JPY").allocate(thirds)), (std::vector<std::string>{"34", "33", "33"}));
  EXPECT_EQ(texts(Money::parse("1", "KWD").allocate(thirds)), (std::vector<std::string>{"0.334", "0.333", "0.333"}));
  const std::vector<Decimal> weights = {D("0.7"), Decimal(), D("0.3")};
  const auto parts = Money::parse("0.05", "EUR").allocate(weights);
  EXPECT_EQ(texts(parts), (std::vector<std::string>{"0.04", "0.00", "0.01"}));
  for (const Money& m : parts) EXPECT_EQ(m.currency(), Currency("EUR"));
}

TEST(Money, AllocateToAFinerUnitAndWithATieBreak) {
  const std::vector<Decimal> even = {Decimal(1), Decimal(1), Decimal(1)};
  const auto parts = Money::parse("1").allocate(even, D("0.0001"));
  EXPECT_EQ(parts[0].amount(), D("0.3334"));
  EXPECT_EQ(parts[1].amount(), D("0.3333"));
  // The last part first: a caller's own order for exact ties.
  const auto reversed = Money::parse("1").allocate(even, D("0.01"), [](std::size_t a, std::size_t b) { return a > b; });
  EXPECT_EQ(texts(reversed), (std::vector<std::string>{"0.33", "0.33", "0.34"}));
}

TEST(Money, AllocateRefusesWhatItCannotSplitExactly) {
  const std::vector<Decimal> w = {Decimal(1), Decimal(2)};
  EXPECT_THROW(Money::parse("0.005").allocate(w), std::invalid_argument);  // not a whole number of cents
  EXPECT_THROW(Money::parse("0.5", "JPY").allocate(w), std::invalid_argument);
  const std::vector<Decimal> zero = {Decimal(), Decimal()};
  EXPECT_THROW(Money::parse("1").allocate(zero), std::invalid_argument);
  const std::vector<Decimal> negative = {Decimal(1), D("-1")};
  EXPECT_THROW(Money::parse("1").allocate(negative), std::invalid_argument);
}

}  // namespace
