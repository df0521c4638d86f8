#include "apportion/decimal.hpp"

#include "text.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <numeric>

APPORTION_BEGIN_NAMESPACE

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void not_a_number(std::string_view text) {
  std::string shown(text.substr(0, 64));
  if (text.size() > 64) shown += "...";
  throw ParseError("not a decimal number: \"" + shown + "\"");
}

// Rational's numerator and denominator, to set a product whose terms are coprime already
// without normalising it again. An explicit instantiation may name private members
// ([temp.spec.general]): boost::rational has no constructor that skips its gcd.
using RationalValue = std::remove_reference_t<decltype(std::declval<Rational&>().backend().data())>;
using RationalInt = RationalValue::int_type;
struct NumeratorOf {
  using type = RationalInt RationalValue::*;
  friend type member(NumeratorOf);
};
struct DenominatorOf {
  using type = RationalInt RationalValue::*;
  friend type member(DenominatorOf);
};
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};
template struct Expose<NumeratorOf, &RationalValue::num>;
template struct Expose<DenominatorOf, &RationalValue::den>;

// The magnitude of a part of a Rational when it fits 64 bits.
std::optional<std::uint64_t> small_part(const BigInt& v) noexcept {
  const auto& backend = v.backend();
  if (backend.size() != 1) return std::nullopt;
  return backend.limbs()[0];
}

// n / d from n and d coprime, d > 0.
Rational from_coprime(bool negative, uint128 n, uint128 d) {
  Rational out;
  RationalValue& value = out.backend().data();
  value.*member(NumeratorOf{}) = n;
  if (negative) value.*member(NumeratorOf{}) = -(value.*member(NumeratorOf{}));
  value.*member(DenominatorOf{}) = d;
  return out;
}

// (an / ad) x (bn / bd), each reduced, as boost's operator*= works it: cross-cancel, then
// multiply. None when a part does not fit 64 bits.
std::optional<Rational> small_product(bool negative, const BigInt& an, const BigInt& ad, const BigInt& bn, const BigInt& bd) {
  const auto a_num = small_part(an), a_den = small_part(ad), b_num = small_part(bn), b_den = small_part(bd);
  if (!a_num || !a_den || !b_num || !b_den) return std::nullopt;
  if (*a_num == 0 || *b_num == 0) return Rational(0);
  const std::uint64_t g1 = std::gcd(*a_num, *b_den), g2 = std::gcd(*b_num, *a_den);
  return from_coprime(negative, static_cast<uint128>(*a_num / g1) * (*b_num / g2),
                      static_cast<uint128>(*a_den / g2) * (*b_den / g1));
}

}  // namespace

Rational multiply(const Rational& a, const Rational& b) {
  namespace mp = boost::multiprecision;
  const BigInt an = mp::numerator(a), bn = mp::numerator(b);
  if (auto p = small_product((an.sign() < 0) != (bn.sign() < 0), an, mp::denominator(a), bn, mp::denominator(b)))
    return std::move(*p);
  return a * b;
}

Rational divide(const Rational& a, const Rational& b) {
  namespace mp = boost::multiprecision;
  const BigInt an = mp::numerator(a), bn = mp::numerator(b);
  if (bn == 0) return a / b;  // boost's error
  if (auto p = small_product((an.sign() < 0) != (bn.sign() < 0), an, mp::denominator(a), mp::denominator(b), bn))
    return std::move(*p);
  return a / b;
}

std::string int128_to_string(int128 value) {
  text::Buffer out;
  text::put_fixed(out, value, 0);
  return out;
}

std::optional<int128> narrow_to_int128(const BigInt& value) noexcept {
  // Read from the limbs of the magnitude (sign apart): no arithmetic, nothing allocated.
  const auto& backend = value.backend();
  static_assert(sizeof(*backend.limbs()) == sizeof(std::uint64_t), "64-bit limbs");
  const std::size_t limbs = backend.size();
  if (limbs > 2) return std::nullopt;
  const uint128 magnitude =
      (limbs == 2 ? static_cast<uint128>(backend.limbs()[1]) << 64 : uint128{0}) | backend.limbs()[0];
  // int128 holds magnitudes below 2^127, and exactly 2^127 when negative.
  const uint128 top = uint128{1} << 127;
  if (backend.sign()) {
    if (magnitude > top) return std::nullopt;
    return static_cast<int128>(-magnitude);
  }
  if (magnitude >= top) return std::nullopt;
  return static_cast<int128>(magnitude);
}

