// Series: the steps run once per UTC bucket (docs/spec.md, "Series"). Every figure below is
// worked out by hand in the comment above it.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <random>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;
using nlohmann::json;

Instant at(const char* text) { return Instant::parse(text); }

std::vector<std::int64_t> days_of(const std::vector<Interval>& buckets) {
  std::vector<std::int64_t> out;
  for (const Interval& b : buckets) out.push_back(b.length().count() / 86'400'000'000'000);
  return out;
}

TEST(SeriesCalendar, MonthsHaveTheirLengthsAndFebruaryItsLeapDay) {
  const auto months = buckets_between(at("2024-01-01T00:00:00Z"), at("2025-01-01T00:00:00Z"), BucketStep::month);
  EXPECT_EQ(days_of(months), (std::vector<std::int64_t>{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}));
  EXPECT_EQ(buckets_between(at("2024-02-01T00:00:00Z"), at("2024-03-01T00:00:00Z"), BucketStep::day).size(), 29u);
  EXPECT_EQ(buckets_between(at("2026-02-01T00:00:00Z"), at("2026-03-01T00:00:00Z"), BucketStep::day).size(), 28u);
  EXPECT_EQ(buckets_between(at("2026-06-01T00:00:00Z"), at("2026-06-02T00:00:00Z"), BucketStep::hour).size(), 24u);
}

TEST(SeriesCalendar, WeeksStartOnMondayAndBoundariesAreChecked) {
  // 2026-06-01 is a Monday; 2026-06-29 too.
  EXPECT_TRUE(starts_bucket(at("2026-06-01T00:00:00Z"), BucketStep::week));
  EXPECT_FALSE(starts_bucket(at("2026-06-02T00:00:00Z"), BucketStep::week));
  EXPECT_FALSE(starts_bucket(at("2026-06-01T00:00:01Z"), BucketStep::day));
  EXPECT_TRUE(starts_bucket(at("2026-06-01T13:00:00Z"), BucketStep::hour));
  EXPECT_FALSE(starts_bucket(at("2026-06-01T13:30:00Z"), BucketStep::hour));
  EXPECT_FALSE(starts_bucket(at("2026-06-02T00:00:00Z"), BucketStep::month));
  // The earliest instants, and days before 1970: no floor below the int64 range (UBSan
  // found one), and a Monday before 1970 is one.
  const Instant earliest = Instant::from_unix_nanos(std::numeric_limits<std::int64_t>::min());
  for (const BucketStep step : {BucketStep::hour, BucketStep::day, BucketStep::week, BucketStep::month})
    EXPECT_FALSE(starts_bucket(earliest, step));
  EXPECT_TRUE(starts_bucket(at("1969-12-29T00:00:00Z"), BucketStep::week));
  EXPECT_TRUE(starts_bucket(at("1969-12-01T00:00:00Z"), BucketStep::month));
  EXPECT_FALSE(starts_bucket(at("1969-12-02T00:00:00Z"), BucketStep::month));
  const auto weeks = buckets_between(at("2026-06-01T00:00:00Z"), at("2026-06-29T00:00:00Z"), BucketStep::week);
  EXPECT_EQ(days_of(weeks), (std::vector<std::int64_t>{7, 7, 7, 7}));
  EXPECT_THROW(buckets_between(at("2026-06-02T00:00:00Z"), at("2026-06-29T00:00:00Z"), BucketStep::week), std::invalid_argument);
  EXPECT_EQ(bucket_step_from("1mo"), BucketStep::month);
  EXPECT_FALSE(bucket_step_from("2d").has_value());
}

// Three days, $100.00 spread 33.34 / 33.33 / 33.33 (the leftover cent to the earliest day).
// Team a runs from noon on day 1 to noon on day 2 (3 GPU-seconds: 1.5 each day), b is an
// instant on day 1 (1), c has no time and is spread over the three days (1 each).
//   day 1: a 1.5, b 1, c 1 of 3.5: 14.2857.., 9.5257.., 9.5257.. -> floors 14.28, 9.52, 9.52
//          (33.32), two cents left: a (remainder .0086), then b (ties c, b's tags first)
//          -> 14.29, 9.53, 9.52
//   day 2: a 1.5, c 1 of 2.5 over 33.33: 19.998, 13.332 -> 20.00, 13.33
//   day 3: c alone: 33.33
const std::string kThreeDays = R"({"apportion": 1, "currency": "USD",
 "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "step": "1d"},
 "pools": [{"id": "node", "cost": "100.00"}],
 "records": [
  {"tags": {"team": "a"}, "start": "2026-06-01T12:00:00Z", "end": "2026-06-02T12:00:00Z", "measures": {"gpu_seconds": 3}},
  {"tags": {"team": "b"}, "at": "2026-06-01T05:00:00Z", "measures": {"gpu_seconds": 1}},
  {"tags": {"team": "c"}, "measures": {"gpu_seconds": 3}}],
 "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}],
 "statements": [{"id": "by_team", "group_by": ["team"]}]})";

// "day team cost" for each line, in result order.
std::vector<std::string> lines_of(const Result& r) {
  std::vector<std::string> out;
  for (const Line& l : r.lines)
    out.push_back(l.bucket->start().to_string().substr(8, 2) + " " + std::string(l.tags.get("team").value_or("-")) + " " +
                  l.cost.to_fixed(2));
  return out;
}

