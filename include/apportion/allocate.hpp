#pragma once
// The one rounding rule of the library: largest remainder. Exact amounts that sum to a
// whole number of units are rounded so that they still sum to it exactly.

#include <algorithm>
#include <functional>
#include <numeric>
#include <span>
#include <stdexcept>
#include <vector>

#include "apportion/decimal.hpp"

APPORTION_BEGIN_NAMESPACE

// Breaks ties between two parts (by index) whose remainders and exact amounts are equal:
// returns true when part `a` should get a leftover unit before part `b`.
using TieBreak = std::function<bool(std::size_t a, std::size_t b)>;

// Rounds exact parts to multiples of `unit` so they sum exactly to `total`, which must be
// a multiple of `unit` and the exact sum of the parts. Every part takes the floor of its
// magnitude; the units left over go one each to the parts with the largest fractional
// remainders, ties to the larger exact magnitude, then by `tie_break`, then to the lower
// index. A negative total is rounded as its absolute value and negated, so a credit splits
// exactly as the same cost would.
inline std::vector<Decimal> round_largest_remainder(std::span<const Rational> parts, Decimal total, Decimal unit,
                                                    const TieBreak& tie_break = {}) {
  if (unit.signum() <= 0) throw std::invalid_argument("allocation unit must be positive");
  if (!total.is_multiple_of(unit))
    throw std::invalid_argument("amount " + total.to_string() + " is not a multiple of the unit " + unit.to_string());
  const bool negative = total.signum() < 0;
  const std::size_t n = parts.size();
  // Every part in units over one common denominator: part_i / unit = a_i / b. Then floors,
  // remainders and their order are integer arithmetic, however many parts there are (a
  // split's parts share the denominator of pool / total weight). The exact rule either way.
  BigInt common = 1;
  for (const Rational& p : parts) {
    const BigInt& d = boost::multiprecision::denominator(p);
    if (common % d != 0) common = common / boost::multiprecision::gcd(common, d) * d;
  }
  const BigInt b = common * BigInt(unit.raw());
  std::vector<BigInt> a(n), floors(n), remainders(n);
  BigInt assigned = 0, a_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Rational& p = parts[i];
    a[i] = boost::multiprecision::numerator(p) * (common / boost::multiprecision::denominator(p)) * BigInt(Decimal::one_raw);
    a_sum += a[i];
    if (negative) a[i] = -a[i];  // magnitudes: a credit splits as the same cost would
    floors[i] = detail::divide_rounded<BigInt>(a[i], b, RoundingMode::floor);
    remainders[i] = a[i] - floors[i] * b;
    assigned += floors[i];
  }
  if (a_sum != BigInt(total.raw()) * common)
    throw std::logic_error("allocation parts do not sum to " + total.to_string());
  const BigInt total_units = BigInt((negative ? -total : total).raw() / unit.raw());
  BigInt leftover = total_units - assigned;
  if (leftover < 0 || leftover > BigInt(n)) throw std::logic_error("largest-remainder leftover out of range");
  // The parts that get a leftover unit: the first `leftover` in the order largest
  // remainder, then larger magnitude, then the tie-break, then the lower index. The order is
  // total, so the set is the same whatever std::nth_element does with equal elements.
  const auto before = [&](std::size_t x, std::size_t y) {
    if (remainders[x] != remainders[y]) return remainders[x] > remainders[y];
    if (a[x] != a[y]) return a[x] > a[y];
    if (tie_break) {
      if (tie_break(x, y)) return true;
      if (tie_break(y, x)) return false;
    }
    return x < y;
  };
  const auto k = static_cast<std::size_t>(leftover);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  if (k > 0 && k < n) std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), before);
  for (std::size_t i = 0; i < k; ++i) floors[order[i]] += 1;
  std::vector<Decimal> out;
  out.reserve(n);
  for (const BigInt& f : floors) {
    const Decimal amount = Decimal::from_raw(to_int128(f * BigInt(unit.raw()), "allocated amount"));
    out.push_back(negative ? -amount : amount);
  }
  return out;
}

// Splits `total` (a multiple of `unit`) by non-negative `weights` with the largest-remainder
// rule; ties go to the larger weight, then by `tie_break`, then to the lower index. All-zero
// weights are an error.
inline std::vector<Decimal> allocate_by_weights(Decimal total, std::span<const Rational> weights, Decimal unit,
                                                const TieBreak& tie_break = {}) {
  Rational weight_sum = 0;
  for (const Rational& w : weights) {
    if (w < 0) throw std::invalid_argument("allocation weights must not be negative");
    weight_sum += w;
  }
  if (weight_sum == 0) throw std::invalid_argument("allocation weights sum to zero");
  std::vector<Rational> parts;
  parts.reserve(weights.size());
  const Rational whole = total.to_rational();
  for (const Rational& w : weights) parts.push_back(whole * w / weight_sum);
  return round_largest_remainder(parts, total, unit, tie_break);
}

APPORTION_END_NAMESPACE
