#include "apportion/allocate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "apportion/money.hpp"

#include "printers.hpp"

namespace {

using apportion::BigInt;
using apportion::Decimal;
using apportion::int128;
using apportion::Rational;

Decimal D(const char* text) { return Decimal::parse(text); }

std::vector<Rational> rationals(std::initializer_list<int> weights) {
  std::vector<Rational> out;
  for (int w : weights) out.emplace_back(w);
  return out;
}

std::vector<std::string> texts(const std::vector<Decimal>& parts) {
  std::vector<std::string> out;
  for (Decimal d : parts) out.push_back(d.to_string());
  return out;
}

using Texts = std::vector<std::string>;

// --- Ties and the order leftover units go in -------------------------------------------

TEST(AllocateTies, LargestRemainderFirstEvenOverALargerWeight) {
  // Shares 2.7 and 7.3 units: the smaller weight has the larger remainder.
  EXPECT_EQ(texts(apportion::allocate_by_weights(Decimal(10), rationals({27, 73}), Decimal(1))), (Texts{"3", "7"}));
}

TEST(AllocateTies, EqualRemaindersGoToTheLargerWeight) {
  // Shares 1.5 and 2.5 cents: equal remainders, the larger share wins wherever it stands.
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.04"), rationals({3, 5}), D("0.01"))), (Texts{"0.01", "0.03"}));
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.04"), rationals({5, 3}), D("0.01"))), (Texts{"0.03", "0.01"}));
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("-0.04"), rationals({3, 5}), D("0.01"))),
            (Texts{"-0.01", "-0.03"}));
}

TEST(AllocateTies, ThenTheLowerIndex) {
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("1"), rationals({1, 1, 1}), D("0.01"))),
            (Texts{"0.34", "0.33", "0.33"}));
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.02"), rationals({1, 1, 1}), D("0.01"))),
            (Texts{"0.01", "0.01", "0"}));
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("-0.02"), rationals({1, 1, 1}), D("0.01"))),
            (Texts{"-0.01", "-0.01", "0"}));
}

TEST(AllocateTies, ThenTheCallersTieBreak) {
  const apportion::TieBreak last_first = [](std::size_t a, std::size_t b) { return a > b; };
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("1"), rationals({1, 1, 1}), D("0.01"), last_first)),
            (Texts{"0.33", "0.33", "0.34"}));
  // Weights 1, 2, 1, 2 over 3 cents: parts 0 and 2 tie on remainder and weight.
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.03"), rationals({1, 2, 1, 2}), D("0.01"))),
            (Texts{"0.01", "0.01", "0", "0.01"}));
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.03"), rationals({1, 2, 1, 2}), D("0.01"), last_first)),
            (Texts{"0", "0.01", "0.01", "0.01"}));
  // The tie-break is consulted only after the weight.
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.04"), rationals({5, 3}), D("0.01"), last_first)),
            (Texts{"0.03", "0.01"}));
}

TEST(AllocateTies, ThenTheLowerIndexWhereTheTieBreakSeesNoDifference) {
  // A tie-break that orders only some parts (here: odd indexes first) leaves the rest to
  // the index, so the result never depends on how the sort treats equal elements.
  const apportion::TieBreak odd_first = [](std::size_t a, std::size_t b) { return a % 2 == 1 && b % 2 == 0; };
  const std::vector<Rational> weights(100, Rational(1));
  const auto parts = apportion::allocate_by_weights(D("0.80"), weights, D("0.01"), odd_first);
  // 80 cents over 100 parts: 50 odd parts, then the 30 lowest even indexes.
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool gets_a_cent = i % 2 == 1 || i < 60;
    EXPECT_EQ(parts[i], gets_a_cent ? D("0.01") : Decimal()) << "part " << i;
  }
  const apportion::TieBreak indifferent = [](std::size_t, std::size_t) { return false; };
  const auto plain = apportion::allocate_by_weights(D("0.30"), weights, D("0.01"), indifferent);
  for (std::size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plain[i], i < 30 ? D("0.01") : Decimal()) << "part " << i;
}

