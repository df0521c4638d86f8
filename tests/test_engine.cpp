// The allocation engine through its C++ API: pool sources (cost, price, from, amortised,
// other currencies), validation paths, step participation, coverage and determinism.

#include <gtest/gtest.h>

#include <algorithm>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;

Decimal D(std::string_view text) { return Decimal::parse(text); }
Instant T(std::string_view text) { return Instant::parse(text); }

Record rec(Tags tags, std::string_view gpu_seconds, std::optional<std::string> pool = std::nullopt) {
  Record r;
  r.tags = std::move(tags);
  r.measures["gpu_seconds"] = D(gpu_seconds);
  r.pool = std::move(pool);
  return r;
}

Pool pool(std::string id, PoolSource source, std::optional<Currency> currency = std::nullopt) {
  return Pool{std::move(id), {}, std::move(source), currency, nullptr};
}

Step by_team(std::string id, std::string pool_id, std::vector<std::string> group_by = {"team"}) {
  return Step{std::move(id), std::make_shared<Proportional>(WeightExpression::measure("gpu_seconds")), std::move(pool_id),
              std::move(group_by), {}};
}

FxRate fx(std::string_view from, std::string_view to, std::string_view rate, std::string date = "", std::string source = "") {
  FxRate f;
  f.from = Currency(from);
  f.to = Currency(to);
  f.rate = D(rate);
  f.date = std::move(date);
  f.source = std::move(source);
  return f;
}

Price price(std::string tier, std::string_view rate, std::optional<Instant> from = std::nullopt) {
  Price p;
  p.tier = std::move(tier);
  p.rate = D(rate);
  p.from = from;
  return p;
}

std::shared_ptr<const Catalog> catalog() {
  auto c = std::make_shared<Catalog>();
  Sku s;
  s.id = "gpu/x";
  s.prices = {price("on_demand", "3.92"), price("spot", "2.00", T("2026-06-01T00:00:00Z")),
              price("spot", "3.00", T("2026-06-02T12:00:00Z"))};
  c->add(s);
  return c;
}

Decimal pool_cost(const Result& r, std::string_view id) {
  for (const PoolCost& p : r.pools)
    if (p.id == id) return p.cost;
  ADD_FAILURE() << "no pool " << id;
  return {};
}

std::string path_of(const Allocation& a) {
  try {
    run(a);
  } catch (const SpecError& e) {
    return e.path();
  }
  return "no error";
}

TEST(EnginePools, CostIsRoundedOnceHalfEven) {
  Allocation a;
  a.pools = {pool("a", CostSource{D("0.125")}), pool("b", CostSource{D("0.135")}), pool("c", CostSource{D("-0.125")})};
  const Result r = run(a);
  ASSERT_EQ(r.pools.size(), 3u);
  EXPECT_EQ(r.pools[0].id, "a");  // spec order
  EXPECT_EQ(r.pools[0].cost, D("0.12"));
  EXPECT_EQ(r.pools[1].cost, D("0.14"));
  EXPECT_EQ(r.pools[2].cost, D("-0.12"));
  EXPECT_TRUE(r.lines.empty());
  EXPECT_TRUE(r.coverage.empty());
}

TEST(EnginePools, PriceLatestRateAndTimeWeightedInterval) {
  Allocation a;
  a.catalog = catalog();
  a.pools = {pool("month", PriceSource{"gpu/x", "on_demand", D("5760"), std::nullopt}),
             pool("spot", PriceSource{"gpu/x", "spot", D("10"), std::nullopt}),
             // 2 GPUs for 24 hours across the change at 12:00: 2 x (12 x 2.00 + 12 x 3.00) = 120
             pool("day", PriceSource{"gpu/x", "spot", D("2"), Interval(T("2026-06-02T00:00:00Z"), T("2026-06-03T00:00:00Z"))})};
  const Result r = run(a);
  EXPECT_EQ(pool_cost(r, "month"), D("22579.20"));
  EXPECT_EQ(pool_cost(r, "spot"), D("30"));
  EXPECT_EQ(pool_cost(r, "day"), D("120"));
}