int128 to_int128(const BigInt& value, const char* what) {
  const auto narrow = narrow_to_int128(value);
  if (!narrow) throw OverflowError(std::string(what) + " is out of the decimal range");
  return *narrow;
}

Decimal Decimal::parse(std::string_view text, ExcessDigits excess) {
  if (text.empty()) throw ParseError("not a decimal number: empty text");
  {
    // The common case first: up to 18 integer digits and up to 12 fraction digits, which
    // fit 64 bits each, read without the general path's digit string.
    std::size_t i = text[0] == '-' ? 1 : 0;
    const std::size_t n = text.size(), int_begin = i;
    std::uint64_t whole = 0;
    while (i < n && i - int_begin < 18 && is_digit(text[i])) whole = whole * 10 + static_cast<unsigned>(text[i++] - '0');
    if (i > int_begin && (i == n || (text[i] == '.' && i - int_begin < 18))) {
      int128 raw = static_cast<int128>(whole) * one_raw;
      bool plain = i == n;
      if (!plain) {
        const std::size_t frac_begin = ++i;
        std::uint64_t frac = 0;
        while (i < n && i - frac_begin < static_cast<std::size_t>(scale) && is_digit(text[i]))
          frac = frac * 10 + static_cast<unsigned>(text[i++] - '0');
        plain = i == n && i > frac_begin;
        static constexpr auto pow10 = [] {
          std::array<int128, scale + 1> table{};
          for (int k = 0; k <= scale; ++k) table[k] = detail::pow10_128(k);
          return table;
        }();
        if (plain) raw += static_cast<int128>(frac) * pow10[scale - (i - frac_begin)];
      }
      if (plain) return from_raw(int_begin == 1 ? -raw : raw);
    }
  }
  std::size_t i = 0;
  bool negative = false;
  if (text[i] == '-') {
    negative = true;
    ++i;
  }
  const std::size_t int_begin = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  const std::string_view int_digits = text.substr(int_begin, i - int_begin);
  if (int_digits.empty()) not_a_number(text);
  std::string_view frac_digits;
  if (i < text.size() && text[i] == '.') {
    const std::size_t frac_begin = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    frac_digits = text.substr(frac_begin, i - frac_begin);
    if (frac_digits.empty()) not_a_number(text);
  }
  std::int64_t exponent = 0;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
    const std::size_t exp_begin = i;
    while (i < text.size() && is_digit(text[i])) {
      // Saturate: any exponent this large overflows or vanishes anyway.
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_begin) not_a_number(text);
    if (exp_negative) exponent = -exponent;
  }
  if (i != text.size()) not_a_number(text);

  // value = digits * 10^(shift - scale), digits being the integer and fraction digits.
  std::string digits;
  digits.reserve(int_digits.size() + frac_digits.size());
  digits.append(int_digits).append(frac_digits);
  const std::size_t first_nonzero = digits.find_first_not_of('0');
  if (first_nonzero == std::string::npos) return Decimal{};
  digits.erase(0, first_nonzero);
  std::int64_t shift = exponent - static_cast<std::int64_t>(frac_digits.size()) + scale;

  const auto overflow = [&] {
    throw OverflowError("decimal out of range: \"" + std::string(text.substr(0, 64)) + "\"");
  };
  if (shift < 0) {
    const std::int64_t drop = -shift;
    std::string_view kept(digits);
    std::string_view dropped;
    if (drop >= static_cast<std::int64_t>(digits.size())) {
      kept = {};
      dropped = digits;
    } else {
      kept = std::string_view(digits).substr(0, digits.size() - drop);
      dropped = std::string_view(digits).substr(digits.size() - drop);
    }
    const bool all_within = drop <= static_cast<std::int64_t>(digits.size());
    const int first = all_within ? dropped[0] - '0' : 0;
    const bool rest_nonzero = all_within && dropped.find_first_not_of('0', 1) != std::string_view::npos;
    const bool lossless = all_within && dropped.find_first_not_of('0') == std::string_view::npos;
    if (!lossless && excess == ExcessDigits::error) {
      throw ParseError("more than " + std::to_string(scale) + " fractional digits: \"" +
                       std::string(text.substr(0, 64)) + "\"");
    }
    // Accumulated with the value's sign, so the most negative value (-2^127 raw, which
    // to_string() writes) reads back too.
    const int sign = negative ? -1 : 1;
    int128 raw = 0;
    for (char c : kept)
      if (__builtin_mul_overflow(raw, 10, &raw) || __builtin_add_overflow(raw, sign * (c - '0'), &raw)) overflow();
    if (first > 5 || (first == 5 && (rest_nonzero || raw % 2 != 0)))
      if (__builtin_add_overflow(raw, sign, &raw)) overflow();
    return from_raw(raw);
  }
  if (static_cast<std::int64_t>(digits.size()) + shift > 39) overflow();
  const int sign = negative ? -1 : 1;
  int128 raw = 0;
  for (char c : digits) {
    if (__builtin_mul_overflow(raw, 10, &raw) || __builtin_add_overflow(raw, sign * (c - '0'), &raw)) overflow();
  }
  for (std::int64_t k = 0; k < shift; ++k)
    if (__builtin_mul_overflow(raw, 10, &raw)) overflow();
  return from_raw(raw);
}

