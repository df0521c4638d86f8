#include "apportion/time.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>

#include "printers.hpp"

namespace {

using apportion::Instant;
using apportion::Interval;
using apportion::ParseError;
using apportion::Rational;
using namespace std::chrono_literals;

Instant T(const char* text) { return Instant::parse(text); }

TEST(InstantParse, ReadsUtc) {
  EXPECT_EQ(T("1970-01-01T00:00:00Z").unix_nanos(), 0);
  EXPECT_EQ(T("2026-06-02T00:00:00Z"), Instant::from_unix_seconds(1'780'358'400));
  EXPECT_EQ(T("2026-06-02T10:00:00Z") - T("2026-06-02T00:00:00Z"), 10h);
  EXPECT_EQ(T("1969-12-31T23:59:59Z").unix_nanos(), -1'000'000'000);
}

TEST(InstantParse, ConvertsOffsetsToUtc) {
  EXPECT_EQ(T("2026-06-02T12:00:00+02:00"), T("2026-06-02T10:00:00Z"));
  EXPECT_EQ(T("2026-06-02T00:30:00-01:30"), T("2026-06-02T02:00:00Z"));
  EXPECT_EQ(T("2026-01-01T00:30:00+01:00").to_string(), "2025-12-31T23:30:00Z");
  EXPECT_EQ(T("2025-12-31T23:30:00-05:00").to_string(), "2026-01-01T04:30:00Z");
  EXPECT_EQ(T("2026-06-02T10:00:00+00:00"), T("2026-06-02T10:00:00Z"));
  EXPECT_EQ(T("2026-06-02T10:00:00-00:00"), T("2026-06-02T10:00:00Z"));
  EXPECT_EQ(T("2026-06-02T10:00:00+23:59").to_string(), "2026-06-01T10:01:00Z");
}

TEST(InstantParse, AcceptsRfc3339Spellings) {
  EXPECT_EQ(T("2026-06-02t10:00:00z"), T("2026-06-02T10:00:00Z"));
  EXPECT_EQ(T("2026-06-02 10:00:00Z"), T("2026-06-02T10:00:00Z"));
}

TEST(InstantParse, ReadsFractionalSeconds) {
  EXPECT_EQ(T("2026-06-02T10:00:00.5Z") - T("2026-06-02T10:00:00Z"), 500ms);
  EXPECT_EQ(T("2026-06-02T10:00:00.123456789Z") - T("2026-06-02T10:00:00Z"), 123'456'789ns);
  EXPECT_EQ(T("2026-06-02T10:00:00.000000001Z") - T("2026-06-02T10:00:00Z"), 1ns);
  // Zeros past the nanosecond lose nothing; other digits would.
  EXPECT_EQ(T("2026-06-02T10:00:00.1000000000000Z"), T("2026-06-02T10:00:00.1Z"));
  EXPECT_THROW(T("2026-06-02T10:00:00.0000000001Z"), ParseError);
  EXPECT_EQ(T("2026-06-02T12:00:00.25+02:00").to_string(), "2026-06-02T10:00:00.25Z");
}

TEST(InstantPrint, RoundTrips) {
  for (const char* text : {"2026-06-02T00:00:00Z", "2026-06-02T10:40:00Z", "2026-06-02T10:00:00.5Z",
                           "2026-06-02T10:00:00.123456789Z", "2024-02-29T23:59:59.999999999Z", "1970-01-01T00:00:00Z",
                           "1969-12-31T23:59:59.5Z", "1900-03-01T00:00:00Z", "2000-02-29T12:00:00Z",
                           "1678-01-01T00:00:00Z", "2261-12-31T23:59:59Z"}) {
    EXPECT_EQ(T(text).to_string(), text);
    EXPECT_EQ(T(T(text).to_string().c_str()), T(text));
  }
  EXPECT_EQ(T("2026-06-02T10:00:00.100Z").to_string(), "2026-06-02T10:00:00.1Z");
  EXPECT_EQ(Instant::from_unix_nanos(-1).to_string(), "1969-12-31T23:59:59.999999999Z");
}

// Found by fuzzing (tests/fuzz/fuzz_time.cpp): every Instant, the int64 ends included, prints
// to text that reads back; one nanosecond beyond either end is refused.
TEST(InstantPrint, EveryInstantRoundTrips) {
  const Instant lowest = Instant::from_unix_nanos(std::numeric_limits<std::int64_t>::min());
  const Instant highest = Instant::from_unix_nanos(std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(lowest.to_string(), "1677-09-21T00:12:43.145224192Z");
  EXPECT_EQ(highest.to_string(), "2262-04-11T23:47:16.854775807Z");
  for (const Instant t : {lowest, highest, Instant::from_unix_nanos(-9'223'372'036'854'775'000),
                          Instant::from_unix_nanos(9'223'372'036'000'000'000)})
    EXPECT_EQ(Instant::parse(t.to_string()), t) << t.to_string();
  EXPECT_EQ(T("2262-04-12T01:47:16.854775807+02:00"), highest);
  EXPECT_THROW(T("1677-09-21T00:12:43.145224191Z"), ParseError);
  EXPECT_THROW(T("2262-04-11T23:47:16.854775808Z"), ParseError);
  EXPECT_THROW(T("2262-04-11T23:47:16.854775807-00:01"), ParseError);
}

TEST(InstantParse, KnowsLeapYears) {
  EXPECT_NO_THROW(T("2024-02-29T00:00:00Z"));
  EXPECT_NO_THROW(T("2000-02-29T00:00:00Z"));
  EXPECT_THROW(T("2023-02-29T00:00:00Z"), ParseError);
  EXPECT_THROW(T("2100-02-29T00:00:00Z"), ParseError);
  EXPECT_THROW(T("1900-02-29T00:00:00Z"), ParseError);
  EXPECT_THROW(T("2024-02-30T00:00:00Z"), ParseError);
  EXPECT_EQ(T("2024-03-01T00:00:00Z") - T("2024-02-28T00:00:00Z"), 48h);
  EXPECT_EQ(T("2023-03-01T00:00:00Z") - T("2023-02-28T00:00:00Z"), 24h);
  EXPECT_EQ(T("2025-01-01T00:00:00Z") - T("2024-01-01T00:00:00Z"), 366 * 24h);
}

TEST(InstantParse, RejectsInvalidTimestamps) {
  for (const char* bad : {"", "2026-06-02", "2026-06-02T10:00Z", "2026-06-02T10:00:00", "2026-13-01T00:00:00Z",
                          "2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-06-00T00:00:00Z",
                          "2026-06-32T00:00:00Z", "2026-06-02T24:00:00Z", "2026-06-02T10:60:00Z",
                          "2026-06-02T10:00:60Z", "2026-06-02T10:00:00.Z", "2026-06-02T10:00:00+02",
                          "2026-06-02T10:00:00+0200", "2026-06-02T10:00:00+24:00", "2026-06-02T10:00:00+02:60",
                          "2026-06-02T10:00:00ZZ", "2026-06-02T10:00:00Z ", " 2026-06-02T10:00:00Z",
                          "2026-6-02T10:00:00Z", "2026/06/02T10:00:00Z", "2026-06-02X10:00:00Z", "20260602T100000Z",
                          "2026-06-02T10:00:00 UTC", "1600-01-01T00:00:00Z", "2262-06-01T00:00:00Z", "garbage"}) {
    EXPECT_THROW(T(bad), ParseError) << '"' << bad << '"';
  }
}

TEST(InstantParse, ErrorsQuoteTheText) {
  try {
    T("2026-02-30T00:00:00Z");
    FAIL() << "no exception";
  } catch (const ParseError& e) {
    EXPECT_NE(std::string(e.what()).find("2026-02-30T00:00:00Z"), std::string::npos) << e.what();
  }
}

TEST(Instant, ArithmeticAndOrder) {
  const Instant a = T("2026-06-02T10:00:00Z");
  EXPECT_EQ(a + 90min, T("2026-06-02T11:30:00Z"));
  EXPECT_EQ(a + std::chrono::nanoseconds(-1), T("2026-06-02T09:59:59.999999999Z"));
  EXPECT_LT(a, a + 1ns);
  EXPECT_GT(a, T("2026-06-02T11:59:59+02:00"));
  EXPECT_EQ(Instant::from_unix_seconds(60).unix_nanos(), 60'000'000'000);
}

TEST(Duration, SecondsAndHoursAreExact) {
  EXPECT_EQ(apportion::seconds_of(90min), Rational(5400));
  EXPECT_EQ(apportion::hours_of(90min), Rational(3, 2));
  EXPECT_EQ(apportion::hours_of(1s), Rational(1, 3600));
  EXPECT_EQ(apportion::seconds_of(1ns), Rational(1, 1'000'000'000));
  EXPECT_EQ(apportion::hours_of(T("2026-06-02T10:40:00Z") - T("2026-06-02T10:00:00Z")), Rational(2, 3));
  EXPECT_EQ(apportion::hours_of(-30min), Rational(-1, 2));
}

TEST(Interval, EndBeforeStartIsAnError) {
  EXPECT_THROW(Interval(T("2026-06-02T10:00:00Z"), T("2026-06-02T09:59:59Z")), ParseError);
  EXPECT_THROW(Interval(T("2026-06-02T10:00:00.000000001Z"), T("2026-06-02T10:00:00Z")), ParseError);
  try {
    Interval(T("2026-06-02T10:00:00Z"), T("2026-06-02T09:00:00Z"));
    FAIL() << "no exception";
  } catch (const ParseError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("2026-06-02T09:00:00Z"), std::string::npos) << what;
    EXPECT_NE(what.find("2026-06-02T10:00:00Z"), std::string::npos) << what;
  }
}

TEST(Interval, IsHalfOpen) {
  const Interval i(T("2026-06-02T10:00:00Z"), T("2026-06-02T10:40:00Z"));
  EXPECT_EQ(i.length(), 40min);
  EXPECT_TRUE(i.contains(T("2026-06-02T10:00:00Z")));
  EXPECT_TRUE(i.contains(T("2026-06-02T10:39:59.999999999Z")));
  EXPECT_FALSE(i.contains(T("2026-06-02T10:40:00Z")));
  EXPECT_FALSE(i.contains(T("2026-06-02T09:59:59Z")));
  const Interval empty(T("2026-06-02T10:00:00Z"), T("2026-06-02T10:00:00Z"));
  EXPECT_EQ(empty.length(), 0ns);
  EXPECT_FALSE(empty.contains(T("2026-06-02T10:00:00Z")));
  EXPECT_EQ(i, Interval(T("2026-06-02T12:00:00+02:00"), T("2026-06-02T10:40:00Z")));
}

TEST(Interval, Overlap) {
  const Interval day(T("2026-06-02T00:00:00Z"), T("2026-06-03T00:00:00Z"));
  EXPECT_EQ(day.overlap(Interval(T("2026-06-01T22:00:00Z"), T("2026-06-02T02:00:00Z"))), 2h);
  EXPECT_EQ(day.overlap(Interval(T("2026-06-02T06:00:00Z"), T("2026-06-02T07:30:00Z"))), 90min);
  EXPECT_EQ(day.overlap(Interval(T("2026-06-01T00:00:00Z"), T("2026-06-04T00:00:00Z"))), 24h);
  EXPECT_EQ(day.overlap(Interval(T("2026-06-03T00:00:00Z"), T("2026-06-04T00:00:00Z"))), 0ns);  // adjacent
  EXPECT_EQ(day.overlap(Interval(T("2026-05-01T00:00:00Z"), T("2026-05-02T00:00:00Z"))), 0ns);  // disjoint
  EXPECT_EQ(Interval(T("2026-06-02T22:00:00Z"), T("2026-06-03T02:00:00Z")).overlap(day), 2h);
  EXPECT_EQ(day.overlap(Interval(T("2026-06-02T05:00:00Z"), T("2026-06-02T05:00:00Z"))), 0ns);
}

}  // namespace