TEST(Series, EachBucketSplitsItsPartOfThePoolByItsPartOfTheRecords) {
  const Result r = run(allocation_from_json(kThreeDays));
  EXPECT_EQ(lines_of(r), (std::vector<std::string>{"01 a 14.29", "01 b 9.53", "01 c 9.52", "02 a 20.00", "02 c 13.33",
                                                   "03 c 33.33"}));
  ASSERT_EQ(r.series.size(), 3u);
  EXPECT_EQ(r.series[0].pools[0].cost.to_fixed(2), "33.34");
  EXPECT_EQ(r.series[1].pools[0].cost.to_fixed(2), "33.33");
  EXPECT_EQ(r.series[2].pools[0].cost.to_fixed(2), "33.33");
  EXPECT_EQ(r.pools[0].cost.to_fixed(2), "100.00");
  // Each day's lines sum to its amount.
  for (const BucketPools& b : r.series) {
    Decimal sum;
    for (const Line& l : r.lines)
      if (l.bucket == b.bucket) sum += l.cost;
    EXPECT_EQ(sum, b.pools[0].cost) << b.bucket.start().to_string();
  }
  ASSERT_EQ(r.coverage.size(), 3u);
  EXPECT_EQ(r.coverage[2].bucket->start().to_string(), "2026-06-03T00:00:00Z");
}

TEST(Series, StatementRowsSumTheBucketsAndListEach) {
  const Result r = run(allocation_from_json(kThreeDays));
  ASSERT_EQ(r.statements.size(), 1u);
  const Statement& st = r.statements[0];
  EXPECT_EQ(st.total.to_fixed(2), "100.00");
  ASSERT_EQ(st.rows.size(), 3u);
  // a 14.29 + 20.00, b 9.53, c 9.52 + 13.33 + 33.33.
  const auto buckets = [](const StatementRow& row) {
    std::vector<std::string> out;
    for (const Decimal& d : row.buckets) out.push_back(d.to_fixed(2));
    return out;
  };
  EXPECT_EQ(st.rows[0].cost.to_fixed(2), "34.29");
  EXPECT_EQ(buckets(st.rows[0]), (std::vector<std::string>{"14.29", "20.00", "0.00"}));
  EXPECT_EQ(st.rows[1].cost.to_fixed(2), "9.53");
  EXPECT_EQ(st.rows[2].cost.to_fixed(2), "56.18");
  EXPECT_EQ(buckets(st.rows[2]), (std::vector<std::string>{"9.52", "13.33", "33.33"}));
  EXPECT_EQ(st.rows[2].parts.size(), 3u);
  EXPECT_EQ(st.rows[2].parts[1].bucket->start().to_string(), "2026-06-02T00:00:00Z");
}

TEST(Series, JsonCarriesEachLinesBucketAndThePoolsPerBucket) {
  const json doc = json::parse(run_spec(kThreeDays));
  EXPECT_EQ(doc["lines"][0]["bucket"], (json{{"start", "2026-06-01T00:00:00Z"}, {"end", "2026-06-02T00:00:00Z"}}));
  EXPECT_EQ(doc["series"][1], json::parse(R"({"start": "2026-06-02T00:00:00Z", "end": "2026-06-03T00:00:00Z",
                                              "pools": [{"id": "node", "cost": "33.33"}]})"));
  EXPECT_EQ(doc["coverage"][0]["bucket"]["end"], "2026-06-02T00:00:00Z");
  const json& row = doc["statements"][0]["rows"][0];
  EXPECT_EQ(row["buckets"][2], json::parse(R"({"start": "2026-06-03T00:00:00Z", "end": "2026-06-04T00:00:00Z", "cost": "0.00"})"));
  EXPECT_EQ(row["parts"][0]["bucket"]["start"], "2026-06-01T00:00:00Z");
}

TEST(Series, CsvAndTableCarryTheBuckets) {
  const Result r = run(allocation_from_json(kThreeDays));
  const std::string csv = result_to_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\r')), "step,pool,bucket_start,bucket_end,kind,team,cost,weight,share,split_cost,unused_cost,gpu_hours,statement");
  EXPECT_NE(csv.find("teams,node,2026-06-02T00:00:00Z,2026-06-03T00:00:00Z,allocated,a,20.00,1.5,0.600000,,,,\r\n"), std::string::npos);
  // A statement row once per bucket, zeros included.
  EXPECT_NE(csv.find(",,2026-06-03T00:00:00Z,2026-06-04T00:00:00Z,statement,a,0.00,,,,,,by_team\r\n"), std::string::npos);
  const std::string table = result_to_table(r);
  EXPECT_NE(table.find("2026-06-02T00:00:00Z  allocated  a          20.00"), std::string::npos) << table;
}

TEST(Series, PartsOfRecordsAreExactRationals) {
  // One GPU-second over three days is a third a day: no 12-digit rounding. With 2 spread
  // over the series (2/3 a day), each day's $10.00 goes 10/3 and 20/3 exactly.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "step": "1d"},
   "pools": [{"id": "node", "cost": "30.00"}],
   "records": [
    {"tags": {"team": "x"}, "start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "measures": {"gpu_seconds": 1}},
    {"tags": {"team": "y"}, "measures": {"gpu_seconds": 2}}],
   "steps": [{"id": "s", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}]})"));
  ASSERT_EQ(r.lines.size(), 6u);
  for (std::size_t i = 0; i < 6; i += 2) {
    EXPECT_EQ(r.lines[i].exact_cost, Rational(10, 3));
    EXPECT_EQ(*r.lines[i].weight, Rational(1, 3));
    EXPECT_EQ(r.lines[i].cost.to_fixed(2), "3.33");
    EXPECT_EQ(r.lines[i + 1].cost.to_fixed(2), "6.67");
  }
}

