#pragma once
// Writing text: every writer (JSON, CSV, the table and Markdown, Prometheus, FOCUS, the
// report) appends to one string through fmt, numbers written straight into it (fmt writes
// into a string's own storage: no copy at the end). Private to the library: fmt is a build
// dependency, not part of the installed interface.

#include <iterator>
#include <string>
#include <string_view>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "apportion/decimal.hpp"
#include "apportion/time.hpp"

APPORTION_BEGIN_NAMESPACE
namespace text {

using Buffer = std::string;

inline void put(Buffer& out, std::string_view s) { out.append(s); }
inline void put_repeated(Buffer& out, char c, std::size_t count) { out.append(count, c); }

template <class... Args>
void put_format(Buffer& out, fmt::format_string<Args...> format, Args&&... args) {
  fmt::format_to(std::back_inserter(out), format, std::forward<Args>(args)...);
}

// `units` / 10^places with exactly `places` fractional digits: (1234, 2) is "12.34", (-5, 2)
// "-0.05".
void put_fixed(Buffer& out, int128 units, int places);

// `value` rounded half-even to `unit`, written with `places` (unit.fractional_digits(),
// worked out once by the caller) fractional digits: what format_amount gives.
void put_amount(Buffer& out, const Decimal& value, const Decimal& unit, int places);

// `value` rounded half-even to `places` fractional digits at any magnitude; `trim` drops
// trailing zeros ("2.5", "12").
void put_rounded(Buffer& out, const Rational& value, int places, bool trim);

// part / whole (whole not zero) as a percentage with two decimals: "12.50%".
void put_percent(Buffer& out, const Decimal& part, const Decimal& whole);

// RFC 3339 in UTC: "2026-11-01T00:00:00Z", with the nanoseconds when there are some
// (trailing zeros dropped).
void put_instant(Buffer& out, Instant t);

// One CSV field, RFC 4180: quoted when it holds a comma, a quote or a line break, quotes
// doubled.
void put_csv_field(Buffer& out, std::string_view s);

// A JSON string as nlohmann's dump writes one (UTF-8 kept, control characters escaped).
void put_json_string(Buffer& out, std::string_view s);

}  // namespace text
APPORTION_END_NAMESPACE