TEST(EnginePools, PriceErrorsNameThePool) {
  Allocation a;
  a.pools = {pool("p", PriceSource{"gpu/x", "on_demand", D("1"), std::nullopt})};
  EXPECT_EQ(path_of(a), "pools[0].price.sku");  // no catalog
  a.catalog = catalog();
  a.pools = {pool("p", PriceSource{"gpu/nope", "on_demand", D("1"), std::nullopt})};
  EXPECT_EQ(path_of(a), "pools[0].price.sku");
  a.pools = {pool("p", PriceSource{"gpu/x", "reserved", D("1"), std::nullopt})};
  EXPECT_EQ(path_of(a), "pools[0].price.tier");
  // Before the first spot price there is none.
  a.pools = {pool("p", PriceSource{"gpu/x", "spot", D("1"), Interval(T("2026-05-31T00:00:00Z"), T("2026-06-01T01:00:00Z"))})};
  EXPECT_EQ(path_of(a), "pools[0].price.start");
}

TEST(EnginePools, FromStepSumsReportedCostsOfMatchingLines) {
  Allocation a;
  a.pools = {pool("node", CostSource{D("98.32")}), pool("serving", FromStepSource{"ns", {{"namespace", "llm"}}}),
             pool("everything", FromStepSource{"ns", {}})};
  a.records = {rec({{"namespace", "llm"}, {"team", "t1"}}, "21600", "node"), rec({{"namespace", "training"}}, "7200", "node"),
               rec({{"team", "t1"}}, "1", "serving"), rec({{"team", "t2"}}, "2", "serving")};
  a.steps = {by_team("ns", "node", {"namespace"}), by_team("tenants", "serving")};
  const Result r = run(a);
  EXPECT_EQ(pool_cost(r, "serving"), D("73.74"));  // 98.32 x 3/4
  EXPECT_EQ(pool_cost(r, "everything"), D("98.32"));
  const auto tenants = r.lines_of("tenants");
  ASSERT_EQ(tenants.size(), 2u);
  EXPECT_EQ(tenants[0]->cost, D("24.58"));
  EXPECT_EQ(tenants[1]->cost, D("49.16"));
  EXPECT_EQ(*tenants[0]->pool, "serving");
}

TEST(EnginePools, DrillDownsReadTheRecordsOfTheLinesTheyAreDrawnFrom) {
  // Inputs pin their records to the node's pool (the `pool` option); the drill-down pools
  // drawn from the team lines are named by no record, so each reads the records of the
  // lines it is drawn from, at every level of the chain.
  Allocation a;
  a.pools = {pool("node", CostSource{D("100.00")}), pool("team-nlp", FromStepSource{"teams", {{"team", "nlp"}}}),
             pool("llama", FromStepSource{"projects", {{"project", "llama"}}})};
  a.records = {rec({{"team", "nlp"}, {"project", "llama"}, {"user", "ann"}}, "300", "node"),
               rec({{"team", "nlp"}, {"project", "bert"}, {"user", "bob"}}, "100", "node"),
               rec({{"team", "nlp"}, {"project", "llama"}, {"user", "bob"}}, "100", "node"),
               rec({{"team", "cv"}, {"project", "yolo"}, {"user", "cy"}}, "500", "node")};
  a.steps = {by_team("teams", "node"), by_team("projects", "team-nlp", {"project"}), by_team("users", "llama", {"user"})};
  const Result r = run(a);
  EXPECT_EQ(pool_cost(r, "team-nlp"), D("50.00"));  // 500 of 1000 GPU-seconds
  const auto projects = r.lines_of("projects");
  ASSERT_EQ(projects.size(), 2u);  // no unallocated line: cv's record is not nlp's
  EXPECT_EQ(projects[0]->tags, (Tags{{"project", "bert"}}));
  EXPECT_EQ(projects[0]->cost, D("10.00"));  // 100 of 500
  EXPECT_EQ(projects[1]->cost, D("40.00"));
  const auto users = r.lines_of("users");
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0]->tags, (Tags{{"user", "ann"}}));
  EXPECT_EQ(users[0]->cost, D("30.00"));  // 300 of llama's 400
  EXPECT_EQ(users[1]->cost, D("10.00"));
  EXPECT_TRUE(r.warnings.empty());
}