TEST(Series, APriceOverAnIntervalIsPricedOverEachBucketAtTheRatesThen) {
  // 1 GPU from June 1 to June 3 at 2.00 an hour, 3.00 from noon on June 2:
  //   day 1: 24 h x 2.00 = 48.00; day 2: 12 h x 2.00 + 12 h x 3.00 = 60.00; day 3: none.
  // A licence of 10.00 over June 2-10 is spread over the part of it in the series (June 2
  // and 3): 5.00 each, none on June 1.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "step": "1d"},
   "catalog": {"skus": [{"id": "h100", "unit": "gpu_hour", "prices": [
      {"tier": "on_demand", "rate": "2.00", "from": "2026-01-01T00:00:00Z"},
      {"tier": "on_demand", "rate": "3.00", "from": "2026-06-02T12:00:00Z"}]}]},
   "pools": [{"id": "gpu", "price": {"sku": "h100", "quantity": 1, "start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z"}},
             {"id": "licence", "cost": "10.00", "period": {"start": "2026-06-02T00:00:00Z", "end": "2026-06-10T00:00:00Z"}}],
   "records": [], "steps": []})"));
  ASSERT_EQ(r.series.size(), 3u);
  std::vector<std::string> gpu, licence;
  for (const BucketPools& b : r.series) {
    gpu.push_back(b.pools[0].cost.to_fixed(2));
    licence.push_back(b.pools[1].cost.to_fixed(2));
  }
  EXPECT_EQ(gpu, (std::vector<std::string>{"48.00", "60.00", "0.00"}));
  EXPECT_EQ(licence, (std::vector<std::string>{"0.00", "5.00", "5.00"}));
  EXPECT_EQ(r.pools[0].cost.to_fixed(2), "108.00");
  EXPECT_EQ(r.pools[1].cost.to_fixed(2), "10.00");
}

TEST(Series, EqualRemaindersGoToTheEarlierBucketWhateverTheAmounts) {
  // 0.04 over a period overlapping the first hour by 36 minutes and the second by 60: parts
  // 0.015 and 0.025, both a half-cent over. By amount the later would take the cent (0.01,
  // 0.03); between buckets the earlier takes it: 0.02, 0.02.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-01T02:00:00Z", "step": "1h"},
   "pools": [{"id": "p", "cost": "0.04", "period": {"start": "2026-06-01T00:24:00Z", "end": "2026-06-01T02:00:00Z"}}],
   "records": [], "steps": []})"));
  EXPECT_EQ(r.series[0].pools[0].cost.to_fixed(2), "0.02");
  EXPECT_EQ(r.series[1].pools[0].cost.to_fixed(2), "0.02");
}

TEST(Series, APricedRunIsPricedOverItsPartInEachBucket) {
  // 18:00 on June 1 to 06:00 on June 2, one GPU at 2.00 an hour: 6 h = 12.00 each day.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "catalog": {"skus": [{"id": "h100", "unit": "gpu_hour", "prices": [{"tier": "on_demand", "rate": "2.00", "from": "2026-01-01T00:00:00Z"}]}]},
   "pools": [],
   "records": [{"tags": {"experiment": "e1"}, "sku": "h100", "count": 1, "start": "2026-06-01T18:00:00Z", "end": "2026-06-02T06:00:00Z"}],
   "steps": [{"id": "runs", "strategy": "per_experiment"}]})"));
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].cost.to_fixed(2), "12.00");
  EXPECT_EQ(r.lines[1].cost.to_fixed(2), "12.00");
  EXPECT_EQ(*r.lines[1].gpu_hours, Rational(6));
}

TEST(Series, APricedRunsPartsAreRoundedTogetherToTheRunsCost) {
  // 23:30 on June 1 to 00:30 on June 2 at 0.01 an hour: the run costs 0.01, half of it each
  // day. Rounded day by day each half is 0.00 (half-even) and the cent is lost; the run's
  // parts rounded together give it to the earlier day.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "catalog": {"skus": [{"id": "t4", "unit": "gpu_hour", "prices": [{"tier": "on_demand", "rate": "0.01", "from": "2026-01-01T00:00:00Z"}]}]},
   "pools": [],
   "records": [{"tags": {"experiment": "e1"}, "sku": "t4", "count": 1, "start": "2026-06-01T23:30:00Z", "end": "2026-06-02T00:30:00Z"}],
   "steps": [{"id": "runs", "strategy": "per_experiment"}]})"));
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].cost.to_fixed(2), "0.01");
  EXPECT_EQ(r.lines[1].cost.to_fixed(2), "0.00");
  EXPECT_EQ(*r.lines[1].gpu_hours, Rational(1, 2));
}

