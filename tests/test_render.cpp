// The renderers: the table per step (totals row, percentages, thousands separators) and the
// CSV of all lines (RFC 4180 quoting). Each result is built from a small spec.

#include <gtest/gtest.h>

#include <string>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;

Result result_of(const std::string& spec) { return run(allocation_from_spec(parse_json(spec))); }

// A proportional split of a seven-digit pool over two teams (one with a comma and quotes in
// its name) and a record without a team; and priced runs, one with a non-ASCII name.
const std::string kSpec = R"({"apportion": 1,
 "catalog": {"skus": [{"id": "gpu/x", "unit": "gpu_hour", "prices": [{"rate": "2.50"}]}]},
 "pools": [{"id": "node", "cost": "1250000"}],
 "records": [
  {"tags": {"team": "nlp"}, "measures": {"gpu_seconds": 4}},
  {"tags": {"team": "a, \"b\""}, "measures": {"gpu_seconds": 1}},
  {"tags": {"app": "x"}, "measures": {"gpu_seconds": 0}},
  {"tags": {"experiment": "ünï"}, "sku": "gpu/x", "count": 2, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T01:30:00Z"},
  {"tags": {"experiment": "e2"}, "sku": "gpu/x", "count": 1000, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T01:00:00Z"}],
 "steps": [
  {"id": "s1", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"},
  {"id": "runs", "strategy": "per_experiment"}]})";

// A credit split per token (with unit costs) and a weighted split with an idle line.
std::string credit_spec(const std::string& second_team) {
  return R"({"apportion": 1, "currency": "EUR",
 "pools": [{"id": "credit", "cost": "-1234.50"}, {"id": "inst", "cost": "180.80"}],
 "records": [
  {"pool": "credit", "tags": {"team": "x", "model": "m1"}, "measures": {"tokens_prompt": 3000, "tokens_generation": 1000}},
  {"pool": "credit", "tags": {"team": ")" + second_team + R"(", "model": "m2"}, "measures": {"tokens_prompt": 1000}},
  {"pool": "inst", "tags": {"pod": "p1"}, "reserved": {"gpu": 4, "cpu": 16, "memory_gb": 128}, "used": {"cpu": 24}},
  {"pool": "inst", "tags": {"pod": "p2"}, "reserved": {"gpu": 2, "cpu": 16, "memory_gb": 64}, "used": {"cpu": 8}}],
 "steps": [
  {"id": "tok", "strategy": "per_token", "pool": "credit"},
  {"id": "ws", "strategy": "weighted_split", "pool": "inst", "capacity": {"gpu": 8, "cpu": 64, "memory_gb": 512}, "unused": "separate"}]})";
}

TEST(RenderTable, TotalsPercentagesAndThousandsSeparators) {
  const std::string expected =
      "Step s1: pool node\n"
      "  kind         team               cost (USD)  cost share\n"
      "  ------------------------------------------------------\n"
      "  allocated    a, \"b\"             250,000.00      20.00%\n"
      "  allocated    nlp              1,000,000.00      80.00%\n"
      "  unallocated  __unallocated__          0.00       0.00%\n"
      "  ------------------------------------------------------\n"
      "  total                         1,250,000.00     100.00%\n"
      "  coverage: 100.00% of the pool allocated\n"
      "\n"
      "Step runs\n"
      "  kind       experiment  cost (USD)  cost share  GPU-hours\n"
      "  --------------------------------------------------------\n"
      "  allocated  e2            2,500.00      99.70%    1000.00\n"
      "  allocated  ünï               7.50       0.30%       3.00\n"  // aligned by code points
      "  --------------------------------------------------------\n"
      "  total                    2,507.50     100.00%\n"
      "\n";
  EXPECT_EQ(result_to_table(result_of(kSpec)), expected);
}

TEST(RenderTable, CreditUnitCostsAndSplitColumns) {
  const std::string expected =
      "Step tok: pool credit\n"
      "  kind       team  cost (EUR)  cost share\n"
      "  ---------------------------------------\n"
      "  allocated  x        -987.60      80.00%\n"
      "  allocated  y        -246.90      20.00%\n"
      "  ---------------------------------------\n"
      "  total             -1,234.50     100.00%\n"
      "  unit cost model=m1: blended -246900.0000 EUR per million tokens\n"
      "  unit cost model=m2: blended -246900.0000 EUR per million tokens\n"
      "  coverage: 100.00% of the pool allocated\n"
      "\n"
      "Step ws: pool inst\n"
      "  kind       pod       cost (EUR)  cost share  split cost  unused cost\n"
      "  --------------------------------------------------------------------\n"
      "  allocated  p1             70.40      38.94%       70.40         0.00\n"
      "  allocated  p2             38.80      21.46%       38.80         0.00\n"
      "  idle       __idle__       71.60      39.60%        0.00        71.60\n"
      "  --------------------------------------------------------------------\n"
      "  total                    180.80     100.00%\n"
      "  coverage: 100.00% of the pool allocated\n"
      "\n";
  EXPECT_EQ(result_to_table(result_of(credit_spec("y"))), expected);
}

