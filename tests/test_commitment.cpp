// The commitment strategy (reserved instances, savings plans, committed-use discounts,
// credits), driven through apportion::run_spec so the JSON path is exercised. Every number
// below is worked out by hand in the comments.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"

namespace {

using namespace apportion;

// An RI bought upfront for 87,600.00 over a 365-day term (2026 is not a leap year), seen
// over June (30 days): 87600 x 720 h / 8760 h = 7,200.00 for the month.
const std::string kRiPool =
    R"({"id": "ri", "amortized": {"amount": "87600.00",
        "term": {"start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"},
        "window": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}}})";
// 8 GPUs x 720 h x 3600 s = 20,736,000 gpu_seconds covered in June.
const std::string kCovers = R"("covers": "20736000")";

std::string record(const std::string& team, const std::string& gpu_seconds) {
  const std::string tags = team.empty() ? R"({"app": "notebook"})" : R"({"team": ")" + team + R"("})";
  return R"({"tags": )" + tags + R"(, "measures": {"gpu_seconds": ")" + gpu_seconds + R"("}})";
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return "[" + out + "]";
}

// A spec with one pool and one commitment step "c" over it; `options` are spliced into the step.
std::string spec(const std::string& pool, const std::vector<std::string>& records, const std::string& options) {
  return R"({"apportion": 1, "pools": [)" + pool + R"(], "records": )" + join(records) +
         R"(, "steps": [{"id": "c", "strategy": "commitment", "pool": ")" +
         read_string(*parse_json(pool).find("id"), "id") + R"(", )" + options + "}]}";
}

// Nlp uses half the covered usage, cv a quarter: 75% used.
const std::vector<std::string> kUsage75 = {record("nlp", "10368000"), record("cv", "5184000")};

std::string field(const Value& line, std::string_view key) {
  const Value* v = line.find(key);
  return v ? v->text() : "-";
}

// "kind k=v cost split/unused share" per line of the step, in result order; checks on the
// way that the step's lines sum exactly to the pool.
std::vector<std::string> lines_of(const std::string& result_json, const std::string& step = "c") {
  const Value result = parse_json(result_json);
  std::string pool_cost;
  const Value* line0 = nullptr;
  std::vector<std::string> out;
  Decimal sum;
  for (const Value& l : result.find("lines")->items()) {
    if (field(l, "step") != step) continue;
    line0 = &l;
    std::string s = field(l, "kind");
    for (const auto& [k, v] : l.find("tags")->members()) s += " " + k + "=" + v.text();
    s += " " + field(l, "cost") + " " + field(l, "split_cost") + "/" + field(l, "unused_cost");
    s += " " + field(l, "share");
    out.push_back(s);
    sum += Decimal::parse(field(l, "cost"));
  }
  if (line0) {
    for (const Value& p : result.find("pools")->items())
      if (field(p, "id") == field(*line0, "pool")) pool_cost = field(p, "cost");
    EXPECT_EQ(sum, Decimal::parse(pool_cost)) << "the lines of step " << step << " must sum to the pool";
  }
  return out;
}

std::vector<std::string> run_lines(const std::string& text) { return lines_of(run_spec(text)); }

std::string error_of(const std::string& text) {
  try {
    run_spec(text);
  } catch (const SpecError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("not a SpecError: ") + e.what();
  }
  return "no error";
}

using Lines = std::vector<std::string>;

TEST(Commitment, AmortisedPoolIsTheMonthsShare) {
  const Value result = parse_json(run_spec(spec(kRiPool, kUsage75, kCovers)));
  EXPECT_EQ(field(result.find("pools")->items().at(0), "cost"), "7200.00");
}

TEST(Commitment, UnusedSeparateIsAnIdleLine) {
  // W = 10,368,000 + 5,184,000 = 15,552,000 = 75% of covers; denominator = covers.
  // nlp 7200 x 0.50 = 3600.00, cv 7200 x 0.25 = 1800.00, unused 7200 x 0.25 = 1800.00.
  const Lines want = {"allocated team=cv 1800.00 1800.00/0.00 0.250000",
                      "allocated team=nlp 3600.00 3600.00/0.00 0.500000",
                      "idle team=__unused__ 1800.00 0.00/1800.00 0.250000"};
  EXPECT_EQ(run_lines(spec(kRiPool, kUsage75, kCovers)), want);
  EXPECT_EQ(run_lines(spec(kRiPool, kUsage75, kCovers + R"(, "unused": "separate")")), want);
}

