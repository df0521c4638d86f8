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
  const Rational unit_r = unit.to_rational();
  std::vector<BigInt> floors(parts.size());
  std::vector<Rational> remainders(parts.size());
  std::vector<Rational> magnitudes(parts.size());
  BigInt assigned = 0;
  Rational exact_sum = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    exact_sum += parts[i];
    magnitudes[i] = negative ? Rational(-parts[i]) : parts[i];
    const Rational units = magnitudes[i] / unit_r;
    floors[i] = floor_of(units);
    remainders[i] = units - Rational(floors[i]);
    assigned += floors[i];
  }
  if (exact_sum != total.to_rational())
    throw std::logic_error("allocation parts sum to " + exact_sum.str() + ", not to " + total.to_string());
  const BigInt total_units = BigInt((negative ? -total : total).raw() / unit.raw());
  BigInt leftover = total_units - assigned;
  if (leftover < 0 || leftover > BigInt(parts.size()))
    throw std::logic_error("largest-remainder leftover out of range");
  std::vector<std::size_t> order(parts.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (remainders[a] != remainders[b]) return remainders[a] > remainders[b];
    if (magnitudes[a] != magnitudes[b]) return magnitudes[a] > magnitudes[b];
    // The index settles what the tie-break leaves equal, so the order is total and the
    // result never depends on how std::sort treats equivalent elements.
    if (tie_break) {
      if (tie_break(a, b)) return true;
      if (tie_break(b, a)) return false;
    }
    return a < b;
  });
  for (std::size_t k = 0; leftover > 0; ++k, --leftover) floors[order[k]] += 1;
  std::vector<Decimal> out;
  out.reserve(parts.size());
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