TEST(RenderTable, ZeroTotalHasNoPercentages) {
  const std::string table = result_to_table(result_of(R"({"apportion": 1, "pools": [{"id": "p", "cost": 0}],
    "records": [{"tags": {"team": "a"}, "measures": {"w": 1}}],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "w"}]})"));
  EXPECT_EQ(table,
            "Step s: pool p\n"
            "  kind       team  cost (USD)  cost share\n"
            "  ---------------------------------------\n"
            "  allocated  a           0.00\n"
            "  ---------------------------------------\n"
            "  total                  0.00\n"
            "\n");
}

TEST(RenderTable, WarningsComeLast) {
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "5.00"}, {"id": "q", "cost": "1.00"}],
    "records": [{"tags": {"team": "a"}, "pool": "q", "measures": {"w": 1}}],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "w"}]})";
  const std::string table = result_to_table(result_of(spec));
  EXPECT_NE(table.find("\n\nWarnings\n  steps[0]: no record takes part in step \"s\" (every record names another pool)\n\n"),
            std::string::npos)
      << table;
  EXPECT_NE(result_to_markdown(result_of(spec)).find("## Warnings\n\n- steps[0]: no record takes part"), std::string::npos)
      << result_to_markdown(result_of(spec));
  EXPECT_NE(run_spec(spec).find(R"X("warnings": [
    "steps[0]: no record takes part in step \"s\" (every record names another pool)"
  ])X"),
            std::string::npos);
}

TEST(RenderCsv, OneRowPerLineWithQuoting) {
  const std::string expected =
      "step,pool,kind,experiment,team,cost,weight,share,split_cost,unused_cost,gpu_hours\r\n"
      "s1,node,allocated,,\"a, \"\"b\"\"\",250000.00,1,0.200000,,,\r\n"
      "s1,node,allocated,,nlp,1000000.00,4,0.800000,,,\r\n"
      "s1,node,unallocated,,__unallocated__,0.00,0,0.000000,,,\r\n"
      "runs,,allocated,e2,,2500.00,,,,,1000.000000\r\n"
      "runs,,allocated,ünï,,7.50,,,,,3.000000\r\n";
  EXPECT_EQ(result_to_csv(result_of(kSpec)), expected);
}

TEST(RenderCsv, NewlinesQuotedAndSplitColumns) {
  const std::string expected =
      "step,pool,kind,pod,team,cost,weight,share,split_cost,unused_cost,gpu_hours\r\n"
      "tok,credit,allocated,,\"multi\n"
      "line\",-246.90,1000,0.200000,,,\r\n"
      "tok,credit,allocated,,x,-987.60,4000,0.800000,,,\r\n"
      "ws,inst,allocated,p1,,70.40,,,70.40,0.00,\r\n"
      "ws,inst,allocated,p2,,38.80,,,38.80,0.00,\r\n"
      "ws,inst,idle,__idle__,,71.60,,,0.00,71.60,\r\n";
  EXPECT_EQ(result_to_csv(result_of(credit_spec("multi\\nline"))), expected);
}

TEST(RenderCsv, QuotedHeaderKeyAndEmptyResult) {
  const std::string csv = result_to_csv(result_of(R"({"apportion": 1, "pools": [{"id": "p", "cost": 1}],
    "records": [{"tags": {"cost,centre": "x\"y"}, "measures": {"w": 1}}],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["cost,centre"], "weight": "w"}]})"));
  EXPECT_EQ(csv,
            "step,pool,kind,\"cost,centre\",cost,weight,share,split_cost,unused_cost,gpu_hours\r\n"
            "s,p,allocated,\"x\"\"y\",1.00,1,1.000000,,,\r\n");
  const std::string empty = result_to_csv(result_of(R"({"apportion": 1, "pools": [], "records": [], "steps": []})"));
  EXPECT_EQ(empty, "step,pool,kind,cost,weight,share,split_cost,unused_cost,gpu_hours\r\n");
  EXPECT_EQ(result_to_table(result_of(R"({"apportion": 1, "pools": [], "records": [], "steps": []})")), "");
}