TEST(EngineSteps, AStepNoRecordTakesPartInIsWarnedOf) {
  Allocation a;
  a.pools = {pool("node", CostSource{D("10")}), pool("other", CostSource{D("5")})};
  a.records = {rec({{"team", "a"}}, "1", "other")};
  a.steps = {by_team("s", "node"), by_team("t", "other")};
  Step selective = by_team("u", "other");
  selective.select = {{"team", {"b"}}};
  a.steps.push_back(selective);
  const Result r = run(a);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{
                            "steps[0]: no record takes part in step \"s\" (every record names another pool)",
                            "steps[2]: no record takes part in step \"u\" (no record matches its select)"}));
  a.records.clear();
  EXPECT_EQ(run(a).warnings.front(), "steps[0]: no record takes part in step \"s\" (the spec has no usage records)");
}

TEST(EngineSteps, AGroupKeyNoRecordHasIsWarnedOfWithItsNearSpelling) {
  // Records tagged as an older ingest spelt OpenCost's labels (`label_team`), grouped by
  // `team`: every line unallocated, and the step names the key and the spelling there is.
  Allocation a;
  a.pools = {pool("node", CostSource{D("10")})};
  a.records = {rec({{"label_team", "a"}}, "1"), rec({{"label_team", "b"}}, "2")};
  a.steps = {by_team("s", "node")};
  EXPECT_EQ(run(a).warnings, (std::vector<std::string>{"steps[0]: no record taking part in step \"s\" has the group_by "
                                                       "key \"team\", so all of it is unallocated (the records have "
                                                       "\"label_team\")"}));
  a.steps = {by_team("s", "node", {"label_team"})};
  EXPECT_TRUE(run(a).warnings.empty());
}

TEST(EnginePools, FromStepMustRunBeforeTheStepsSplittingIt) {
  Allocation a;
  a.pools = {pool("node", CostSource{D("10")}), pool("serving", FromStepSource{"ns", {}})};
  a.steps = {by_team("tenants", "serving"), by_team("ns", "node", {"namespace"})};
  EXPECT_EQ(path_of(a), "pools[1].from.step");
  a.pools[1] = pool("serving", FromStepSource{"missing", {}});
  EXPECT_EQ(path_of(a), "pools[1].from.step");
}

TEST(EnginePools, AmortizedOverlapOfWindowAndTerm) {
  const Interval year(T("2026-01-01T00:00:00Z"), T("2027-01-01T00:00:00Z"));
  Allocation a;
  a.pools = {pool("june", AmortizedSource{D("12000"), year, Interval(T("2026-06-01T00:00:00Z"), T("2026-07-01T00:00:00Z"))}),
             // a window reaching past the term counts only the overlap: December 31 alone
             pool("edge", AmortizedSource{D("36500"), year, Interval(T("2026-12-31T00:00:00Z"), T("2027-02-01T00:00:00Z"))}),
             pool("outside", AmortizedSource{D("12000"), year, Interval(T("2025-01-01T00:00:00Z"), T("2025-02-01T00:00:00Z"))}),
             pool("credit", AmortizedSource{D("-365"), year, Interval(T("2026-01-01T00:00:00Z"), T("2026-01-02T00:00:00Z"))})};
  const Result r = run(a);
  EXPECT_EQ(pool_cost(r, "june"), D("986.30"));  // 12000 x 30 / 365 = 986.3013..
  EXPECT_EQ(pool_cost(r, "edge"), D("100"));
  EXPECT_EQ(pool_cost(r, "outside"), D("0"));
  EXPECT_EQ(pool_cost(r, "credit"), D("-1"));
  a.pools = {pool("zero", AmortizedSource{D("1"), Interval(T("2026-01-01T00:00:00Z"), T("2026-01-01T00:00:00Z")), year})};
  EXPECT_EQ(path_of(a), "pools[0].amortized.term");
}

