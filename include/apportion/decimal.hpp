#pragma once
// Exact decimal numbers: a fixed-point value on a 128-bit integer with 12 fractional
// digits, and exact rationals for the divisions an allocation needs. No binary floating
// point is involved anywhere: text is read digit by digit and every operation is checked.

#include <boost/multiprecision/cpp_int.hpp>

#include <compare>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "apportion/config.hpp"
#include "apportion/errors.hpp"

APPORTION_BEGIN_NAMESPACE

__extension__ typedef __int128 int128;  // __extension__ keeps -Wpedantic quiet about __int128
__extension__ typedef unsigned __int128 uint128;

// Arbitrary-precision integers and exact fractions, for intermediate results. Expression
// templates are off so `auto x = a * b` holds a value, never a dangling expression.
using BigInt = boost::multiprecision::number<boost::multiprecision::cpp_int_backend<>, boost::multiprecision::et_off>;
using Rational = boost::multiprecision::number<
    boost::multiprecision::rational_adaptor<boost::multiprecision::cpp_int_backend<>>, boost::multiprecision::et_off>;

// How a value that falls between two multiples of a unit is rounded. The names follow
// Python's decimal module: `up` and `down` are away from and toward zero.
enum class RoundingMode { half_even, half_up, down, up, floor, ceiling };

// What to do with non-zero digits beyond the 12 fractional digits a Decimal holds.
enum class ExcessDigits { error, round_half_even };

namespace detail {

inline constexpr int128 pow10_128(int n) {
  int128 v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

// Divides n by d > 0 and rounds the quotient by mode. Works for int128 and BigInt.
template <class Int>
Int divide_rounded(const Int& n, const Int& d, RoundingMode mode) {
  Int q = n / d;  // truncates toward zero
  Int r = n - q * d;
  if (r < 0) {  // make q the floor and 0 <= r < d
    q -= 1;
    r += d;
  }
  if (r == 0) return q;
  const bool negative = n < 0;
  switch (mode) {
    case RoundingMode::floor: return q;
    case RoundingMode::ceiling: return q + 1;
    case RoundingMode::down: return negative ? q + 1 : q;
    case RoundingMode::up: return negative ? q : q + 1;
    case RoundingMode::half_up:
    case RoundingMode::half_even: {
      const Int rest = d - r;  // compares r with d / 2 without computing 2 * r, which could overflow
      if (r > rest) return q + 1;
      if (r < rest) return q;
      if (mode == RoundingMode::half_up) return negative ? q : q + 1;
      return (q % 2 == 0) ? q : q + 1;
    }
  }
  return q;
}

}  // namespace detail

class Decimal {
 public:
  static constexpr int scale = 12;  // fractional digits held exactly
  static constexpr int128 one_raw = detail::pow10_128(scale);

  constexpr Decimal() = default;
  template <std::integral I>
  constexpr explicit Decimal(I value) {
    if (__builtin_mul_overflow(static_cast<int128>(value), one_raw, &raw_))
      throw OverflowError("integer out of the decimal range");
  }
  Decimal(double) = delete;  // a binary float is never an exact decimal input
  Decimal(float) = delete;

  static constexpr Decimal from_raw(int128 raw) noexcept {
    Decimal d;
    d.raw_ = raw;
    return d;
  }
  constexpr int128 raw() const noexcept { return raw_; }

  // Reads JSON number syntax exactly: `-12.5`, `3.75e-08`, `1E3`. Digits beyond 12
  // fractional places are an error or rounded half-even, as `excess` says. NaN, infinity,
  // empty and malformed text are ParseError; a value beyond the range is OverflowError.
  static Decimal parse(std::string_view text, ExcessDigits excess = ExcessDigits::error);

  // The shortest exact text: `12.5`, `0.0000000375`, `-3`.
  std::string to_string() const;
  // Exactly `places` fractional digits (0..12), rounding half-even if the value has more.
  std::string to_fixed(int places) const;

