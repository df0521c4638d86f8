#pragma once
// Money: an exact decimal amount in one ISO 4217 currency. Amounts of different
// currencies never mix silently, and every lossy step names its unit and rounding mode.

#include <array>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/allocate.hpp"
#include "apportion/decimal.hpp"
#include "apportion/detail/iso4217.hpp"

APPORTION_BEGIN_NAMESPACE

class Currency {
 public:
  // Accepts an active ISO 4217 code ("USD", "EUR", "JPY"); anything else is ParseError.
  explicit Currency(std::string_view code) {
    if (detail::iso4217_minor_unit(code) < 0)
      throw ParseError("not an ISO 4217 currency code: \"" + std::string(code.substr(0, 16)) + "\"");
    std::copy(code.begin(), code.end(), code_.begin());
  }
  Currency() : Currency("USD") {}

  std::string_view code() const noexcept { return {code_.data(), code_.size()}; }
  // Digits of the currency's minor unit: 2 for USD, 0 for JPY, 3 for KWD.
  int minor_digits() const noexcept { return detail::iso4217_minor_unit(code()); }
  // The minor unit as an amount: 0.01 for USD, 1 for JPY.
  Decimal minor_unit() const { return Decimal::from_raw(detail::pow10_128(Decimal::scale - minor_digits())); }

  friend bool operator==(const Currency&, const Currency&) = default;

 private:
  std::array<char, 3> code_{};
};

class Money {
 public:
  Money(Decimal amount, Currency currency) : amount_(amount), currency_(currency) {}
  static Money zero(Currency currency = Currency()) { return Money(Decimal{}, currency); }
  Money(double, Currency) = delete;  // build money from text or integers, never from a float

  // Reads decimal text exactly ("12.50", "1.5e-07"); see Decimal::parse.
  static Money parse(std::string_view text, std::string_view currency = "USD") {
    return Money(Decimal::parse(text), Currency(currency));
  }

  Decimal amount() const noexcept { return amount_; }
  Currency currency() const noexcept { return currency_; }
  // The exact amount without the currency: "12.5". Money::parse reads it back.
  std::string to_string() const { return amount_.to_string(); }
  // The amount with exactly the currency's minor digits, rounded half-even: "12.50".
  std::string to_fixed() const { return amount_.to_fixed(currency_.minor_digits()); }

  Money round(Decimal unit, RoundingMode mode = RoundingMode::half_even) const {
    return Money(amount_.round(unit, mode), currency_);
  }
  Money round(RoundingMode mode = RoundingMode::half_even) const { return round(currency_.minor_unit(), mode); }

  // Splits this amount by non-negative weights into parts that are multiples of `unit`
  // and sum exactly to it (largest remainder; ties to the larger weight, then by
  // `tie_break`, then to the lower index). The amount must itself be a multiple of `unit`.
  std::vector<Money> allocate(std::span<const Decimal> weights, Decimal unit, const TieBreak& tie_break = {}) const {
    std::vector<Rational> exact;
    exact.reserve(weights.size());
    for (Decimal w : weights) exact.push_back(w.to_rational());
    std::vector<Money> out;
    for (Decimal part : allocate_by_weights(amount_, exact, unit, tie_break)) out.emplace_back(part, currency_);
    return out;
  }
  std::vector<Money> allocate(std::span<const Decimal> weights) const {
    return allocate(weights, currency_.minor_unit());
  }

  Money operator-() const { return Money(-amount_, currency_); }
  friend Money operator+(const Money& a, const Money& b) { return Money(a.amount_ + b.checked(a).amount_, a.currency_); }
  friend Money operator-(const Money& a, const Money& b) { return Money(a.amount_ - b.checked(a).amount_, a.currency_); }
  template <std::integral I>
  friend Money operator*(const Money& a, I n) {
    return Money(a.amount_ * n, a.currency_);
  }
  Money& operator+=(const Money& o) { return *this = *this + o; }
  Money& operator-=(const Money& o) { return *this = *this - o; }

  friend bool operator==(const Money& a, const Money& b) {
    return a.currency_ == b.currency_ && a.amount_ == b.amount_;
  }
  // Ordering across currencies is meaningless: it throws CurrencyMismatch.
  friend std::strong_ordering operator<=>(const Money& a, const Money& b) { return a.amount_ <=> b.checked(a).amount_; }

  friend std::ostream& operator<<(std::ostream& os, const Money& m) {
    return os << m.amount_.to_string() << ' ' << m.currency_.code();
  }

 private:
  const Money& checked(const Money& other) const {
    if (!(currency_ == other.currency_))
      throw CurrencyMismatch("cannot combine " + std::string(other.currency_.code()) + " with " +
                             std::string(currency_.code()));
    return *this;
  }

  Decimal amount_;
  Currency currency_;
};

APPORTION_END_NAMESPACE