TEST(Series, ADrillDownDrawsEachBucketsLines) {
  // Day 1: nlp and vllm 1:1 of 10.00; day 2: vllm alone. The endpoint drawn from vllm's line
  // is 5.00 on day 1 and 10.00 on day 2, split by tenant within each day.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "pools": [{"id": "node", "cost": "20.00"}, {"id": "endpoint", "from": {"step": "ns", "tags": {"namespace": "vllm"}}}],
   "records": [
    {"tags": {"namespace": "nlp"}, "pool": "node", "at": "2026-06-01T01:00:00Z", "measures": {"gpu_seconds": 1}},
    {"tags": {"namespace": "vllm"}, "pool": "node", "start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "measures": {"gpu_seconds": 2}},
    {"tags": {"tenant": "t1"}, "pool": "endpoint", "at": "2026-06-01T02:00:00Z", "measures": {"tokens": 1}},
    {"tags": {"tenant": "t2"}, "pool": "endpoint", "at": "2026-06-02T02:00:00Z", "measures": {"tokens": 1}}],
   "steps": [{"id": "ns", "strategy": "proportional", "pool": "node", "group_by": ["namespace"], "weight": "gpu_seconds"},
             {"id": "tenants", "strategy": "proportional", "pool": "endpoint", "group_by": ["tenant"], "weight": "tokens"}]})"));
  std::vector<std::string> got;
  for (const Line& l : r.lines)
    got.push_back(l.step + " " + l.bucket->start().to_string().substr(8, 2) + " " + l.tags.begin()->second + " " + l.cost.to_fixed(2));
  // Bucket by bucket, then as without a series.
  EXPECT_EQ(got, (std::vector<std::string>{"ns 01 nlp 5.00", "ns 01 vllm 5.00", "tenants 01 t1 5.00", "ns 02 vllm 10.00",
                                           "tenants 02 t2 10.00"}));
  EXPECT_EQ(r.pools[1].cost.to_fixed(2), "15.00");
}

TEST(Series, TheResultDoesNotDependOnRecordOrder) {
  json spec = json::parse(kThreeDays);
  const std::string expected = run_spec(spec.dump());
  std::mt19937 rng(7);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(spec["records"].begin(), spec["records"].end(), rng);
    EXPECT_EQ(run_spec(spec.dump()), expected);
  }
}

TEST(Series, RecordsOutsideTheSeriesAreToldNotDroppedSilently) {
  // An instant on June 5 and an interval in July, outside June 1-4: two records in no bucket.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "step": "1d"},
   "pools": [{"id": "node", "cost": "30.00"}],
   "records": [{"tags": {"team": "a"}, "measures": {"gpu_seconds": 1}},
               {"tags": {"team": "b"}, "at": "2026-06-05T00:00:00Z", "measures": {"gpu_seconds": 1}},
               {"tags": {"team": "c"}, "start": "2026-07-01T00:00:00Z", "end": "2026-07-02T00:00:00Z", "measures": {"gpu_seconds": 1}}],
   "steps": [{"id": "s", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}]})"));
  EXPECT_EQ(r.lines.size(), 3u);  // a alone, each day
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "series: 2 records fall outside the series (2026-06-01T00:00:00Z to 2026-06-04T00:00:00Z), so they "
                            "take no part"}));
}

TEST(Series, ABucketWithoutRecordsSaysSoNotThatTheSpecHasNone) {
  // Usage on June 1 only: June 2 and 3 are unallocated, and the warning says why.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "step": "1d"},
   "pools": [{"id": "node", "cost": "30.00"}],
   "records": [{"tags": {"team": "a"}, "at": "2026-06-01T10:00:00Z", "measures": {"gpu_seconds": 1}}],
   "steps": [{"id": "s", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}]})"));
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "steps[0]: no record takes part in step \"s\" (no usage record falls in the bucket) (in 2 of "
                            "the 3 buckets, the first starting 2026-06-02T00:00:00Z)"}));
}

std::string error_of(const std::string& spec) {
  try {
    run_spec(spec);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

std::string with(const std::string& series, const std::string& pools, const std::string& records,
                 const std::string& steps = "[]") {
  return R"({"apportion": 1, )" + (series.empty() ? "" : R"("series": )" + series + ", ") + R"("pools": )" + pools +
         R"(, "records": )" + records + R"(, "steps": )" + steps + "}";
}

TEST(SeriesErrors, NameWhereTheyAre) {
  const std::string days = R"({"start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "step": "1d"})";
  EXPECT_EQ(error_of(with(R"({"start": "2026-06-01T00:00:00Z", "end": "2026-06-04T00:00:00Z", "step": "2d"})", "[]", "[]")),
            R"(series.step: must be "1h", "1d", "1w" or "1mo" (got "2d"))");
  EXPECT_EQ(error_of(with(R"({"start": "2026-06-02T00:00:00Z", "end": "2026-06-29T00:00:00Z", "step": "1w"})", "[]", "[]")),
            R"(series.start: must fall on a boundary of the "1w" buckets (2026-06-02T00:00:00Z is not a Monday, 00:00 UTC))");
  EXPECT_EQ(error_of(with(R"({"start": "2026-06-01T00:00:00Z", "end": "2026-06-15T00:00:00Z", "step": "1mo"})", "[]", "[]")),
            R"(series.end: must fall on a boundary of the "1mo" buckets (2026-06-15T00:00:00Z is not the first of a month, 00:00 UTC))");
  EXPECT_EQ(error_of(with(R"({"start": "2026-06-01T00:00:00Z", "end": "2026-06-01T00:00:00Z", "step": "1d"})", "[]", "[]")),
            "series.end: must be after start (2026-06-01T00:00:00Z <= 2026-06-01T00:00:00Z)");
  EXPECT_EQ(error_of(with(R"({"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"})", "[]", "[]")),
            R"(series: missing required key "step")");
  // Without a series, `at` and `period` mean nothing: errors, not ignored.
  EXPECT_EQ(error_of(with("", "[]", R"([{"tags": {}, "at": "2026-06-01T00:00:00Z"}])")),
            R"(records[0].at: places the record in a bucket of a series, and the spec has no "series")");
  EXPECT_EQ(error_of(with("", R"([{"id": "p", "cost": 1, "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}}])", "[]")),
            R"(pools[0].period: spreads the pool over the buckets of a series, and the spec has no "series")");
  EXPECT_EQ(error_of(with(days, "[]", R"([{"tags": {}, "at": "2026-06-01T00:00:00Z", "start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}])")),
            "records[0].at: an instant, or an interval with start and end: give one, not both");
  EXPECT_EQ(error_of(with(days, "[]", R"([{"tags": {}, "start": "2026-06-01T00:00:00Z"}])")),
            "records[0].end: a record over an interval needs both start and end");
  EXPECT_EQ(error_of(with(days, R"([{"id": "p", "cost": 1, "period": {"start": "2026-07-01T00:00:00Z", "end": "2026-07-02T00:00:00Z"}}])", "[]")),
            "pools[0].period: does not overlap the series (2026-06-01T00:00:00Z to 2026-06-04T00:00:00Z)");
  EXPECT_EQ(error_of(with(days, R"([{"id": "p", "cost": 1}, {"id": "q", "from": {"step": "s"}, "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-02T00:00:00Z"}}])",
                          "[]", R"([{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}])")),
            "pools[1].period: a pool drawn from a step takes each bucket's lines: it takes no period");
}

