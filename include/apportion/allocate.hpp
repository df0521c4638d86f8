#pragma once
// The one rounding rule of the library: largest remainder. Exact amounts that sum to a
// whole number of units are rounded so that they still sum to it exactly.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "apportion/decimal.hpp"

APPORTION_BEGIN_NAMESPACE

// Breaks ties between two parts (by index) whose remainders and exact amounts are equal:
// returns true when part `a` should get a leftover unit before part `b`.
using TieBreak = std::function<bool(std::size_t a, std::size_t b)>;

// What decides between equal remainders first: the larger exact amount (a split's lines),
// or only the tie break and the index (a pool's buckets, earliest first, whatever their
// amounts: docs/spec.md, "Series").
enum class RemainderTies { larger_amount_first, in_order };

namespace detail {

// The integer arithmetic of the rounding below, in BigInt or (when every value fits) in
// int128: a step of many lines rounds in machine integers, with the same result.
inline std::optional<BigInt> narrow_to(const BigInt& v, BigInt*) { return v; }
inline std::optional<int128> narrow_to(const BigInt& v, int128*) { return narrow_to_int128(v); }
template <class Int>
bool multiply(const Int& a, const Int& b, Int& out) {
  if constexpr (std::is_same_v<Int, BigInt>) return out = a * b, true;
  else return !__builtin_mul_overflow(a, b, &out);
}
template <class Int>
bool add(const Int& a, const Int& b, Int& out) {
  if constexpr (std::is_same_v<Int, BigInt>) return out = a + b, true;
  else return !__builtin_add_overflow(a, b, &out);
}
template <class Int>
bool negate(Int& v) {
  if constexpr (std::is_same_v<Int, BigInt>) return v = -v, true;
  else return !__builtin_sub_overflow(Int{0}, v, &v);
}

// The rule itself, on parts a_i / b units (b > 0) that sum to `units` whole units: every
// part takes its floor, and the units left over go one each to the largest remainders,
// ties to the larger a_i, then by `tie_break`, then to the lower index. The order is total,
// so the parts chosen are the same whatever std::nth_element does with equal elements.
// Every caller rounds through here: the exact split and the columnar one alike.
template <class Int>
std::vector<Int> largest_remainder_units(std::span<const Int> a, const Int& b, const Int& units, const TieBreak& tie_break,
                                         RemainderTies ties = RemainderTies::larger_amount_first) {
  const std::size_t n = a.size();
  std::vector<Int> floors(n), remainders(n);
  Int assigned = 0;
  for (std::size_t i = 0; i < n; ++i) {
    floors[i] = divide_rounded<Int>(a[i], b, RoundingMode::floor);
    remainders[i] = a[i] - floors[i] * b;
    assigned += floors[i];
  }
  const Int leftover = units - assigned;
  if (leftover < 0 || leftover > Int(n)) throw std::logic_error("largest-remainder leftover out of range");
  const auto before = [&](std::size_t x, std::size_t y) {
    if (remainders[x] != remainders[y]) return remainders[x] > remainders[y];
    if (ties == RemainderTies::larger_amount_first && a[x] != a[y]) return a[x] > a[y];
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
  return floors;
}

// round_largest_remainder in `Int`; none when a value does not fit in it.
template <class Int>
std::optional<std::vector<Decimal>> round_units(std::span<const Rational> parts, const BigInt& common_denominator,
                                                Decimal total, Decimal unit, const TieBreak& tie_break,
                                                RemainderTies ties = RemainderTies::larger_amount_first) {
  namespace mp = boost::multiprecision;
  const bool negative = total.signum() < 0;
  const std::size_t n = parts.size();
  const auto common = narrow_to(common_denominator, static_cast<Int*>(nullptr));
  Int b;
  if (!common || !multiply<Int>(*common, Int(unit.raw()), b)) return std::nullopt;
  // Every part in units over the common denominator: part_i / unit = a_i / b.
  std::vector<Int> a(n);
  Int a_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Rational& p = parts[i];
    const auto numerator = narrow_to(mp::numerator(p), static_cast<Int*>(nullptr));
    const BigInt& d = mp::denominator(p);
    std::optional<Int> scale;
    if constexpr (std::is_same_v<Int, int128>) {  // a machine division when both fit
      if (const auto small_d = narrow_to_int128(d)) scale = *common / *small_d;
    }
    if (!scale) scale = d == common_denominator ? std::optional<Int>(1) : narrow_to(common_denominator / d, static_cast<Int*>(nullptr));
    if (!numerator || !scale || !multiply<Int>(*numerator, *scale, a[i]) ||
        !multiply<Int>(a[i], Int(Decimal::one_raw), a[i]) || !add<Int>(a_sum, a[i], a_sum))
      return std::nullopt;
    // Magnitudes: a credit splits as the same cost would. A part within b of the int128
    // range could overflow its floor's product: BigInt takes it.
    if (negative && !negate<Int>(a[i])) return std::nullopt;
    Int margin;
    if (!add<Int>(a[i] < 0 ? a[i] : -a[i], -b, margin)) return std::nullopt;
  }
  Int expected;
  if (!multiply<Int>(Int(total.raw()), *common, expected)) return std::nullopt;
  if (a_sum != expected) throw std::logic_error("allocation parts do not sum to " + total.to_string());
  const std::vector<Int> floors =
      largest_remainder_units<Int>(a, b, Int((negative ? -total : total).raw() / unit.raw()), tie_break, ties);
  std::vector<Decimal> out;
  out.reserve(n);
  for (const Int& f : floors) {
    Int amount;
    if (!multiply<Int>(f, Int(unit.raw()), amount)) return std::nullopt;
    Decimal d;
    if constexpr (std::is_same_v<Int, BigInt>) d = Decimal::from_raw(to_int128(amount, "allocated amount"));
    else d = Decimal::from_raw(amount);
    out.push_back(negative ? -d : d);
  }
  return out;
}

}  // namespace detail