TEST(EnginePools, ForeignCurrencyConvertedExactlyThenRounded) {
  Allocation a;
  a.pools = {pool("eu", CostSource{D("1234.57")}, Currency("EUR")), pool("eu2", CostSource{D("0.01")}, Currency("EUR")),
             pool("us", CostSource{D("1")}, Currency("USD"))};
  a.fx = {fx("EUR", "USD", "1.0850", "2026-06-01", "ECB"), fx("GBP", "USD", "1.27")};
  const Result r = run(a);
  EXPECT_EQ(pool_cost(r, "eu"), D("1339.51"));  // 1339.50845 -> 1339.51
  EXPECT_EQ(pool_cost(r, "eu2"), D("0.01"));    // 0.01085 -> 0.01
  EXPECT_EQ(pool_cost(r, "us"), D("1"));
  ASSERT_EQ(r.fx_used.size(), 1u);  // listed once, only the rates used
  EXPECT_EQ(r.fx_used[0].rate, D("1.0850"));
  EXPECT_NE(result_to_json(r).find(R"("fx": [)"), std::string::npos);

  a.fx.push_back(fx("EUR", "USD", "1.09"));
  EXPECT_EQ(path_of(a), "pools[0].currency");
  a.fx.clear();
  EXPECT_EQ(path_of(a), "pools[0].currency");
  // No foreign pool, no fx section.
  Allocation plain;
  plain.pools = {pool("p", CostSource{D("1")})};
  EXPECT_EQ(result_to_json(run(plain)).find(R"("fx")"), std::string::npos);
}

TEST(EngineValidation, PathsOfBadAllocations) {
  Allocation a;
  a.pools = {pool("", CostSource{D("1")})};
  EXPECT_EQ(path_of(a), "pools[0].id");
  a.pools = {pool("p", CostSource{D("1")}), pool("p", CostSource{D("2")})};
  EXPECT_EQ(path_of(a), "pools[1].id");
  a.pools = {pool("p", CostSource{D("1")})};
  a.steps = {by_team("s", "p"), by_team("s", "p")};
  EXPECT_EQ(path_of(a), "steps[1].id");
  a.steps = {by_team("s", "q")};
  EXPECT_EQ(path_of(a), "steps[0].pool");
  a.steps = {Step{"s", nullptr, "p", {}, {}}};
  EXPECT_EQ(path_of(a), "steps[0].strategy");
  a.steps = {Step{"s", std::make_shared<Even>(), std::nullopt, {"team"}, {}}};
  EXPECT_EQ(path_of(a), "steps[0]");
  a.steps = {Step{"s", std::make_shared<PerExperiment>(), "p", {}, {}}};
  EXPECT_EQ(path_of(a), "steps[0].pool");
  a.steps = {};
  a.records = {rec({}, "1", "q")};
  EXPECT_EQ(path_of(a), "records[0].pool");
  a.records[0].origin = "usage.csv line 7";
  EXPECT_EQ(path_of(a), "usage.csv line 7");  // a file's record: "usage.csv line 7: pool: ..."
  a.records = {rec({}, "1", "p")};
  a.records[0].sku = "gpu/x";
  EXPECT_EQ(path_of(a), "records[0].pool");
  a.records = {};
  a.precision = D("0.03");
  EXPECT_EQ(path_of(a), "precision");
}

