// Calendar arithmetic through <chrono>'s civil calendar: month lengths, leap years and
// weekdays come from the library, not from counted days.

#include "apportion/time.hpp"

#include "text.hpp"

#include <chrono>
#include <limits>
#include <stdexcept>

APPORTION_BEGIN_NAMESPACE

namespace {

[[noreturn]] void bad_time(std::string_view text, const char* why) {
  throw ParseError("not an RFC 3339 timestamp (" + std::string(why) + "): \"" + std::string(text.substr(0, 64)) + "\"");
}

}  // namespace

Instant Instant::parse(std::string_view text) {
  std::size_t i = 0;
  const auto number = [&](int width) {
    int v = 0;
    for (int k = 0; k < width; ++k, ++i) {
      if (i >= text.size() || text[i] < '0' || text[i] > '9') bad_time(text, "expected a digit");
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  const auto expect = [&](char c) {
    if (i >= text.size() || text[i] != c) bad_time(text, "unexpected character");
    ++i;
  };
  const int year = number(4);
  expect('-');
  const int month = number(2);
  expect('-');
  const int day = number(2);
  if (i >= text.size() || (text[i] != 'T' && text[i] != 't' && text[i] != ' ')) bad_time(text, "expected a time");
  ++i;
  const int hour = number(2);
  expect(':');
  const int minute = number(2);
  expect(':');
  const int second = number(2);
  std::int64_t nanos = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    int digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (text[i] - '0');
      } else if (text[i] != '0') {
        bad_time(text, "more than nanosecond precision");
      }
      ++digits;
      ++i;
    }
    if (digits == 0) bad_time(text, "empty fraction");
    for (int k = digits; k < 9; ++k) nanos *= 10;
  }
  int offset_minutes = 0;
  if (i < text.size() && (text[i] == 'Z' || text[i] == 'z')) {
    ++i;
  } else if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    const int sign = text[i] == '-' ? -1 : 1;
    ++i;
    const int oh = number(2);
    expect(':');
    const int om = number(2);
    if (oh > 23 || om > 59) bad_time(text, "offset out of range");
    offset_minutes = sign * (oh * 60 + om);
  } else {
    bad_time(text, "missing time zone offset");
  }
  if (i != text.size()) bad_time(text, "trailing characters");
  const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.month().ok()) bad_time(text, "month out of range");
  if (!date.ok()) bad_time(text, "day out of range");  // the calendar knows month lengths and leap years
  if (hour > 23 || minute > 59 || second > 59) bad_time(text, "time of day out of range");
  const std::int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  // Every int64 count of nanoseconds (1677-09-21T00:12:43.145224192Z to
  // 2262-04-11T23:47:16.854775807Z, the whole years 1678 to 2261), so that every Instant's
  // to_string() reads back.
  const int128 ns = static_cast<int128>(seconds) * 1'000'000'000 + nanos;
  if (ns > std::numeric_limits<std::int64_t>::max() || ns < std::numeric_limits<std::int64_t>::min())
    bad_time(text, "outside the years 1678 to 2261");
  return from_unix_nanos(static_cast<std::int64_t>(ns));
}

std::string Instant::to_string() const {
  text::Buffer out;
  text::put_instant(out, *this);
  return out;
}

// ---- Series buckets ------------------------------------------------------------------

std::optional<BucketStep> bucket_step_from(std::string_view text) noexcept {
  if (text == "1h") return BucketStep::hour;
  if (text == "1d") return BucketStep::day;
  if (text == "1w") return BucketStep::week;
  if (text == "1mo") return BucketStep::month;
  return std::nullopt;
}

std::string_view to_string(BucketStep step) noexcept {
  switch (step) {
    case BucketStep::hour: return "1h";
    case BucketStep::day: return "1d";
    case BucketStep::week: return "1w";
    case BucketStep::month: return "1mo";
  }
  return "?";
}

namespace {

using std::chrono::sys_days;
using SysNanos = std::chrono::sys_time<std::chrono::nanoseconds>;

SysNanos as_sys(Instant t) { return SysNanos(std::chrono::nanoseconds(t.unix_nanos())); }
Instant from_sys(SysNanos t) { return Instant::from_unix_nanos(t.time_since_epoch().count()); }

}  // namespace

bool starts_bucket(Instant t, BucketStep step) {
  // By remainders, not by flooring: the floor of the earliest instants to a day or an hour
  // would pass below the int64 range of nanoseconds.
  constexpr std::int64_t ns_per_hour = 3'600'000'000'000, ns_per_day = 24 * ns_per_hour;
  if (t.unix_nanos() % (step == BucketStep::hour ? ns_per_hour : ns_per_day) != 0) return false;
  if (step == BucketStep::hour || step == BucketStep::day) return true;
  const sys_days day{std::chrono::days(t.unix_nanos() / ns_per_day)};
  if (step == BucketStep::week) return std::chrono::weekday(day) == std::chrono::Monday;
  return std::chrono::year_month_day(day).day() == std::chrono::day(1);
}

std::optional<std::size_t> bucket_holding(const std::vector<Interval>& buckets, Instant t) {
  const auto b = std::upper_bound(buckets.begin(), buckets.end(), t, [](Instant x, const Interval& i) { return x < i.end(); });
  if (b == buckets.end() || !b->contains(t)) return std::nullopt;
  return static_cast<std::size_t>(b - buckets.begin());
}

void for_each_overlap(const std::vector<Interval>& buckets, const Interval& span,
                      const std::function<void(std::size_t, std::int64_t)>& add) {
  auto b = std::upper_bound(buckets.begin(), buckets.end(), span.start(), [](Instant t, const Interval& x) { return t < x.end(); });
  for (; b != buckets.end() && b->start() < span.end(); ++b)
    if (const auto overlap = b->overlap(span); overlap.count() > 0)
      add(static_cast<std::size_t>(b - buckets.begin()), overlap.count());
}

std::vector<Interval> buckets_between(Instant start, Instant end, BucketStep step) {
  if (end < start) throw std::invalid_argument("ends (" + end.to_string() + ") before it starts (" + start.to_string() + ")");
  for (const Instant t : {start, end})
    if (!starts_bucket(t, step))
      throw std::invalid_argument(t.to_string() + " does not start a bucket of \"" + std::string(to_string(step)) + "\"" +
                                  (step == BucketStep::week ? " (weeks start on Monday, 00:00 UTC)"
                                   : step == BucketStep::month ? " (months start on the first, 00:00 UTC)"
                                   : step == BucketStep::day ? " (days start at 00:00 UTC)" : " (a whole hour, UTC)"));
  std::vector<Interval> out;
  for (Instant t = start; t < end;) {
    Instant next;
    if (step == BucketStep::hour) {
      next = from_sys(as_sys(t) + std::chrono::hours(1));
    } else if (step == BucketStep::day || step == BucketStep::week) {
      next = from_sys(as_sys(t) + std::chrono::days(step == BucketStep::day ? 1 : 7));
    } else {
      const std::chrono::year_month_day first(std::chrono::floor<std::chrono::days>(as_sys(t)));
      next = from_sys(SysNanos(sys_days(first + std::chrono::months(1))));
    }
    out.emplace_back(t, next);
    t = next;
  }
  return out;
}

APPORTION_END_NAMESPACE