TEST(Commitment, UnusedProportionalFollowsUsage) {
  // The 1,800.00 unused goes 2:1 by usage: nlp 3600 + 1200 = 4800.00, cv 1800 + 600 = 2400.00.
  EXPECT_EQ(run_lines(spec(kRiPool, kUsage75, kCovers + R"(, "unused": "proportional")")),
            (Lines{"allocated team=cv 2400.00 1800.00/600.00 0.250000",
                   "allocated team=nlp 4800.00 3600.00/1200.00 0.500000"}));
}

TEST(Commitment, UnusedAssignedToOneLine) {
  // platform used nothing and absorbs the unused 1,800.00 (its weight, 5,184,000, is 25%).
  EXPECT_EQ(run_lines(spec(kRiPool, kUsage75, kCovers + R"(, "unused": {"assign": {"team": "platform"}})")),
            (Lines{"allocated team=cv 1800.00 1800.00/0.00 0.250000",
                   "allocated team=nlp 3600.00 3600.00/0.00 0.500000",
                   "allocated team=platform 1800.00 0.00/1800.00 0.250000"}));
  // Assigned to a line that has usage of its own: nlp 3600 used + 1800 unused = 5400.00,
  // its weight 10,368,000 + 5,184,000 = 75%.
  EXPECT_EQ(run_lines(spec(kRiPool, kUsage75, kCovers + R"(, "unused": {"assign": {"team": "nlp"}})")),
            (Lines{"allocated team=cv 1800.00 1800.00/0.00 0.250000",
                   "allocated team=nlp 5400.00 3600.00/1800.00 0.750000"}));
}

TEST(Commitment, UsageAboveTheCommitmentIsCoveredInProportion) {
  // W = 2 x covers: the denominator is W, nothing is unused, each pays half the pool for
  // its half of the usage (the other half of its usage is paid on demand elsewhere).
  EXPECT_EQ(run_lines(spec(kRiPool, {record("nlp", "20736000"), record("cv", "20736000")}, kCovers)),
            (Lines{"allocated team=cv 3600.00 3600.00/0.00 0.500000",
                   "allocated team=nlp 3600.00 3600.00/0.00 0.500000"}));
  // Exactly the covered usage: no unused line either. 2:1 -> 4800.00 and 2400.00.
  EXPECT_EQ(run_lines(spec(kRiPool, {record("nlp", "13824000"), record("cv", "6912000")}, kCovers)),
            (Lines{"allocated team=cv 2400.00 2400.00/0.00 0.333333",
                   "allocated team=nlp 4800.00 4800.00/0.00 0.666667"}));
}

TEST(Commitment, NegativeCreditFollowsTheConsumers) {
  // A savings-plan credit of -720.00 split by the same usage: nlp -360.00, cv -180.00,
  // unused -180.00 (separate); proportional: nlp -480.00, cv -240.00.
  const std::string credit = R"({"id": "sp-credit", "cost": "-720.00"})";
  EXPECT_EQ(run_lines(spec(credit, kUsage75, kCovers)),
            (Lines{"allocated team=cv -180.00 -180.00/0.00 0.250000",
                   "allocated team=nlp -360.00 -360.00/0.00 0.500000",
                   "idle team=__unused__ -180.00 0.00/-180.00 0.250000"}));
  EXPECT_EQ(run_lines(spec(credit, kUsage75, kCovers + R"(, "unused": "proportional")")),
            (Lines{"allocated team=cv -240.00 -180.00/-60.00 0.250000",
                   "allocated team=nlp -480.00 -360.00/-120.00 0.500000"}));
}