TEST(Series, APoolsPartsAreEachSpreadOverTheBuckets) {
  // GPU 120.00 (capacity 120 GPU-seconds a bucket) and CPU 40.00 (40 core-seconds) over two
  // days: 60.00 and 20.00 a day. The records, over the whole series, use half each day: a 60
  // GPU and 10 CPU, b 20 and 30, kube-system 20 GPU. Each day: GPU 60.00 / 120: a 30, b 10,
  // kube-system 10, idle 10; CPU 20.00 / 40: a 5, b 15. a 35.00, b 25.00.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "pools": [{"id": "node", "parts": [{"resource": "gpu", "cost": "120", "capacity": "120"},
                                      {"resource": "cpu", "cost": "40", "capacity": "40"}]}],
   "records": [{"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 120, "cpu_core_seconds": 20}},
               {"tags": {"namespace": "b"}, "measures": {"gpu_seconds": 40, "cpu_core_seconds": 60}},
               {"tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 40}}],
   "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node", "resources": {"gpu": "gpu_seconds", "cpu": "cpu_core_seconds"}}]})"));
  std::vector<std::string> got;
  for (const Line& l : r.lines)
    got.push_back(l.bucket->start().to_string().substr(8, 2) + " " + std::string(to_string(l.kind)) + " " +
                  std::string(*l.tags.get("namespace")) + " " + l.cost.to_fixed(2));
  EXPECT_EQ(got, (std::vector<std::string>{"01 allocated a 35.00", "01 allocated b 25.00", "01 overhead kube-system 10.00",
                                           "01 idle __idle__ 10.00", "02 allocated a 35.00", "02 allocated b 25.00",
                                           "02 overhead kube-system 10.00", "02 idle __idle__ 10.00"}));
  EXPECT_EQ(r.pools.at(0).cost.to_fixed(2), "160.00");
}

// Five days of $10.00 each. Team a uses 9 and b 1 on days 1-4; on day 5 a uses 1 and b 9.
// b's lines: 1.00, 1.00, 1.00, 1.00, 9.00. Trend (threshold 3, window 7): day 5 against the
// median of days 1-4 (1.00): 9 >= 3 x 1, flagged with score 9; a's day 5 (1.00 against 9.00)
// and every earlier day are not. The budget of b over the five days as of June 3 runs at
// days 1-2's 2.00 over 2 days: a forecast of 5.00; its spend is all five days, 13.00.
std::string spiking_days(const std::string& governance) {
  std::string records;
  for (int day = 1; day <= 5; ++day) {
    const std::string at = "\"2026-06-0" + std::to_string(day) + "T12:00:00Z\"";
    records += std::string(records.empty() ? "" : ",") + R"({"tags": {"team": "a"}, "at": )" + at +
               R"(, "measures": {"gpu_seconds": )" + (day < 5 ? "9" : "1") + "}}";
    records += R"(,{"tags": {"team": "b"}, "at": )" + at + R"(, "measures": {"gpu_seconds": )" + (day < 5 ? "1" : "9") + "}}";
  }
  return R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-06T00:00:00Z", "step": "1d"},
   "pools": [{"id": "node", "cost": "50.00"}], "records": [)" + records + R"(],
   "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}], )" +
         governance + "}";
}

