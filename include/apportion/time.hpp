#pragma once
// UTC instants and half-open intervals, with RFC 3339 parsing and printing. Instants are
// whole nanoseconds since the Unix epoch (years 1678 to 2261), so durations stay exact.

#include <algorithm>
#include <chrono>
#include <compare>
#include <cstdint>
#include <string>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "apportion/decimal.hpp"

APPORTION_BEGIN_NAMESPACE

class Instant {
 public:
  using Duration = std::chrono::nanoseconds;
  constexpr Instant() = default;
  static constexpr Instant from_unix_nanos(std::int64_t ns) noexcept {
    Instant t;
    t.ns_ = ns;
    return t;
  }
  static constexpr Instant from_unix_seconds(std::int64_t s) { return from_unix_nanos(s * 1'000'000'000); }
  constexpr std::int64_t unix_nanos() const noexcept { return ns_; }

  // RFC 3339: `2026-06-02T10:00:00Z`, `2026-06-02T12:00:00.5+02:00` (converted to UTC).
  // `t` or a space may separate date and time. Anything else is ParseError.
  static Instant parse(std::string_view text);
  // `2026-06-02T10:00:00Z`, with a fraction of a second only when there is one.
  std::string to_string() const;

  friend constexpr auto operator<=>(Instant, Instant) = default;
  friend constexpr Duration operator-(Instant a, Instant b) { return Duration(a.ns_ - b.ns_); }
  friend constexpr Instant operator+(Instant a, Duration d) { return from_unix_nanos(a.ns_ + d.count()); }

 private:
  std::int64_t ns_ = 0;
};

// Exact seconds and hours of a duration.
inline Rational seconds_of(Instant::Duration d) { return Rational(BigInt(d.count()), BigInt(1'000'000'000)); }
inline Rational hours_of(Instant::Duration d) { return seconds_of(d) / 3600; }

// A half-open interval [start, end). An end before the start is an error.
class Interval {
 public:
  Interval(Instant start, Instant end) : start_(start), end_(end) {
    if (end < start) throw ParseError("interval ends (" + end.to_string() + ") before it starts (" + start.to_string() + ")");
  }
  Instant start() const noexcept { return start_; }
  Instant end() const noexcept { return end_; }
  Instant::Duration length() const noexcept { return end_ - start_; }
  bool contains(Instant t) const noexcept { return start_ <= t && t < end_; }
  // The length of the overlap with another interval (zero when they do not meet).
  Instant::Duration overlap(const Interval& other) const noexcept {
    const Instant s = std::max(start_, other.start_);
    const Instant e = std::min(end_, other.end_);
    return e > s ? e - s : Instant::Duration::zero();
  }
  friend bool operator==(const Interval&, const Interval&) = default;

 private:
  Instant start_;
  Instant end_;
};

APPORTION_END_NAMESPACE

APPORTION_BEGIN_NAMESPACE

// The length of a series' buckets (docs/spec.md, "Series"), all in UTC: an hour, a day, a
// week starting on Monday, or a calendar month.
enum class BucketStep { hour, day, week, month };
// "1h", "1d", "1w" or "1mo"; none for anything else.
std::optional<BucketStep> bucket_step_from(std::string_view text) noexcept;
std::string_view to_string(BucketStep step) noexcept;
// Whether `t` starts a bucket of this length (a whole hour, a midnight, a Monday's
// midnight, the first of a month's midnight).
bool starts_bucket(Instant t, BucketStep step);
// The buckets [t, t + step) from `start` to `end`, both on boundaries, in order; none when
// they are equal. std::invalid_argument when one is not on a boundary or end < start.
std::vector<Interval> buckets_between(Instant start, Instant end, BucketStep step);
// The index of the bucket holding `t` among consecutive buckets in order, or none.
std::optional<std::size_t> bucket_holding(const std::vector<Interval>& buckets, Instant t);
// Calls add(b, nanoseconds) for each bucket b (of consecutive `buckets`, in order) that
// `span` overlaps, with the overlap.
void for_each_overlap(const std::vector<Interval>& buckets, const Interval& span,
                      const std::function<void(std::size_t, std::int64_t)>& add);

APPORTION_END_NAMESPACE