TEST(Commitment, RecordsMissingTheGroupKeyAreUnallocated) {
  // A notebook without a team uses 2,073,600 (10% of covers): W = 17,625,600 (85%).
  // nlp 3600.00, cv 1800.00, unallocated 720.00, unused 15% = 1080.00.
  std::vector<std::string> records = kUsage75;
  records.push_back(record("", "2073600"));
  EXPECT_EQ(run_lines(spec(kRiPool, records, kCovers)),
            (Lines{"allocated team=cv 1800.00 1800.00/0.00 0.250000",
                   "allocated team=nlp 3600.00 3600.00/0.00 0.500000",
                   "idle team=__unused__ 1080.00 0.00/1080.00 0.150000",
                   "unallocated team=__unallocated__ 720.00 720.00/0.00 0.100000"}));
  // Proportional spreads the unused 1080.00 over the allocated lines only, 2:1:
  // nlp 3600 + 720 = 4320.00, cv 1800 + 360 = 2160.00; the unallocated line keeps 720.00.
  EXPECT_EQ(run_lines(spec(kRiPool, records, kCovers + R"(, "unused": "proportional")")),
            (Lines{"allocated team=cv 2160.00 1800.00/360.00 0.250000",
                   "allocated team=nlp 4320.00 3600.00/720.00 0.500000",
                   "unallocated team=__unallocated__ 720.00 720.00/0.00 0.100000"}));
}

TEST(Commitment, NoUsageLeavesTheWholePoolUnused) {
  // W = 0: all 7,200.00 is unused. nlp took part with zero usage, so it has a zero line.
  const std::vector<std::string> idle_team = {record("nlp", "0")};
  EXPECT_EQ(run_lines(spec(kRiPool, idle_team, kCovers)),
            (Lines{"allocated team=nlp 0.00 0.00/0.00 0.000000",
                   "idle team=__unused__ 7200.00 0.00/7200.00 1.000000"}));
  // Proportional has nothing to spread over: the cost stays on the idle line.
  EXPECT_EQ(run_lines(spec(kRiPool, idle_team, kCovers + R"(, "unused": "proportional")")),
            (Lines{"allocated team=nlp 0.00 0.00/0.00 0.000000",
                   "idle team=__unused__ 7200.00 0.00/7200.00 1.000000"}));
  // Assign: the assigned line takes it all.
  EXPECT_EQ(run_lines(spec(kRiPool, {}, kCovers + R"(, "unused": {"assign": {"team": "platform"}})")),
            (Lines{"allocated team=platform 7200.00 0.00/7200.00 1.000000"}));
  // No records at all.
  EXPECT_EQ(run_lines(spec(kRiPool, {}, kCovers)), (Lines{"idle team=__unused__ 7200.00 0.00/7200.00 1.000000"}));
}

TEST(Commitment, ZeroCoversAndZeroUsageIsOneUnallocatedLine) {
  // The spec's zero-denominator rule: the whole pool, no share.
  EXPECT_EQ(run_lines(spec(kRiPool, {record("nlp", "0")}, R"("covers": 0)")),
            (Lines{"unallocated team=__unallocated__ 7200.00 -/- -"}));
  // covers = 0 with usage: a plain proportional split, nothing unused.
  EXPECT_EQ(run_lines(spec(kRiPool, kUsage75, R"("covers": 0)")),
            (Lines{"allocated team=cv 2400.00 2400.00/0.00 0.333333",
                   "allocated team=nlp 4800.00 4800.00/0.00 0.666667"}));
}

TEST(Commitment, LargestRemainderRounding) {
  // Pool 100.00, covers 7, three teams of weight 2: each 100 x 2/7 = 28.571428...,
  // unused 100 x 1/7 = 14.285714... Floors 28.57 x 3 + 14.28 = 99.99; the cent left goes to
  // the largest remainder (.571 of the unused line over .142 of the teams): 14.29.
  const std::string pool = R"({"id": "p", "cost": "100.00"})";
  const std::vector<std::string> records = {R"({"tags": {"team": "a"}, "measures": {"u": 2}})",
                                            R"({"tags": {"team": "b"}, "measures": {"u": 2}})",
                                            R"({"tags": {"team": "c"}, "measures": {"u": 2}})"};
  EXPECT_EQ(run_lines(spec(pool, records, R"("covers": 7, "weight": "u")")),
            (Lines{"allocated team=a 28.57 28.57/0.00 0.285714", "allocated team=b 28.57 28.57/0.00 0.285714",
                   "allocated team=c 28.57 28.57/0.00 0.285714", "idle team=__unused__ 14.29 0.00/14.29 0.142857"}));
  // Proportional: each 100/3 = 33.333...; the tie on remainder and amount goes to the
  // smaller tags, so a takes the last cent. split_cost (28.571... -> 28.57) and
  // unused_cost (4.7619... -> 4.76) are each rounded half-even on their own.
  EXPECT_EQ(run_lines(spec(pool, records, R"("covers": 7, "weight": "u", "unused": "proportional")")),
            (Lines{"allocated team=a 33.34 28.57/4.76 0.285714", "allocated team=b 33.33 28.57/4.76 0.285714",
                   "allocated team=c 33.33 28.57/4.76 0.285714"}));
}