  constexpr bool is_zero() const noexcept { return raw_ == 0; }
  constexpr int signum() const noexcept { return raw_ > 0 ? 1 : (raw_ < 0 ? -1 : 0); }
  constexpr Decimal abs() const {
    if (raw_ < 0) return -*this;
    return *this;
  }
  // True for 10^k, k from -12 up: the units costs can be rounded to.
  bool is_power_of_ten() const noexcept;
  // Number of fractional digits this value needs (0..12).
  int fractional_digits() const noexcept;
  // The value is a whole multiple of `unit`.
  bool is_multiple_of(Decimal unit) const noexcept { return unit.raw_ != 0 && raw_ % unit.raw_ == 0; }

  // Rounds to a multiple of a positive `unit` (0.01 for cents) by `mode`.
  Decimal round(Decimal unit, RoundingMode mode = RoundingMode::half_even) const;

  // Exact rational value, and the way back: rounding a rational to a multiple of `unit`.
  Rational to_rational() const {
    // A whole number needs no normalising (boost's gcd is most of the cost of a Rational).
    if (raw_ % one_raw == 0) return Rational(BigInt(raw_ / one_raw));
    return Rational(BigInt(raw_), BigInt(one_raw));
  }
  static Decimal from_rational(const Rational& value, Decimal unit,
                               RoundingMode mode = RoundingMode::half_even);

  constexpr Decimal operator-() const {
    if (raw_ == min_raw()) throw OverflowError("decimal negation overflows");
    return from_raw(-raw_);
  }
  friend constexpr Decimal operator+(Decimal a, Decimal b) {
    int128 r;
    if (__builtin_add_overflow(a.raw_, b.raw_, &r)) throw OverflowError("decimal addition overflows");
    return from_raw(r);
  }
  friend constexpr Decimal operator-(Decimal a, Decimal b) {
    int128 r;
    if (__builtin_sub_overflow(a.raw_, b.raw_, &r)) throw OverflowError("decimal subtraction overflows");
    return from_raw(r);
  }
  template <std::integral I>
  friend constexpr Decimal operator*(Decimal a, I n) {
    int128 r;
    if (__builtin_mul_overflow(a.raw_, static_cast<int128>(n), &r))
      throw OverflowError("decimal multiplication overflows");
    return from_raw(r);
  }
  template <std::integral I>
  friend constexpr Decimal operator*(I n, Decimal a) {
    return a * n;
  }
  // The exact product. PrecisionError when it needs more than 12 fractional digits: keep
  // such products as to_rational() values and round them explicitly.
  friend Decimal operator*(Decimal a, Decimal b);
  Decimal& operator+=(Decimal o) { return *this = *this + o; }
  Decimal& operator-=(Decimal o) { return *this = *this - o; }

  friend constexpr bool operator==(Decimal, Decimal) = default;
  friend constexpr std::strong_ordering operator<=>(Decimal a, Decimal b) {
    return a.raw_ < b.raw_ ? std::strong_ordering::less
                           : (a.raw_ > b.raw_ ? std::strong_ordering::greater : std::strong_ordering::equal);
  }

  static constexpr int128 max_raw() { return ~(static_cast<int128>(1) << 127); }
  static constexpr int128 min_raw() { return static_cast<int128>(1) << 127; }

 private:
  int128 raw_ = 0;
};

// The largest integer not above `value`.
inline BigInt floor_of(const Rational& value) {
  return detail::divide_rounded<BigInt>(boost::multiprecision::numerator(value),
                                        boost::multiprecision::denominator(value), RoundingMode::floor);
}

// Converts an exact BigInt to int128, throwing OverflowError when it does not fit.
int128 to_int128(const BigInt& value, const char* what);
// The same without throwing: none when it does not fit.
std::optional<int128> narrow_to_int128(const BigInt& value) noexcept;

// a x b and a / b (b non-zero), exactly as Rational's operators give them, in machine
// integers when every numerator and denominator fits 64 bits: boost normalises each result
// with gcds on big integers, most of the cost of a step of a million lines.
Rational multiply(const Rational& a, const Rational& b);
Rational divide(const Rational& a, const Rational& b);

// Shortest exact decimal text of an integer (for BigInt and int128 alike).
std::string int128_to_string(int128 value);

APPORTION_END_NAMESPACE
