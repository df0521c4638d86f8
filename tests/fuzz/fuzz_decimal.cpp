// Decimal (docs/fuzzing.md). Byte 0 picks a mode:
//   even: the rest is text for Decimal::parse (both ExcessDigits modes); a value read must
//         print and read back to itself, and to_fixed(k) must read back to round(10^-k).
//   odd:  the rest gives two raw 128-bit values; printing reads back exactly, and +, -, *,
//         round() agree with exact BigInt / Rational arithmetic.

#include <cstring>
#include <string>

#include "apportion/decimal.hpp"
#include "fuzz_common.hpp"

namespace {

using namespace apportion;

Decimal unit_of(int places) { return Decimal::from_raw(detail::pow10_128(Decimal::scale - places)); }

void check_round_trip(Decimal x) {
  const std::string text = x.to_string();
  Decimal back;
  const std::string err = fuzz::outcome([&] { back = Decimal::parse(text); });
  fuzz::check(err.empty(), "to_string does not parse", text + " " + err);
  fuzz::check(back == x, "parse(to_string(x)) != x", text);
  for (int places = 0; places <= Decimal::scale; ++places) {
    std::string fixed;
    Decimal rounded;
    const std::string e1 = fuzz::outcome([&] { fixed = x.to_fixed(places); });
    const std::string e2 = fuzz::outcome([&] { rounded = x.round(unit_of(places), RoundingMode::half_even); });
    // Rounding up next to the range's end may overflow a Decimal but not the text.
    if (!e2.empty()) continue;
    fuzz::check(e1.empty(), "to_fixed fails where round() does not", text + " " + e1);
    Decimal fixed_back;
    const std::string e3 = fuzz::outcome([&] { fixed_back = Decimal::parse(fixed); });
    fuzz::check(e3.empty() && fixed_back == rounded, "parse(to_fixed(x, k)) != round(x, 10^-k)", text + " " + fixed);
  }
}

int128 raw_from(fuzz::Input& in) {
  unsigned char bytes[16];
  for (unsigned char& b : bytes) b = in.byte();
  int128 v;
  std::memcpy(&v, bytes, sizeof v);
  return v;
}

BigInt big(Decimal d) { return BigInt(d.raw()); }
bool fits(const BigInt& v) { return v >= BigInt(Decimal::min_raw()) && v <= BigInt(Decimal::max_raw()); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t mode = in.byte();
  if (mode % 2 == 0) {
    const std::string_view text = in.rest();
    Decimal strict, rounded;
    const std::string e1 = fuzz::outcome([&] { strict = Decimal::parse(text); });
    const std::string e2 = fuzz::outcome([&] { rounded = Decimal::parse(text, ExcessDigits::round_half_even); });
    if (e1.empty()) {
      fuzz::check(e2.empty() && strict == rounded, "exact text reads differently when rounding is allowed", std::string(text));
      check_round_trip(strict);
    }
    if (e2.empty()) check_round_trip(rounded);
    return 0;
  }
  const Decimal a = Decimal::from_raw(raw_from(in));
  const Decimal b = Decimal::from_raw(raw_from(in));
  check_round_trip(a);
  const std::string at = a.to_string(), bt = b.to_string();

  Decimal sum, diff, product;
  const bool sum_ok = fuzz::outcome([&] { sum = a + b; }).empty();
  fuzz::check(sum_ok == fits(big(a) + big(b)) && (!sum_ok || big(sum) == big(a) + big(b)), "a + b", at + " " + bt);
  const bool diff_ok = fuzz::outcome([&] { diff = a - b; }).empty();
  fuzz::check(diff_ok == fits(big(a) - big(b)) && (!diff_ok || big(diff) == big(a) - big(b)), "a - b", at + " " + bt);
  const bool product_ok = fuzz::outcome([&] { product = a * b; }).empty();
  const Rational exact = a.to_rational() * b.to_rational();
  if (product_ok) fuzz::check(product.to_rational() == exact, "a * b is not the exact product", at + " " + bt);

  // round(unit, mode) is from_rational(to_rational(), unit, mode), for every mode.
  const int places = in.byte() % (Decimal::scale + 1);
  const RoundingMode mode_pick = static_cast<RoundingMode>(in.byte() % 6);
  Decimal r1, r2;
  const std::string e1 = fuzz::outcome([&] { r1 = a.round(unit_of(places), mode_pick); });
  const std::string e2 = fuzz::outcome([&] { r2 = Decimal::from_rational(a.to_rational(), unit_of(places), mode_pick); });
  fuzz::check(e1.empty() == e2.empty() && (!e1.empty() || r1 == r2), "round and from_rational disagree", at);
  if (e1.empty()) fuzz::check(r1.is_multiple_of(unit_of(places)), "round() is not a multiple of its unit", at);
  return 0;
}
