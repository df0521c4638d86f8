#pragma once
// Strong quantity types: a GPU-second cannot be added to a token by accident. Values are
// exact decimals; conversions that need a division return exact rationals.

#include <compare>

#include "apportion/decimal.hpp"

APPORTION_BEGIN_NAMESPACE

template <class UnitTag>
class Quantity {
 public:
  constexpr Quantity() = default;
  constexpr explicit Quantity(Decimal value) : value_(value) {}
  template <std::integral I>
  constexpr explicit Quantity(I value) : value_(value) {}
  Quantity(double) = delete;
  static Quantity parse(std::string_view text) { return Quantity(Decimal::parse(text)); }

  constexpr Decimal value() const noexcept { return value_; }
  std::string to_string() const { return value_.to_string(); }

  friend constexpr Quantity operator+(Quantity a, Quantity b) { return Quantity(a.value_ + b.value_); }
  friend constexpr Quantity operator-(Quantity a, Quantity b) { return Quantity(a.value_ - b.value_); }
  template <std::integral I>
  friend constexpr Quantity operator*(Quantity a, I n) {
    return Quantity(a.value_ * n);
  }
  Quantity& operator+=(Quantity o) { return *this = *this + o; }
  friend constexpr bool operator==(Quantity, Quantity) = default;
  friend constexpr auto operator<=>(Quantity, Quantity) = default;

 protected:
  Decimal value_;
};

namespace detail {
struct GpuSecondsTag {};
struct CpuCoreSecondsTag {};
struct GibSecondsTag {};
struct TokensTag {};
struct RequestsTag {};
}  // namespace detail

// Seconds-based resource use, with exact conversion to hours.
template <class UnitTag>
class SecondsQuantity : public Quantity<UnitTag> {
 public:
  using Quantity<UnitTag>::Quantity;
  constexpr SecondsQuantity(Quantity<UnitTag> q) : Quantity<UnitTag>(q) {}  // NOLINT: arithmetic results convert back
  static SecondsQuantity parse(std::string_view text) { return SecondsQuantity(Decimal::parse(text)); }
  static SecondsQuantity from_hours(Decimal hours) { return SecondsQuantity(hours * 3600); }
  Rational hours() const { return this->value_.to_rational() / 3600; }
  Rational minutes() const { return this->value_.to_rational() / 60; }
};

using GpuSeconds = SecondsQuantity<detail::GpuSecondsTag>;
using CpuCoreSeconds = SecondsQuantity<detail::CpuCoreSecondsTag>;
using GibSeconds = SecondsQuantity<detail::GibSecondsTag>;

class Tokens : public Quantity<detail::TokensTag> {
 public:
  using Quantity::Quantity;
  constexpr Tokens(Quantity q) : Quantity(q) {}  // NOLINT: arithmetic results convert back
  static Tokens parse(std::string_view text) { return Tokens(Decimal::parse(text)); }
  Rational millions() const { return value_.to_rational() / 1'000'000; }
};

using Requests = Quantity<detail::RequestsTag>;

APPORTION_END_NAMESPACE