TEST(GroupThousands, IntegerPartOnly) {
  EXPECT_EQ(group_thousands("1234567.5"), "1,234,567.5");
  EXPECT_EQ(group_thousands("1234567.123456"), "1,234,567.123456");
  EXPECT_EQ(group_thousands("-1234.50"), "-1,234.50");
  EXPECT_EQ(group_thousands("-123.45"), "-123.45");
  EXPECT_EQ(group_thousands("1000"), "1,000");
  EXPECT_EQ(group_thousands("999"), "999");
  EXPECT_EQ(group_thousands("-100000"), "-100,000");
  EXPECT_EQ(group_thousands("0.0001"), "0.0001");
  EXPECT_EQ(group_thousands(""), "");
}

}  // namespace

TEST(FormatNumbers, HalfEvenAtAnyMagnitude) {
  EXPECT_EQ(format_places(Rational(1, 8), 2), "0.12");   // 0.125: half to even
  EXPECT_EQ(format_places(Rational(3, 8), 2), "0.38");   // 0.375
  EXPECT_EQ(format_places(Rational(-3, 8), 2), "-0.38");
  EXPECT_EQ(format_places(Rational(-1, 1000), 2), "0.00");  // no negative zero
  EXPECT_EQ(format_places(Rational(2, 3), 6), "0.666667");
  EXPECT_EQ(format_places(Rational(7), 2), "7.00");
  // The same ties where the scaled value lies beyond int128 (worked in BigInt) and within it.
  const BigInt big("10000000000000000000000000000000000000000");  // 10^40
  EXPECT_EQ(format_places(Rational(big * 8 + 1, BigInt(8)), 2), big.str() + ".12");
  EXPECT_EQ(format_places(Rational(-(big * 8 + 3), BigInt(8)), 2), "-" + big.str() + ".38");
  EXPECT_EQ(format_places(Rational(BigInt("100000000000000000000") * 8 + 1, BigInt(8)), 2), "100000000000000000000.12");
  EXPECT_EQ(format_weight(Rational(5, 2)), "2.5");
  EXPECT_EQ(format_weight(Rational(12)), "12");
  EXPECT_EQ(format_weight(Rational(1, 3)), "0.333333");
  EXPECT_EQ(format_weight(Rational(1, 10'000'000)), "0");
  // Beyond the Decimal range (a weight of 1e23 on a measure of 1e23): reported, not an error.
  const Rational huge = Rational(BigInt("100000000000000000000000")) * Rational(BigInt("100000000000000000000000"));
  EXPECT_EQ(format_weight(huge), "1" + std::string(46, '0'));
  EXPECT_EQ(format_weight(-huge / 3), "-3333333333333333333333333333333333333333333333.333333");
}

// format_percent_of divides two 128-bit amounts; it must give format_percent's digits,
// half-even, at every sign and where part x 10^4 no longer fits (the rational fallback).
TEST(FormatNumbers, PercentOfAmountsIsThePercentOfTheirRatio) {
  const auto d = [](const char* text) { return Decimal::parse(text); };
  EXPECT_EQ(format_percent_of(d("1"), d("8")), "12.50%");
  EXPECT_EQ(format_percent_of(d("1"), d("3")), "33.33%");
  EXPECT_EQ(format_percent_of(d("0.00125"), d("1")), "0.12%");  // 0.125%: half to even
  EXPECT_EQ(format_percent_of(d("0.00375"), d("1")), "0.38%");
  EXPECT_EQ(format_percent_of(d("-1"), d("8")), "-12.50%");
  EXPECT_EQ(format_percent_of(d("1"), d("-8")), "-12.50%");
  EXPECT_EQ(format_percent_of(d("-1"), d("-8")), "12.50%");
  EXPECT_EQ(format_percent_of(d("-0.000001"), d("1")), "0.00%");  // no negative zero
  const Decimal big = d("10000000000000000000000000");  // 10^25: x 10^12 x 10^4 is past int128
  EXPECT_EQ(format_percent_of(big, big * d("3")), "33.33%");
  EXPECT_EQ(format_percent_of(-big, big * d("8")), "-12.50%");
  for (const char* part : {"0.01", "2.5", "-7.77", "99999.99", "123456789.123456789"})
    for (const char* whole : {"1", "3", "-9.5", "1000000", "0.07"})
      EXPECT_EQ(format_percent_of(d(part), d(whole)), format_percent(d(part).to_rational() / d(whole).to_rational()))
          << part << " / " << whole;
}