TEST(SeriesGovernance, TrendFlagsALineAgainstItsOwnEarlierBuckets) {
  const json doc = json::parse(run_spec(spiking_days(R"("anomalies": [{"id": "spikes", "lines": {"step": "teams"}, "method": "trend"}])")));
  const json& a = doc["anomalies"][0];
  EXPECT_EQ(a["method"], "trend");
  EXPECT_EQ(a["threshold"], "3");
  ASSERT_EQ(a["flagged"].size(), 1u) << a.dump(1);
  const json& f = a["flagged"][0];
  EXPECT_EQ(f["key"], "spikes/2026-06-05T00:00:00Z/team=b");
  EXPECT_EQ(f["bucket"]["start"], "2026-06-05T00:00:00Z");
  EXPECT_EQ(f["cost"], "9.00");
  EXPECT_EQ(f["baseline"], "1.00");
  EXPECT_EQ(f["score"], "9.000000");
  // A window of 1 reads only the day before; a threshold of 10 flags nothing.
  const json narrow = json::parse(run_spec(spiking_days(
      R"("anomalies": [{"id": "s", "lines": {"step": "teams"}, "method": "trend", "window": 1, "threshold": 10}])")));
  EXPECT_TRUE(narrow["anomalies"][0]["flagged"].empty());
  // Fired once, a cron job's next check alerts on nothing new.
  const json again = json::parse(run_spec(spiking_days(
      R"("anomalies": [{"id": "spikes", "lines": {"step": "teams"}, "method": "trend", "already_fired": ["spikes/2026-06-05T00:00:00Z/team=b"]}])")));
  EXPECT_EQ(again["anomalies"][0]["flagged"][0]["alert"], false);
}

TEST(SeriesGovernance, ABudgetForecastsFromTheBucketsThatHaveEnded) {
  const json doc = json::parse(run_spec(spiking_days(R"("budgets": [{"id": "b", "spend": {"step": "teams", "tags": {"team": "b"}},
      "amount": 20, "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-06T00:00:00Z"}, "as_of": "2026-06-03T00:00:00Z"}])")));
  const json& b = doc["budgets"][0];
  EXPECT_EQ(b["spend"], "13.00");
  EXPECT_EQ(b["ratio"], "0.650000");
  EXPECT_EQ(b["forecast"], "5.00");
}

TEST(SeriesGovernance, ReconcileLinesCarryTheirBucket) {
  // An actual of 50.10: the 0.10 over the estimate split by cost over the ten lines.
  const json doc = json::parse(run_spec(spiking_days(R"("reconcile": [{"id": "r", "estimate": {"step": "teams"}, "actual": "50.10"}])")));
  const json& lines = doc["reconcile"][0]["lines"];
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[9]["bucket"]["start"], "2026-06-05T00:00:00Z");
  Decimal sum;
  for (const json& l : lines) sum += Decimal::parse(l["cost"].get<std::string>());
  EXPECT_EQ(sum.to_fixed(2), "50.10");
}

TEST(SeriesGovernance, UnitEconomicsReadEachBucketsPartOfTheRecords) {
  // 10.00 over two days, 5.00 a day. Model a's million prompt tokens run over both days,
  // half each; model b's 500,000 are at noon on June 2.
  //   June 1: a 5.00 for 500,000 tokens: 10.0000 per million.
  //   June 2: a and b 2.50 each for 500,000: 5.0000 per million.
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "pools": [{"id": "endpoint", "cost": "10.00"}],
   "records": [{"tags": {"model": "a"}, "measures": {"tokens_prompt": 1000000}, "start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z"},
               {"tags": {"model": "b"}, "measures": {"tokens_prompt": 500000}, "at": "2026-06-02T12:00:00Z"}],
   "steps": [{"id": "models", "strategy": "proportional", "pool": "endpoint", "group_by": ["model"], "weight": "tokens_prompt"}],
   "unit_economics": [{"id": "tokens", "lines": {"step": "models"}}]})"));
  ASSERT_TRUE(r.governance);
  std::vector<std::string> got;
  for (const LineEconomics& l : r.governance->unit_economics.at(0).lines) {
    ASSERT_TRUE(l.bucket);
    got.push_back(l.bucket->start().to_string().substr(8, 2) + " " + std::string(*l.tags.get("model")) + " " + l.cost.to_fixed(2) +
                  " " + l.quantities.at(0).second.str() + " " + l.per.at(0).second.to_fixed(4));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"01 a 5.00 500000 10.0000", "02 a 2.50 500000 5.0000", "02 b 2.50 500000 5.0000"}));
}

TEST(SeriesGovernance, TrendWithoutASeriesIsAnError) {
  EXPECT_EQ(error_of(R"({"apportion": 1, "pools": [{"id": "p", "cost": 1}], "records": [],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}],
    "anomalies": [{"id": "t", "lines": {"step": "s"}, "method": "trend"}]})"),
            R"(anomalies[0].method: "trend" compares a line with its own earlier buckets, and the spec has no "series")");
  EXPECT_EQ(error_of(spiking_days(R"("anomalies": [{"id": "t", "lines": {"step": "teams"}, "window": 3}])")),
            R"(anomalies[0].window: is the number of earlier buckets "trend" reads)");
}