// Rounds exact parts to multiples of `unit` so they sum exactly to `total`, which must be
// a multiple of `unit` and the exact sum of the parts. Every part takes the floor of its
// magnitude; the units left over go one each to the parts with the largest fractional
// remainders, ties to the larger exact magnitude, then by `tie_break`, then to the lower
// index (`ties` in_order: by `tie_break`, then index, without the magnitudes). A negative
// total is rounded as its absolute value and negated, so a credit splits exactly as the
// same cost would.
inline std::vector<Decimal> round_largest_remainder(std::span<const Rational> parts, Decimal total, Decimal unit,
                                                    const TieBreak& tie_break = {},
                                                    RemainderTies ties = RemainderTies::larger_amount_first) {
  if (unit.signum() <= 0) throw std::invalid_argument("allocation unit must be positive");
  if (!total.is_multiple_of(unit))
    throw std::invalid_argument("amount " + total.to_string() + " is not a multiple of the unit " + unit.to_string());
  // Every part over one common denominator, so that floors, remainders and their order are
  // integer arithmetic, however many parts there are (a split's parts share the denominator
  // of pool / total weight). In int128 when everything fits, else in BigInt: the same rule.
  // The least common multiple in machine integers while it fits 64 bits (a split's lines
  // nearly always), then in BigInt.
  BigInt common = 1;
  std::uint64_t small_common = 1;
  bool small = true;
  for (const Rational& p : parts) {
    const BigInt& d = boost::multiprecision::denominator(p);
    if (small) {
      if (const auto small_d = narrow_to_int128(d); small_d && *small_d <= int128(UINT64_MAX)) {
        const auto d64 = static_cast<std::uint64_t>(*small_d);
        if (small_common % d64 == 0) continue;
        const std::uint64_t step = d64 / std::gcd(small_common, d64);
        std::uint64_t next;
        if (!__builtin_mul_overflow(small_common, step, &next)) {
          small_common = next;
          continue;
        }
      }
      small = false;
      common = BigInt(small_common);
    }
    if (d != common && common % d != 0) common = common / boost::multiprecision::gcd(common, d) * d;
  }
  if (small) common = BigInt(small_common);
  if (auto fast = detail::round_units<int128>(parts, common, total, unit, tie_break, ties)) return std::move(*fast);
  return *detail::round_units<BigInt>(parts, common, total, unit, tie_break, ties);
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
