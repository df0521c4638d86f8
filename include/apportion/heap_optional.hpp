#pragma once
// HeapOptional<T>: std::optional's interface with the value on the heap, one pointer wide.
// For fields that most lines and records leave empty (a line's split_cost, a record's SKU):
// a million lines of a proportional step then carry eight bytes for each such field, not
// the eighty of an inline optional Rational. Copies copy the value; moves move the pointer.

#include <compare>
#include <memory>
#include <optional>
#include <utility>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE

template <class T>
class HeapOptional {
 public:
  using value_type = T;

  HeapOptional() noexcept = default;
  HeapOptional(std::nullopt_t) noexcept {}
  HeapOptional(const T& value) : value_(std::make_unique<T>(value)) {}
  HeapOptional(T&& value) : value_(std::make_unique<T>(std::move(value))) {}
  template <class U>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
             !std::is_same_v<std::remove_cvref_t<U>, HeapOptional> &&
             !std::is_same_v<std::remove_cvref_t<U>, std::nullopt_t> &&
             !std::is_same_v<std::remove_cvref_t<U>, std::optional<T>>)
  HeapOptional(U&& value) : value_(std::make_unique<T>(std::forward<U>(value))) {}
  HeapOptional(const std::optional<T>& other) {
    if (other) value_ = std::make_unique<T>(*other);
  }
  HeapOptional(std::optional<T>&& other) {
    if (other) value_ = std::make_unique<T>(std::move(*other));
  }
  HeapOptional(const HeapOptional& other) : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  HeapOptional(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(const HeapOptional& other) {
    if (this != &other) {
      if (!other.value_) value_.reset();
      else if (value_) *value_ = *other.value_;
      else value_ = std::make_unique<T>(*other.value_);
    }
    return *this;
  }
  HeapOptional& operator=(HeapOptional&&) noexcept = default;
  HeapOptional& operator=(std::nullopt_t) noexcept {
    value_.reset();
    return *this;
  }
  template <class U = T>
    requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, HeapOptional> &&
             !std::is_same_v<std::remove_cvref_t<U>, std::nullopt_t> &&
             !std::is_same_v<std::remove_cvref_t<U>, std::optional<T>>)
  HeapOptional& operator=(U&& value) {
    if (value_) *value_ = std::forward<U>(value);
    else value_ = std::make_unique<T>(std::forward<U>(value));
    return *this;
  }
  HeapOptional& operator=(const std::optional<T>& other) { return *this = HeapOptional(other); }
  HeapOptional& operator=(std::optional<T>&& other) { return *this = HeapOptional(std::move(other)); }

  bool has_value() const noexcept { return value_ != nullptr; }
  explicit operator bool() const noexcept { return has_value(); }
  const T& operator*() const& noexcept { return *value_; }
  T& operator*() & noexcept { return *value_; }
  T&& operator*() && noexcept { return std::move(*value_); }
  const T* operator->() const noexcept { return value_.get(); }
  T* operator->() noexcept { return value_.get(); }
  const T& value() const& {
    if (!value_) throw std::bad_optional_access();
    return *value_;
  }
  T& value() & {
    if (!value_) throw std::bad_optional_access();
    return *value_;
  }
  template <class U>
  T value_or(U&& fallback) const& {
    return value_ ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }
  template <class... Args>
  T& emplace(Args&&... args) {
    value_ = std::make_unique<T>(std::forward<Args>(args)...);
    return *value_;
  }
  void reset() noexcept { value_.reset(); }
  // As a std::optional, for code written against one.
  operator std::optional<T>() const { return value_ ? std::optional<T>(*value_) : std::nullopt; }

  friend bool operator==(const HeapOptional& a, std::nullopt_t) noexcept { return !a.has_value(); }
  friend bool operator==(const HeapOptional& a, const HeapOptional& b) {
    return a.has_value() == b.has_value() && (!a.has_value() || *a == *b);
  }
  friend bool operator==(const HeapOptional& a, const std::optional<T>& b) {
    return a.has_value() == b.has_value() && (!a.has_value() || *a == *b);
  }
  template <class U>
    requires(!std::is_same_v<U, HeapOptional> && !std::is_same_v<U, std::nullopt_t> &&
             !std::is_same_v<U, std::optional<T>> && requires(const T& t, const U& u) { t == u; })
  friend bool operator==(const HeapOptional& a, const U& b) {
    return a.has_value() && *a == b;
  }

 private:
  std::unique_ptr<T> value_;
};

APPORTION_END_NAMESPACE
