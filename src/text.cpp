#include "text.hpp"

#include <algorithm>
#include <chrono>

APPORTION_BEGIN_NAMESPACE
namespace text {

namespace {

// The digits of a magnitude with `places` of them after the point, zero-padded on the
// left ("5" at 2 places is "0.05"); `trim` drops the fraction's trailing zeros.
void put_digits(Buffer& out, bool negative, std::string_view digits, int places, bool trim) {
  if (negative) out.push_back('-');
  const auto p = static_cast<std::size_t>(places);
  if (digits.size() <= p) {
    out.push_back('0');
    if (places > 0) {
      out.push_back('.');
      put_repeated(out, '0', p - digits.size());
    }
    put(out, digits);
  } else {
    put(out, digits.substr(0, digits.size() - p));
    if (places > 0) {
      out.push_back('.');
      put(out, digits.substr(digits.size() - p));
    }
  }
  if (trim && places > 0) {
    while (out.data()[out.size() - 1] == '0') out.resize(out.size() - 1);
    if (out.data()[out.size() - 1] == '.') out.resize(out.size() - 1);
  }
}

// |q| and its sign, q = num / den rounded half-even (den positive).
template <class Int>
std::pair<bool, Int> rounded_quotient(const Int& num, const Int& den) {
  Int q = num / den;  // toward zero
  Int rest = num - q * den;
  if (rest < 0) rest = -rest;
  const Int other = den - rest;  // compares rest with den / 2 without doubling it
  const bool odd = (q % 2) != 0;
  if (rest > other || (rest == other && odd)) q += num < 0 ? -1 : 1;
  const bool negative = q < 0;
  if (negative) q = -q;
  return {negative, q};
}

void put_magnitude(Buffer& out, bool negative, uint128 magnitude, int places, bool trim) {
  char digits[40];  // 2^128 has 39 digits
  const char* end = fmt::format_to(digits, FMT_COMPILE("{}"), magnitude);
  put_digits(out, negative, std::string_view(digits, static_cast<std::size_t>(end - digits)), places, trim);
}

}  // namespace

void put_fixed(Buffer& out, int128 units, int places) {
  // The magnitude as unsigned, so the most negative int128 needs no special case.
  const uint128 magnitude = units < 0 ? uint128{0} - static_cast<uint128>(units) : static_cast<uint128>(units);
  put_magnitude(out, units < 0, magnitude, places, false);
}

void put_amount(Buffer& out, const Decimal& value, const Decimal& unit, int places) {
  // Rounded to the unit, the value has no digit beyond `places`: the division is exact.
  put_fixed(out, value.round(unit).raw() / detail::pow10_128(Decimal::scale - places), places);
}

void put_rounded(Buffer& out, const Rational& value, int places, bool trim) {
  // Weights and shares are exact rationals that may lie beyond the Decimal range (a weight
  // of 10^23 x 10^23): most fit 128 bits, whose arithmetic is the machine's; the rest is
  // done on big integers, so writing one never fails.
  const BigInt& numerator = boost::multiprecision::numerator(value);
  const BigInt& den = boost::multiprecision::denominator(value);  // positive
  const auto small_num = narrow_to_int128(numerator), small_den = narrow_to_int128(den);
  int128 scaled;
  if (places <= 38 && small_num && small_den && !__builtin_mul_overflow(*small_num, detail::pow10_128(places), &scaled)) {
    const auto [negative, q] = rounded_quotient<int128>(scaled, *small_den);
    put_magnitude(out, negative, static_cast<uint128>(q), places, trim);
    return;
  }
  const auto [negative, q] = rounded_quotient<BigInt>(numerator * boost::multiprecision::pow(BigInt(10), places), den);
  put_digits(out, negative, q.str(), places, trim);
}

void put_percent(Buffer& out, const Decimal& part, const Decimal& whole) {
  // In 128 bits when part x 10^4 fits (amounts below 10^22 do): no rational, no gcd.
  int128 scaled, den = whole.raw();
  if (!__builtin_mul_overflow(part.raw(), int128{10'000}, &scaled)) {
    if (den < 0) {
      den = -den;
      scaled = -scaled;
    }
    const auto [negative, q] = rounded_quotient<int128>(scaled, den);
    put_magnitude(out, negative, static_cast<uint128>(q), 2, false);
  } else {
    put_rounded(out, part.to_rational() / whole.to_rational() * 100, 2, false);
  }
  out.push_back('%');
}

void put_instant(Buffer& out, Instant t) {
  // Days and the time of day worked out in whole seconds first: flooring the nanoseconds
  // of the earliest instants to a day would pass below the int64 range.
  const std::int64_t ns = t.unix_nanos();
  std::int64_t seconds = ns / 1'000'000'000, nanos = ns % 1'000'000'000;
  if (nanos < 0) nanos += 1'000'000'000, --seconds;
  std::int64_t day = seconds / 86400, of_day = seconds % 86400;
  if (of_day < 0) of_day += 86400, --day;
  const std::chrono::year_month_day date{std::chrono::sys_days(std::chrono::days(day))};
  // Compiled formats: an instant is written twice for every line of a series.
  fmt::format_to(std::back_inserter(out), FMT_COMPILE("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}"), static_cast<int>(date.year()),
                 static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()), of_day / 3600, of_day / 60 % 60,
                 of_day % 60);
  if (nanos != 0) {
    fmt::format_to(std::back_inserter(out), FMT_COMPILE(".{:09}"), nanos);
    while (out.data()[out.size() - 1] == '0') out.resize(out.size() - 1);
  }
  out.push_back('Z');
}

void put_csv_field(Buffer& out, std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) return put(out, s);
  out.push_back('"');
  for (const char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

void put_json_string(Buffer& out, std::string_view s) {
  out.push_back('"');
  // Most text needs no escape: appended whole.
  if (std::none_of(s.begin(), s.end(), [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; })) {
    put(out, s);
    out.push_back('"');
    return;
  }
  for (const char c : s) {
    switch (c) {
      case '"': put(out, "\\\""); break;
      case '\\': put(out, "\\\\"); break;
      case '\b': put(out, "\\b"); break;
      case '\f': put(out, "\\f"); break;
      case '\n': put(out, "\\n"); break;
      case '\r': put(out, "\\r"); break;
      case '\t': put(out, "\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) put_format(out, "\\u{:04x}", static_cast<unsigned>(c));
        else out.push_back(c);
    }
  }
  out.push_back('"');
}

}  // namespace text
APPORTION_END_NAMESPACE