TEST(Commitment, WeightExpressionAndSelect) {
  // Weight as a linear combination: a = 1 x 2 + 2 x 1 = 4, b = 2 x 1 = 2; covers 8.
  // 800 x 4/8 = 400.00, 800 x 2/8 = 200.00, unused 200.00. The record of team c is not
  // selected and takes no part.
  const std::string pool = R"({"id": "p", "cost": "800"})";
  const std::vector<std::string> records = {
      R"({"tags": {"team": "a", "env": "prod"}, "measures": {"gpu_seconds": 2, "cpu": 1}})",
      R"({"tags": {"team": "b", "env": "prod"}, "measures": {"cpu": 1}})",
      R"({"tags": {"team": "c", "env": "dev"}, "measures": {"gpu_seconds": 100}})"};
  const std::string weight = R"("weight": {"gpu_seconds": 1, "cpu": 2}, "select": {"env": "prod"})";
  EXPECT_EQ(run_lines(spec(pool, records, R"("covers": 8, )" + weight)),
            (Lines{"allocated team=a 400.00 400.00/0.00 0.500000", "allocated team=b 200.00 200.00/0.00 0.250000",
                   "idle team=__unused__ 200.00 0.00/200.00 0.250000"}));
  // covers 6 = W: 800 x 4/6 = 533.333..., 800 x 2/6 = 266.666...; floors 533.33 + 266.66
  // leave a cent, which goes to the larger remainder (.666): b 266.67.
  EXPECT_EQ(run_lines(spec(pool, records, R"("covers": 6, )" + weight)),
            (Lines{"allocated team=a 533.33 533.33/0.00 0.666667", "allocated team=b 266.67 266.67/0.00 0.333333"}));
}

TEST(Commitment, GroupByTwoKeys) {
  // group_by ["team", "env"]: the unused line is tagged "__unused__" for each key.
  const std::string pool = R"({"id": "p", "cost": "90"})";
  const std::vector<std::string> records = {R"({"tags": {"team": "a", "env": "prod"}, "measures": {"gpu_seconds": 1}})",
                                            R"({"tags": {"team": "a", "env": "dev"}, "measures": {"gpu_seconds": 1}})"};
  EXPECT_EQ(run_lines(spec(pool, records, R"("covers": 3, "group_by": ["team", "env"])")),
            (Lines{"allocated env=dev team=a 30.00 30.00/0.00 0.333333",
                   "allocated env=prod team=a 30.00 30.00/0.00 0.333333",
                   "idle env=__unused__ team=__unused__ 30.00 0.00/30.00 0.333333"}));
}

TEST(Commitment, OrderIndependent) {
  std::vector<std::string> records = kUsage75;
  records.push_back(record("", "2073600"));
  records.push_back(record("research", "1234567.891"));
  records.push_back(record("nlp", "7"));
  records.push_back(record("cv", "333333.333333"));
  for (const std::string& options : {kCovers, kCovers + R"(, "unused": "proportional")",
                                    kCovers + R"(, "unused": {"assign": {"team": "platform"}})"}) {
    const std::string expected = run_spec(spec(kRiPool, records, options));
    std::mt19937 rng(7);
    for (int i = 0; i < 5; ++i) {
      std::vector<std::string> shuffled = records;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      EXPECT_EQ(run_spec(spec(kRiPool, shuffled, options)), expected) << options;
    }
    lines_of(expected);  // and it sums to the pool
  }
}