TEST(SeriesInputs, ARangeQueryPutsEachSamplesIntervalIntoItsBuckets) {
  // tests/data/series/dcgm-across-midnight.json, a dcgm-exporter query_range answer: pod a-0
  // sampled hourly from 22:00 on June 1 to 02:00 on June 2 (two hours each day); b-0 at 23:30
  // and 01:30 (max_gap 7200: one stretch of two hours, 30 minutes on June 1, 90 on June 2).
  //   June 1: a 7200, b 1800 GPU-seconds of 24.00: 19.20, 4.80
  //   June 2: a 7200, b 5400: 13.714.. and 10.285.. -> 13.71, 10.29
  SpecOptions options;
  options.base_dir = APPORTION_TEST_DATA "/series";
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "inputs": [{"format": "dcgm", "path": "dcgm-across-midnight.json", "max_gap": 7200}],
   "pools": [{"id": "node", "cost": "48.00"}], "records": [],
   "steps": [{"id": "pods", "strategy": "proportional", "pool": "node", "group_by": ["pod"], "weight": "gpu_seconds"}]})",
                                            options));
  std::vector<std::string> got;
  for (const Line& l : r.lines)
    got.push_back(l.bucket->start().to_string().substr(8, 2) + " " + std::string(*l.tags.get("pod")) + " " + l.cost.to_fixed(2) +
                  " " + l.weight->str());
  EXPECT_EQ(got, (std::vector<std::string>{"01 a-0 19.20 7200", "01 b-0 4.80 1800", "02 a-0 13.71 7200", "02 b-0 10.29 5400"}));
}

}  // namespace

namespace {

// The records a format reads from tests/data/series/<file> under a series of days from June 1
// 2026, as "<day> <tags> <measure>=<value> ...", each with its bucket's start and end.
std::vector<std::string> records_by_day(const std::string& format, const std::string& file, const std::string& options) {
  std::ifstream in(std::string(APPORTION_TEST_DATA) + "/series/" + file, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<Interval> days = buckets_between(at("2026-06-01T00:00:00Z"), at("2026-06-03T00:00:00Z"), BucketStep::day);
  const ingest::BucketScope scope(&days);
  const Value parsed = parse_json(options);
  ObjectReader reader(parsed, "inputs[0]");
  const IngestResult result = IngestRegistry::global().parse(format, text, reader, file);
  std::vector<std::string> out;
  for (const Record& r : result.records) {
    EXPECT_TRUE(r.start && r.end && *r.end - *r.start == days[0].length()) << r.origin;
    std::string line = r.start->to_string().substr(8, 2);
    for (const auto& [k, v] : r.tags) line += " " + v;
    for (const auto& [k, v] : r.measures) line += " " + k + "=" + v.to_string();
    out.push_back(line);
  }
  return out;
}

}  // namespace

TEST(SeriesInputs, KubeStateMetricsRequestsGoToTheDaysTheyWereHeld) {
  // tests/data/series/ksm-across-midnight.json, a kube-state-metrics query_range answer
  // (hourly): trainer-0 requests 2 GPUs from 22:00 on June 1 to 02:00 on June 2, two hours
  // each day: 14400 GPU-seconds each day. eval-0 requests 1 GPU sampled at 23:30, 00:30 and
  // 01:30, Running until it is Succeeded at 01:30: 1800 s on June 1, 3600 + 1800 on June 2.
  EXPECT_EQ(records_by_day("kube-state-metrics", "ksm-across-midnight.json", R"({"max_gap": 3600})"),
            (std::vector<std::string>{"01 nlp trainer-0 nlp-research gpu_seconds=14400 gpus=2",
                                      "02 nlp trainer-0 nlp-research gpu_seconds=14400 gpus=2",
                                      "01 vision eval-0 vision gpu_seconds=1800 gpus=1",
                                      "02 vision eval-0 vision gpu_seconds=5400 gpus=1"}));
  // Split by team: June 1 24.00 x 14400/16200 = 21.333.. and 2.666..; June 2 24.00 x
  // 14400/19800 = 17.4545.. and 6.5454..: 21.33 + 2.67 and 17.45 + 6.55.
  SpecOptions options;
  options.base_dir = APPORTION_TEST_DATA "/series";
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "inputs": [{"format": "kube-state-metrics", "path": "ksm-across-midnight.json", "max_gap": 3600}],
   "pools": [{"id": "node", "cost": "48.00"}], "records": [],
   "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}]})",
                                            options));
  std::vector<std::string> got;
  for (const Line& l : r.lines)
    got.push_back(l.bucket->start().to_string().substr(8, 2) + " " + std::string(*l.tags.get("team")) + " " + l.cost.to_fixed(2));
  EXPECT_EQ(got, (std::vector<std::string>{"01 nlp-research 21.33", "01 vision 2.67", "02 nlp-research 17.45", "02 vision 6.55"}));
}

TEST(SeriesInputs, AVllmCounterRiseGoesWholeToTheBucketOfTheSampleThatSawIt) {
  // tests/data/series/vllm-across-midnight.json: llama's prompt counter 1000 (23:00), 1600
  // (23:30), 2000 (00:00), 2600 (00:30), then 100 after a restart (01:00). The rises seen by
  // 23:30 and 00:00 (600 + 400) close June 1; 600 and the 100 from zero fall on June 2.
  // qwen's generation counter goes 0 (23:00) to 300 (00:30): one rise, seen on June 2.
  EXPECT_EQ(records_by_day("vllm", "vllm-across-midnight.json", "{}"),
            (std::vector<std::string>{"01 meta-llama/Llama-3.1-8B-Instruct tokens_prompt=1000",
                                      "02 meta-llama/Llama-3.1-8B-Instruct tokens_prompt=700",
                                      "02 Qwen/Qwen2.5-7B-Instruct tokens_generation=300"}));
}