TEST(EngineSteps, ParticipationBySelectPoolAndSku) {
  Allocation a;
  a.catalog = catalog();
  a.pools = {pool("p", CostSource{D("10")}), pool("q", CostSource{D("5")})};
  Record run_record = rec({{"team", "runs"}}, "1000");
  run_record.sku = "gpu/x";
  run_record.count = D("1");
  run_record.start = T("2026-06-02T00:00:00Z");
  run_record.end = T("2026-06-02T01:00:00Z");
  a.records = {rec({{"team", "a"}}, "1"), rec({{"team", "b"}}, "1", "q"), rec({{"team", "c"}}, "1", "p"), run_record};
  a.steps = {by_team("p-step", "p"), by_team("q-step", "q"), Step{"runs", std::make_shared<PerExperiment>(), std::nullopt, {"team"}, {}}};
  a.steps.push_back(Step{"selected", std::make_shared<Proportional>(WeightExpression::measure("gpu_seconds")), "p", {"team"},
                         {{"team", {"c", "zzz"}}}});
  const Result r = run(a);
  const auto p = r.lines_of("p-step");  // a (no pool) and c (pool p); not b, not the run
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0]->tags, (Tags{{"team", "a"}}));
  EXPECT_EQ(p[1]->tags, (Tags{{"team", "c"}}));
  const auto q = r.lines_of("q-step");
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q[1]->tags, (Tags{{"team", "b"}}));
  const auto runs = r.lines_of("runs");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]->cost, D("3.92"));
  const auto selected = r.lines_of("selected");
  ASSERT_EQ(selected.size(), 1u);
  EXPECT_EQ(selected[0]->cost, D("10.00"));
  // Coverage: one entry per split step with a non-zero pool, none for per_experiment.
  ASSERT_EQ(r.coverage.size(), 3u);
  EXPECT_EQ(r.coverage[0].step, "p-step");
}

TEST(EngineSteps, CoverageLeavesOutZeroPools) {
  Allocation a;
  a.pools = {pool("zero", CostSource{D("0.004")}), pool("p", CostSource{D("4")})};  // 0.004 rounds to 0
  a.records = {rec({{"team", "a"}}, "1"), rec({{"app", "x"}}, "3")};
  a.steps = {by_team("z", "zero"), by_team("s", "p")};
  const Result r = run(a);
  ASSERT_EQ(r.coverage.size(), 1u);
  EXPECT_EQ(r.coverage[0].step, "s");
  EXPECT_EQ(r.coverage[0].ratio, Rational(1, 4));
  for (const Line* l : r.lines_of("z")) EXPECT_TRUE(l->cost.is_zero());
}

TEST(EngineSteps, PrecisionAndCurrencyMinorUnit) {
  Allocation a;
  a.currency = Currency("JPY");
  a.pools = {pool("p", CostSource{D("1000")})};
  a.records = {rec({{"team", "a"}}, "1"), rec({{"team", "b"}}, "1"), rec({{"team", "c"}}, "1")};
  a.steps = {by_team("s", "p")};
  Result r = run(a);
  EXPECT_EQ(r.precision, D("1"));
  EXPECT_EQ(r.lines[0].cost, D("334"));
  EXPECT_EQ(r.lines[1].cost, D("333"));
  a.precision = D("0.0001");
  r = run(a);
  EXPECT_EQ(r.lines[0].cost, D("333.3334"));
  EXPECT_NE(result_to_json(r).find(R"("cost": "333.3333")"), std::string::npos);
}

TEST(EngineSteps, DeterministicBytes) {
  Allocation a;
  a.pools = {pool("p", CostSource{D("100")})};
  for (int i = 0; i < 20; ++i) a.records.push_back(rec({{"team", std::string(1, static_cast<char>('a' + i % 7))}}, std::to_string(i)));
  a.steps = {by_team("s", "p")};
  const std::string first = result_to_json(run(a));
  std::reverse(a.records.begin(), a.records.end());
  EXPECT_EQ(result_to_json(run(a)), first);
  EXPECT_EQ(to_string(LineKind::allocated), "allocated");
  EXPECT_EQ(to_string(LineKind::overhead), "overhead");
  EXPECT_EQ(to_string(LineKind::idle), "idle");
  EXPECT_EQ(to_string(LineKind::unallocated), "unallocated");
}

