// Money through the C ABI: exact decimal amounts cross as text, both ways.

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "apportion/allocate.hpp"
#include "apportion/money.hpp"
#include "detail.hpp"

using apportion::Currency;
using apportion::Decimal;
using apportion::Money;
using namespace apn::detail;

namespace {

Currency currency_arg(const char* code) {
  require(code, "currency");
  try {
    return Currency(code);
  } catch (const apportion::ParseError& e) {
    throw Failure(APN_ECURRENCY, std::string("currency: ") + e.what());
  }
}

// Owns a half-built array of strings until it is handed to the caller.
struct Strings {
  char** items = nullptr;
  size_t n = 0;
  ~Strings() { apn_strings_free(items, n); }
};

}  // namespace

extern "C" {

int apn_money_parse(char** out, const char* amount, const char* currency) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    const Money money(decimal_arg(amount, "amount"), currency_arg(currency));
    *out = copy_out(money.to_string());
    return APN_OK;
  });
}

int apn_money_format(char** out, const char* amount, const char* currency) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    const Money money(decimal_arg(amount, "amount"), currency_arg(currency));
    *out = copy_out(money.to_fixed());
    return APN_OK;
  });
}

int apn_money_add(char** out, const char* a, const char* b, const char* currency) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    const Currency code = currency_arg(currency);
    const Money sum = Money(decimal_arg(a, "a"), code) + Money(decimal_arg(b, "b"), code);
    *out = copy_out(sum.to_string());
    return APN_OK;
  });
}

int apn_money_round(char** out, const char* amount, const char* unit, apn_rounding mode) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    const Decimal value = decimal_arg(amount, "amount");
    const Decimal step = unit_arg(unit, "unit");
    // A C caller can pass any int; in C++ reading an out-of-range enum value is undefined,
    // so the bits are read as the int they are.
    static_assert(sizeof(apn_rounding) == sizeof(int));
    int m;
    std::memcpy(&m, &mode, sizeof m);
    if (m < APN_ROUND_HALF_EVEN || m > APN_ROUND_CEILING)
      throw Failure(APN_EINVAL, "mode: not an apn_rounding value (got " + std::to_string(m) + ")");
    const Decimal rounded = value.round(step, static_cast<apportion::RoundingMode>(m));
    *out = copy_out(rounded.to_fixed(step.fractional_digits()));
    return APN_OK;
  });
}

int apn_money_allocate(char*** out_parts, const char* amount, const char* const* weights, size_t n,
                       const char* unit) {
  if (out_parts != nullptr) *out_parts = nullptr;
  return guarded([&] {
    require(out_parts, "out_parts");
    const Decimal total = decimal_arg(amount, "amount");
    require(weights, "weights");
    const Decimal step = unit_arg(unit, "unit");
    std::vector<apportion::Rational> exact;
    exact.reserve(n);
    bool any_weight = false;
    for (size_t i = 0; i < n; ++i) {
      const std::string name = "weights[" + std::to_string(i) + "]";
      const Decimal w = decimal_arg(weights[i], name.c_str());
      if (w.signum() < 0) throw Failure(APN_EINVAL, name + ": must not be negative (got \"" + weights[i] + "\")");
      any_weight = any_weight || !w.is_zero();
      exact.push_back(w.to_rational());
    }
    if (!any_weight) throw Failure(APN_ESPEC, "weights: sum to zero, nothing to split the amount by");
    if (!total.is_multiple_of(step))
      throw Failure(APN_EINVAL, "amount: " + total.to_string() + " is not a multiple of the unit " + step.to_string());
    const std::vector<Decimal> parts = apportion::allocate_by_weights(total, exact, step);
    Strings strings;
    strings.items = static_cast<char**>(std::calloc(n, sizeof(char*)));
    if (strings.items == nullptr) throw std::bad_alloc();
    strings.n = n;
    for (size_t i = 0; i < n; ++i) strings.items[i] = copy_out(parts[i].to_fixed(step.fractional_digits()));
    *out_parts = strings.items;
    strings.items = nullptr;
    return APN_OK;
  });
}

}  // extern "C"