TEST(Commitment, RecordsOfOtherPoolsTakeNoPart) {
  // Records naming another pool do not count towards W.
  const std::string text = R"({"apportion": 1,
    "pools": [{"id": "ri", "cost": "100"}, {"id": "od", "cost": "50"}],
    "records": [{"tags": {"team": "a"}, "pool": "ri", "measures": {"gpu_seconds": 1}},
                {"tags": {"team": "b"}, "pool": "od", "measures": {"gpu_seconds": 3}},
                {"tags": {"team": "c"}, "measures": {"gpu_seconds": 1}}],
    "steps": [{"id": "c", "strategy": "commitment", "pool": "ri", "covers": 4}]})";
  EXPECT_EQ(run_lines(text), (Lines{"allocated team=a 25.00 25.00/0.00 0.250000",
                                    "allocated team=c 25.00 25.00/0.00 0.250000",
                                    "idle team=__unused__ 50.00 0.00/50.00 0.500000"}));
}

TEST(Commitment, Errors) {
  const auto starts = [](const std::string& message, const std::string& prefix) {
    return message.rfind(prefix, 0) == 0;
  };
  std::string m = error_of(spec(kRiPool, kUsage75, R"("covers": "-1")"));
  EXPECT_TRUE(starts(m, "steps[0].covers: must not be negative")) << m;
  m = error_of(spec(kRiPool, kUsage75, R"("weight": "gpu_seconds")"));
  EXPECT_TRUE(starts(m, "steps[0]: ")) << m;
  EXPECT_NE(m.find("covers"), std::string::npos) << m;
  m = error_of(spec(kRiPool, kUsage75, kCovers + R"(, "unsued": "proportional")"));
  EXPECT_TRUE(starts(m, "steps[0].unsued: ")) << m;
  m = error_of(spec(kRiPool, kUsage75, kCovers + R"(, "unused": "spread")"));
  EXPECT_TRUE(starts(m, "steps[0].unused: ")) << m;
  m = error_of(spec(kRiPool, kUsage75, kCovers + R"(, "unused": {"assign": {"namespace": "platform"}})"));
  EXPECT_TRUE(starts(m, "steps[0].unused.assign: ")) << m;
  // The assign policy is checked even when nothing is unused.
  m = error_of(spec(kRiPool, {record("nlp", "41472000")}, kCovers + R"(, "unused": {"assign": {"namespace": "x"}})"));
  EXPECT_TRUE(starts(m, "steps[0].unused.assign: ")) << m;
  m = error_of(spec(kRiPool, kUsage75, kCovers + R"(, "weight": {"gpu_seconds": -1})"));
  EXPECT_TRUE(starts(m, "steps[0].weight.gpu_seconds: must not be negative")) << m;
  m = error_of(spec(kRiPool, kUsage75, R"("covers": "many")"));
  EXPECT_TRUE(starts(m, "steps[0].covers: ")) << m;
}

TEST(Commitment, CppApi) {
  EXPECT_THROW(Commitment(Commitment::Options{Decimal::parse("-1")}), std::invalid_argument);
  Allocation a;
  a.pools.push_back(Pool{"p", {}, CostSource{Decimal::parse("7200.00")}, std::nullopt, nullptr});
  for (const auto& [team, seconds] : {std::pair{"nlp", "10368000"}, std::pair{"cv", "5184000"}}) {
    Record r;
    r.tags = Tags{{"team", team}};
    r.measures.emplace("gpu_seconds", Decimal::parse(seconds));
    a.records.push_back(r);
  }
  Commitment::Options opt{Decimal::parse("20736000")};
  opt.unused_policy = ProportionalPolicy{};
  a.steps.push_back(Step{"c", std::make_shared<Commitment>(opt), "p", {}, {}});
  const Result r = run(a);
  ASSERT_EQ(r.lines.size(), 2u);
  EXPECT_EQ(r.lines[0].cost.to_fixed(2), "2400.00");  // cv
  EXPECT_EQ(r.lines[1].cost.to_fixed(2), "4800.00");  // nlp
  EXPECT_EQ(*r.lines[1].split_cost, Rational(3600));
  EXPECT_EQ(*r.lines[1].unused_cost, Rational(1200));
}

TEST(Commitment, Registered) { EXPECT_TRUE(StrategyRegistry::global().contains("commitment")); }

}  // namespace