TEST(EngineSteps, WeightedSplitCreditKeepsItsIdleLine) {
  // A credit on a half-used instance: the idle half is a negative idle line, and the lines
  // still sum to the pool (this threw "allocation parts sum to -5, not to -10" before).
  WeightedSplit::Options o;
  o.capacity = {{"gpu", Decimal(2)}};
  o.unused = WeightedSplit::Unused::separate;
  Allocation a;
  a.pools = {pool("p", CostSource{D("-10")})};
  Record r = rec({{"pod", "a"}}, "0");
  r.reserved = {{"gpu", Decimal(1)}};
  a.records = {r};
  a.steps = {Step{"s", std::make_shared<WeightedSplit>(o), "p", {}, {}}};
  Result res = run(a);
  ASSERT_EQ(res.lines.size(), 2u);
  EXPECT_EQ(res.lines[0].cost, D("-5"));
  EXPECT_EQ(res.lines[1].kind, LineKind::idle);
  EXPECT_EQ(res.lines[1].cost, D("-5"));
  // With no records at all, the whole credit is idle.
  a.records.clear();
  res = run(a);
  ASSERT_EQ(res.lines.size(), 1u);
  EXPECT_EQ(res.lines[0].kind, LineKind::idle);
  EXPECT_EQ(res.lines[0].cost, D("-10"));
}

}  // namespace

// ---- The record plan (plan.hpp) ---------------------------------------------------------------

TEST(RecordPlan, KeysAndMeasuresComeFromTheSteps) {
  std::vector<Step> steps = {by_team("s", "p")};
  PerNamespace::Options o;
  o.weight = WeightExpression{{{"gpu_seconds", D("1")}, {"cpu_seconds", D("2")}}};
  steps.push_back(Step{"ns", std::make_shared<PerNamespace>(o), "p", {"team", "env"}, {{"region", {"eu"}}}});
  const std::vector<Pool> pools = {pool("p", CostSource{D("1")}), pool("nlp", FromStepSource{"s", {{"project", "x"}}})};
  const RecordPlan plan = plan_records(steps, pools, false);
  EXPECT_TRUE(plan.reduce);
  // group_by, select, the namespace per_namespace tells overhead by, the drill-down's tags.
  EXPECT_EQ(plan.keys, (std::set<std::string, std::less<>>{"env", "namespace", "project", "region", "team"}));
  EXPECT_EQ(plan.measures, (std::set<std::string, std::less<>>{"cpu_seconds", "gpu_seconds"}));
  EXPECT_TRUE(plan_records(steps, pools, true).measures.contains("requests"));  // unit economics
  // A strategy that needs rows (a registered one that does not say; weighted_split's max of
  // reserved and used) keeps every record whole.
  struct Mine : Strategy {
    StepOutput run(const StepInput&) const override { return {}; }
  };
  steps.push_back(Step{"mine", std::make_shared<Mine>(), "p", {"team"}, {}});
  EXPECT_FALSE(plan_records(steps, pools, false).reduce);
}

TEST(RecordPlan, TheReducerSumsPlainRecordsAndKeepsTheRest) {
  RecordPlan plan;
  plan.reduce = true;
  plan.keys = {"team"};
  plan.measures = {"gpu_seconds"};
  RecordReducer reducer(plan);
  const auto add = [&](Tags tags, std::string_view gpu, std::string origin, std::optional<std::string> pool = {}) {
    Record r = rec(std::move(tags), gpu, std::move(pool));
    r.measures["tokens_prompt"] = D("5");
    r.origin = std::move(origin);
    reducer.add(std::move(r));
  };
  add({{"team", "a"}, {"pod", "1"}}, "10", "records[0]");
  Record run;  // a priced run is never summed
  run.tags = Tags{{"team", "a"}};
  run.sku = "gpu/x";
  run.origin = "records[1]";
  reducer.add(std::move(run));
  add({{"team", "b"}}, "1", "records[2]");
  add({{"team", "a"}, {"pod", "2"}}, "5", "records[3]");
  add({{"team", "a"}}, "2", "records[4]", "other");  // another pool: another group
  const std::vector<Record> out = reducer.take();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].origin, "records[0]");
  EXPECT_EQ(out[0].tags, (Tags{{"team", "a"}}));
  EXPECT_EQ(out[0].measures, (Amounts{{"gpu_seconds", D("15")}}));
  EXPECT_EQ(out[1].origin, "records[1]");
  EXPECT_TRUE(out[1].sku.has_value());
  EXPECT_EQ(out[2].origin, "records[2]");
  EXPECT_EQ(out[3].pool, "other");
  EXPECT_EQ(reducer.dropped_tags(), (std::set<std::string, std::less<>>{"pod"}));
}
