#pragma once
// ISO 4217 active currency codes and their minor units (digits after the decimal point).
//
// Source: the ISO 4217 list of current currencies and funds (maintained by SIX), as
// understood in November 2026. Left out: precious metals, SDR and other supranational units,
// testing and "no currency" codes (XAU, XAG, XPD, XPT, XDR, XSU, XUA, XBA..XBD, XTS, XXX).
// Kept X-codes are real currencies: XAF, XOF, XPF (0 minor units), XCD, XCG (2).
// Funds codes with a minor unit are kept (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW).
// Withdrawn codes are absent, e.g. ANG (replaced by XCG), BGN (euro from 2026-01-01),
// HRK, SLL (replaced by SLE), ZWL (replaced by ZWG), CUC, VEF, MRO, STD.
#include <array>
#include <cstddef>
#include <string_view>

namespace apportion {
inline namespace v1 {
namespace detail {

struct CurrencyInfo {
  std::string_view code;
  int minor_unit;
};

// Sorted by code, so that iso4217_minor_unit can binary-search it.
inline constexpr std::array<CurrencyInfo, 164> iso4217_currencies{{
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2},
    {"BWP", 2}, {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2},
    {"CHW", 2}, {"CLF", 4}, {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2},
    {"CUP", 2}, {"CVE", 2}, {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2},
    {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2},
    {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0}, {"GTQ", 2}, {"GYD", 2},
    {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2}, {"INR", 2},
    {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2},
    {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3},
    {"MAD", 2}, {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2},
    {"MRU", 2}, {"MUR", 2}, {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2},
    {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2},
    {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2}, {"PKR", 2}, {"PLN", 2},
    {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0}, {"SAR", 2},
    {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2},
    {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2},
    {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0},
    {"UYU", 2}, {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0},
    {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2},
    {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2}
}};

namespace iso4217_check {
constexpr bool sorted_and_unique() noexcept {
  for (std::size_t i = 1; i < iso4217_currencies.size(); ++i)
    if (!(iso4217_currencies[i - 1].code < iso4217_currencies[i].code)) return false;
  return true;
}
}  // namespace iso4217_check
static_assert(iso4217_check::sorted_and_unique(),
              "iso4217_currencies must be sorted by code with no duplicates");

// Returns the minor unit, or -1 for a code that is not an active ISO 4217 currency.
constexpr int iso4217_minor_unit(std::string_view code) noexcept {
  std::size_t lo = 0;
  std::size_t hi = iso4217_currencies.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    const std::string_view probe = iso4217_currencies[mid].code;
    if (probe == code) return iso4217_currencies[mid].minor_unit;
    if (probe < code)
      lo = mid + 1;
    else
      hi = mid;
  }
  return -1;
}

static_assert(iso4217_minor_unit("USD") == 2 && iso4217_minor_unit("JPY") == 0 &&
              iso4217_minor_unit("KWD") == 3 && iso4217_minor_unit("CLF") == 4 &&
              iso4217_minor_unit("AED") == 2 && iso4217_minor_unit("ZWG") == 2 &&
              iso4217_minor_unit("usd") == -1 && iso4217_minor_unit("XAU") == -1 &&
              iso4217_minor_unit("") == -1);

}  // namespace detail
}  // namespace v1
}  // namespace apportion