TEST(AllocateTies, ZeroWeightsGetNothing) {
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.01"), rationals({0, 1, 0, 1}), D("0.01"))),
            (Texts{"0", "0.01", "0", "0"}));
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0"), rationals({0, 1}), D("0.01"))), (Texts{"0", "0"}));
}

TEST(RoundLargestRemainder, RoundsExactParts) {
  const std::vector<Rational> parts = {Rational(1, 3), Rational(1, 3), Rational(1, 3)};
  EXPECT_EQ(texts(apportion::round_largest_remainder(parts, Decimal(1), D("0.01"))), (Texts{"0.34", "0.33", "0.33"}));
  const std::vector<Rational> credit = {Rational(-1, 6), Rational(-5, 6)};
  EXPECT_EQ(texts(apportion::round_largest_remainder(credit, Decimal(-1), D("0.1"))), (Texts{"-0.2", "-0.8"}));
  EXPECT_TRUE(apportion::round_largest_remainder({}, Decimal(), D("0.01")).empty());
}

TEST(RoundLargestRemainder, RefusesInconsistentInput) {
  const std::vector<Rational> parts = {Rational(1, 2), Rational(1, 2)};
  EXPECT_THROW(apportion::round_largest_remainder(parts, Decimal(2), D("0.01")), std::logic_error);
  EXPECT_THROW(apportion::round_largest_remainder(parts, Decimal(1), Decimal()), std::invalid_argument);
  EXPECT_THROW(apportion::round_largest_remainder(parts, Decimal(1), D("-0.01")), std::invalid_argument);
  EXPECT_THROW(apportion::round_largest_remainder(parts, D("1.005"), D("0.01")), std::invalid_argument);
  EXPECT_THROW(apportion::round_largest_remainder({}, D("0.01"), D("0.01")), std::logic_error);
}