TEST(SeriesInputs, AFocusBillsRowsGoToTheDaysTheirChargePeriodsCover) {
  // tests/data/series/focus-hourly.csv: an instance billed 98.32 an hour, 24 hours on June 1
  // (2359.68), 18 on June 2 (stopped 06:00-12:00: 1769.76), and one hour on June 3, outside
  // the series: told, and left out. Teams from kube-state-metrics as above:
  //   June 1: 2359.68 x 14400/16200 = 2097.4933.., x 1800/16200 = 262.1866..
  //   June 2: 1769.76 x 14400/19800 = 1287.0981.., x 5400/19800 = 482.6618..
  SpecOptions options;
  options.base_dir = APPORTION_TEST_DATA "/series";
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "inputs": [{"format": "focus", "path": "focus-hourly.csv"},
              {"format": "kube-state-metrics", "path": "ksm-across-midnight.json", "max_gap": 3600}],
   "pools": [], "records": [],
   "steps": [{"id": "teams", "strategy": "proportional", "pools": {"tags": {"cluster": "gpu-train"}}, "group_by": ["team"],
              "weight": "gpu_seconds"}]})",
                                            options));
  std::vector<std::string> got;
  for (const Line& l : r.lines)
    got.push_back(l.bucket->start().to_string().substr(8, 2) + " " + std::string(*l.tags.get("team")) + " " + l.cost.to_fixed(2));
  EXPECT_EQ(got, (std::vector<std::string>{"01 nlp-research 2097.49", "01 vision 262.19", "02 nlp-research 1287.10",
                                           "02 vision 482.66"}));
  ASSERT_EQ(r.series.size(), 2u);
  EXPECT_EQ(r.series[0].pools[0].cost.to_fixed(2), "2359.68");
  EXPECT_EQ(r.series[1].pools[0].cost.to_fixed(2), "1769.76");
  EXPECT_EQ(r.pools[0].cost.to_fixed(2), "4129.44");
  EXPECT_NE(std::find(r.warnings.begin(), r.warnings.end(),
                      "pools[0] (\"arn:aws:ec2:us-east-1:347410479675:instance/i-0c5e2a7f91d3b4e68\"): 98.32 of its cost is "
                      "charged outside the series, and takes no part"),
            r.warnings.end())
      << testing::PrintToString(r.warnings);
}

TEST(SeriesInputs, OpenCostAllocationSetsGoToTheirWindows) {
  // tests/data/opencost/allocation.json holds its sets' windows; each allocation is a
  // record over its window, so a series pro-rates it like any record over an interval.
  SpecOptions options;
  options.base_dir = APPORTION_TEST_DATA "/series";
  const Result r = run(allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "inputs": [{"format": "opencost", "path": "opencost-two-days.json"}],
   "pools": [{"id": "cluster", "cost": "100.00"}], "records": [],
   "steps": [{"id": "ns", "strategy": "proportional", "pool": "cluster", "group_by": ["namespace"], "weight": "gpu_seconds"}]})",
                                            options));
  std::vector<std::string> got;
  for (const Line& l : r.lines)
    got.push_back(l.bucket->start().to_string().substr(8, 2) + " " + std::string(*l.tags.get("namespace")) + " " + l.cost.to_fixed(2));
  EXPECT_EQ(got, (std::vector<std::string>{"01 nlp 37.50", "01 vision 12.50", "02 nlp 10.00", "02 vision 40.00"}));
}

TEST(SeriesOutputs, FocusRowsAreChargedOverTheirBucket) {
  // The bill above allocated per day: each row's ChargePeriodStart/End is its bucket, its
  // cost its line's, and the bill's other metrics split by the day's share of the bill (24
  // hours on June 1, 18 on June 2; the hour on June 3 is in no bucket), line by line.
  SpecOptions options;
  options.base_dir = APPORTION_TEST_DATA "/series";
  const Allocation a = allocation_from_json(R"({"apportion": 1,
   "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
   "inputs": [{"format": "focus", "path": "focus-hourly.csv"},
              {"format": "kube-state-metrics", "path": "ksm-across-midnight.json", "max_gap": 3600}],
   "pools": [], "records": [],
   "steps": [{"id": "teams", "strategy": "proportional", "pools": {"tags": {"cluster": "gpu-train"}}, "group_by": ["team"],
              "weight": "gpu_seconds"}]})",
                                            options);
  std::istringstream csv(result_to_focus(run(a), a));
  std::string line;
  std::getline(csv, line);
  std::vector<std::string> header;
  for (std::size_t from = 0, comma; from <= line.size(); from = comma + 1) {
    comma = std::min(line.find(',', from), line.size());
    header.push_back(line.substr(from, comma - from));
  }
  const auto column = [&](const char* name) { return std::find(header.begin(), header.end(), name) - header.begin(); };
  std::vector<std::string> got;
  while (std::getline(csv, line)) {
    // The cells up to ListCost hold no quoted comma in this bill.
    std::vector<std::string> cells;
    for (std::size_t from = 0, comma; from <= line.size() && cells.size() < 25; from = comma + 1) {
      comma = std::min(line.find(',', from), line.size());
      cells.push_back(line.substr(from, comma - from));
    }
    got.push_back(cells[column("ChargePeriodStart")].substr(0, 10) + " " + cells[column("ChargePeriodEnd")].substr(0, 10) + " " +
                  cells[column("BilledCost")] + " " + cells[column("ConsumedQuantity")]);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"2026-06-01 2026-06-02 2097.49 21.333299", "2026-06-01 2026-06-02 262.19 2.666701",
                                           "2026-06-02 2026-06-03 1287.10 13.090928", "2026-06-02 2026-06-03 482.66 4.909072"}));
}