std::string Decimal::to_string() const {
  std::string out = to_fixed(scale);
  const std::size_t dot = out.find('.');
  std::size_t end = out.find_last_not_of('0');
  if (end == dot) --end;
  out.erase(end + 1);
  return out;
}

std::string Decimal::to_fixed(int places) const {
  if (places < 0 || places > scale) throw std::invalid_argument("to_fixed: places must be 0..12");
  text::Buffer out;
  text::put_fixed(out, detail::divide_rounded<int128>(raw_, detail::pow10_128(scale - places), RoundingMode::half_even), places);
  return out;
}

bool Decimal::is_power_of_ten() const noexcept {
  if (raw_ <= 0) return false;
  int128 v = raw_;
  while (v % 10 == 0) v /= 10;
  return v == 1;
}

int Decimal::fractional_digits() const noexcept {
  int128 v = raw_;
  int zeros = 0;
  while (zeros < scale && v % 10 == 0) {
    v /= 10;
    ++zeros;
  }
  return scale - zeros;
}

Decimal Decimal::round(Decimal unit, RoundingMode mode) const {
  if (unit.raw_ <= 0) throw std::invalid_argument("rounding unit must be positive");
  const int128 q = detail::divide_rounded<int128>(raw_, unit.raw_, mode);
  int128 r;
  if (__builtin_mul_overflow(q, unit.raw_, &r)) throw OverflowError("rounded decimal overflows");
  return from_raw(r);
}

Decimal Decimal::from_rational(const Rational& value, Decimal unit, RoundingMode mode) {
  if (unit.raw_ <= 0) throw std::invalid_argument("rounding unit must be positive");
  const BigInt n = boost::multiprecision::numerator(value) * BigInt(one_raw);
  const BigInt d = boost::multiprecision::denominator(value) * BigInt(unit.raw_);
  const BigInt q = detail::divide_rounded<BigInt>(n, d, mode);
  return from_raw(to_int128(q * BigInt(unit.raw_), "value"));
}

Decimal operator*(Decimal a, Decimal b) {
  const BigInt product = BigInt(a.raw()) * BigInt(b.raw());
  const BigInt one(Decimal::one_raw);
  if (product % one != 0)
    throw PrecisionError("product " + a.to_string() + " * " + b.to_string() + " needs more than 12 fractional digits");
  return Decimal::from_raw(to_int128(product / one, "product"));
}

APPORTION_END_NAMESPACE