// Parts whose units fit in int128 round there; the rest in BigInt. Both give the same parts,
// and parts beyond int128 (a denominator of 10^30) still round by the rule.
TEST(RoundLargestRemainder, MachineIntegersAndBigIntegersAgree) {
  std::mt19937_64 rng(7);
  for (int c = 0; c < 300; ++c) {
    const std::size_t n = 1 + rng() % 40;
    std::vector<Rational> weights;
    Rational weight_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      weights.emplace_back(BigInt(rng() % (c % 2 ? 5 : 1'000'000'000)), BigInt(1 + rng() % 1000));
      weight_sum += weights.back();
    }
    if (weight_sum == 0) continue;
    const Decimal unit = c % 3 ? D("0.01") : D("0.000001");
    const Decimal total = Decimal::from_raw(static_cast<int128>(rng() % 1'000'000'000) * unit.raw() * (c % 4 ? 1 : -1));
    std::vector<Rational> parts;
    BigInt common = 1;
    for (const Rational& w : weights) {
      parts.push_back(total.to_rational() * w / weight_sum);
      const BigInt& d = boost::multiprecision::denominator(parts.back());
      common = common / boost::multiprecision::gcd(common, d) * d;
    }
    const auto small = apportion::detail::round_units<int128>(parts, common, total, unit, {});
    const auto big = apportion::detail::round_units<BigInt>(parts, common, total, unit, {});
    ASSERT_TRUE(big);
    if (small) EXPECT_EQ(texts(*small), texts(*big)) << "case " << c;
    EXPECT_EQ(texts(apportion::round_largest_remainder(parts, total, unit)), texts(*big)) << "case " << c;
  }
  const BigInt huge("1000000000000000000000000000000");  // 10^30: beyond int128 once in units
  const std::vector<Rational> parts = {Rational(huge / 3, huge), Rational(huge - huge / 3, huge)};
  EXPECT_FALSE(apportion::detail::round_units<int128>(parts, huge, Decimal(1), D("0.01"), {}));
  EXPECT_EQ(texts(apportion::round_largest_remainder(parts, Decimal(1), D("0.01"))), (Texts{"0.33", "0.67"}));
}

TEST(AllocateByWeights, RefusesBadWeights) {
  EXPECT_THROW(apportion::allocate_by_weights(D("1"), rationals({0, 0}), D("0.01")), std::invalid_argument);
  EXPECT_THROW(apportion::allocate_by_weights(D("1"), {}, D("0.01")), std::invalid_argument);
  EXPECT_THROW(apportion::allocate_by_weights(D("1"), rationals({2, -1}), D("0.01")), std::invalid_argument);
  EXPECT_THROW(apportion::allocate_by_weights(D("0.015"), rationals({1, 1}), D("0.01")), std::invalid_argument);
}

TEST(AllocateByWeights, TakesRationalWeights) {
  const std::vector<Rational> w = {Rational(1, 3), Rational(2, 3)};
  EXPECT_EQ(texts(apportion::allocate_by_weights(D("0.10"), w, D("0.01"))), (Texts{"0.03", "0.07"}));
}

// --- Properties over random cases ------------------------------------------------------
//
// Every case checks, in exact integer arithmetic with everything in units of `unit`:
//  * the parts are whole units and sum exactly to the total;
//  * each part is within one unit of its exact share (so it is the floor or the ceiling);
//  * the parts that were rounded up are exactly the largest remainders: every part rounded
//    up ranks above every part rounded down by (remainder, weight, lower index).

struct Property {
  std::mt19937_64 rng;
  std::int64_t cases = 0;

  explicit Property(std::uint64_t seed) : rng(seed) {}

  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }

  // A total in minor units: any magnitude up to 10^15, a third of them negative.
  std::int64_t units() {
    std::int64_t bound = 1;
    for (std::int64_t d = uniform(0, 15); d > 0; --d) bound *= 10;
    const std::int64_t u = uniform(0, bound);
    return uniform(0, 2) == 0 ? -u : u;
  }

  // Weights as exact decimals, held here as raw integers (a common scale of 10^-12).
  // Zeros, small integers (which tie often) and large values with many digits.
  std::vector<std::int64_t> weights(std::size_t n) {
    std::vector<std::int64_t> w(n);
    const int style = static_cast<int>(uniform(0, 2));
    for (auto& x : w) {
      const std::int64_t pick = uniform(0, 9);
      if (pick < 2) {
        x = 0;
      } else if (style == 0 || pick < 5) {
        x = uniform(1, 10) * 1'000'000'000'000;
      } else {
        x = uniform(1, 1'000'000'000'000'000'000);
      }
    }
    if (std::all_of(w.begin(), w.end(), [](std::int64_t x) { return x == 0; })) w[uniform(0, n - 1)] = 1;
    return w;
  }

  Decimal unit() {
    static const Decimal units[] = {D("0.01"), Decimal(1), D("0.001"), D("0.000001"), Decimal(10)};
    return units[uniform(0, 4)];
  }

  // Splits `t` units of `unit` by weights `w` and checks every property; returns false on
  // the first failure, with a gtest failure describing the case.
  bool check(std::int64_t t, const std::vector<std::int64_t>& w, Decimal unit, const std::vector<Decimal>& parts) {
    ++cases;
    const auto where = [&] {
      std::ostringstream s;
      s << "total " << t << " units of " << unit.to_string() << ", weights";
      for (std::size_t i = 0; i < w.size() && i < 12; ++i) s << ' ' << w[i];
      if (w.size() > 12) s << " ... (" << w.size() << " parts)";
      return s.str();
    };
    if (parts.size() != w.size()) {
      ADD_FAILURE() << "wrong number of parts: " << where();
      return false;
    }
    int128 weight_sum = 0;
    for (std::int64_t x : w) weight_sum += x;
    const int128 magnitude = t < 0 ? -static_cast<int128>(t) : t;
    int128 sum = 0;
    // Rank keys (remainder numerator, weight, -index) of the parts rounded up and down.
    using Key = std::tuple<int128, std::int64_t, std::int64_t>;
    Key lowest_up{0, 0, 0};
    Key highest_down{-1, 0, 0};
    bool any_up = false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
      if (!parts[i].is_multiple_of(unit)) {
        ADD_FAILURE() << "part " << i << " = " << parts[i].to_string() << " is not whole units: " << where();
        return false;
      }
      const int128 p = parts[i].raw() / unit.raw();
      if ((t < 0 && p > 0) || (t > 0 && p < 0)) {
        ADD_FAILURE() << "part " << i << " has the wrong sign: " << where();
        return false;
      }
      sum += p;
      // Exact share in units is magnitude * w / weight_sum; compare numerators over weight_sum.
      const int128 share_num = magnitude * w[i];
      const int128 part_num = (p < 0 ? -p : p) * weight_sum;
      const int128 diff = part_num - share_num;
      if (diff <= -weight_sum || diff >= weight_sum) {
        ADD_FAILURE() << "part " << i << " = " << parts[i].to_string() << " is a unit or more from its share: "
                      << where();
        return false;
      }
      const int128 remainder = share_num % weight_sum;
      const Key key{remainder, w[i], -static_cast<std::int64_t>(i)};
      if (diff > 0) {
        if (!any_up || key < lowest_up) lowest_up = key;
        any_up = true;
      } else if (remainder != 0 && key > highest_down) {
        highest_down = key;
      }
    }
    if (sum != t) {
      ADD_FAILURE() << "parts sum to " << apportion::int128_to_string(sum) << " units: " << where();
      return false;
    }
    if (any_up && !(highest_down < lowest_up)) {
      ADD_FAILURE() << "a leftover unit went past a larger remainder: " << where();
      return false;
    }
    return true;
  }

  // Runs `count` cases of n parts, n drawn from [min_parts, max_parts].
  void run(int count, std::int64_t min_parts, std::int64_t max_parts) {
    for (int c = 0; c < count; ++c) {
      const std::size_t n = static_cast<std::size_t>(uniform(min_parts, max_parts));
      const std::int64_t t = units();
      const std::vector<std::int64_t> w = weights(n);
      const Decimal unit_ = unit();
      std::vector<Rational> exact;
      exact.reserve(n);
      for (std::int64_t x : w) exact.emplace_back(x);
      const Decimal total = Decimal::from_raw(static_cast<int128>(t) * unit_.raw());
      if (!check(t, w, unit_, apportion::allocate_by_weights(total, exact, unit_))) return;
    }
  }
};

// Under AddressSanitizer a case runs about ten times slower: the sanitizer run (CI) checks
// a quarter of the cases for memory errors; the plain build checks them all.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kCases = 4;
#else
constexpr int kCases = 1;
#endif

TEST(AllocateProperty, FewParts) {
  Property p(20260602);
  p.run(350'000 / kCases, 1, 5);
  EXPECT_EQ(p.cases, 350'000 / kCases);
}

TEST(AllocateProperty, TensOfParts) {
  Property p(31);
  p.run(6'000 / kCases, 6, 100);
  EXPECT_EQ(p.cases, 6'000 / kCases);
}

TEST(AllocateProperty, ThousandsOfParts) {
  Property p(3136);
  p.run(20 / kCases, 1'000, 10'000);
  EXPECT_EQ(p.cases, 20 / kCases);
}

// Money::allocate takes decimal weights; the same properties hold through it.
TEST(AllocateProperty, MoneyAllocate) {
  Property p(392);
  const apportion::Currency currencies[] = {apportion::Currency("USD"), apportion::Currency("JPY"),
                                            apportion::Currency("KWD")};
  for (int c = 0; c < 20'000 / kCases; ++c) {
    const auto n = static_cast<std::size_t>(p.uniform(1, 12));
    const apportion::Currency currency = currencies[p.uniform(0, 2)];
    const std::int64_t t = p.units();
    const std::vector<std::int64_t> w = p.weights(n);
    std::vector<Decimal> weights;
    for (std::int64_t x : w) weights.push_back(Decimal::from_raw(x));
    const apportion::Money money(Decimal::from_raw(static_cast<int128>(t) * currency.minor_unit().raw()), currency);
    std::vector<Decimal> parts;
    for (const apportion::Money& m : money.allocate(weights)) {
      ASSERT_EQ(m.currency(), currency);
      parts.push_back(m.amount());
    }
    if (!p.check(t, w, currency.minor_unit(), parts)) return;
  }
  EXPECT_EQ(p.cases, 20'000 / kCases);
}

}  // namespace
