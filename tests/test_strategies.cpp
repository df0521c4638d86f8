// The built-in strategies driven from C++ (no JSON): each strategy's worked numbers, the
// strategy registry, and property tests on random allocations (conservation, order
// independence, agreement with an exact computation done here).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <thread>
#include <type_traits>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;

Decimal D(std::string_view text) { return Decimal::parse(text); }

Amounts amounts(std::initializer_list<std::pair<const char*, const char*>> items) {
  Amounts out;
  for (const auto& [k, v] : items) out.emplace(k, D(v));
  return out;
}

Record rec(Tags tags, Amounts measures = {}, std::optional<std::string> pool = std::nullopt) {
  Record r;
  r.tags = std::move(tags);
  r.measures = std::move(measures);
  r.pool = std::move(pool);
  return r;
}

Pool cost_pool(std::string id, std::string_view cost) { return Pool{std::move(id), {}, CostSource{D(cost)}, std::nullopt, nullptr}; }

Step step(std::string id, std::shared_ptr<const Strategy> strategy, std::optional<std::string> pool,
          std::vector<std::string> group_by = {}, Selector select = {}) {
  return Step{std::move(id), std::move(strategy), std::move(pool), std::move(group_by), std::move(select)};
}

Allocation one_pool(std::string_view cost, std::vector<Record> records, std::shared_ptr<const Strategy> strategy,
                    std::vector<std::string> group_by = {}) {
  Allocation a;
  a.pools.push_back(cost_pool("p", cost));
  a.records = std::move(records);
  a.steps.push_back(step("s", std::move(strategy), "p", std::move(group_by)));
  return a;
}

// "kind tags=cost" per line, for compact comparisons.
std::vector<std::string> summary(const Result& r, std::string_view step_id = "s") {
  std::vector<std::string> out;
  for (const Line* l : r.lines_of(step_id)) {
    std::string s(to_string(l->kind));
    for (const auto& [k, v] : l->tags) s += " " + k + "=" + v;
    out.push_back(s + " " + l->cost.to_fixed(2));
  }
  return out;
}

std::string share_of(const Line& l) {
  return l.share ? Decimal::from_rational(*l.share, D("0.000001")).to_fixed(6) : std::string("-");
}

using V = std::vector<std::string>;

// ---- weighted lines -------------------------------------------------------------------

// A weighted line's absorbed weights are zero on nearly every line and held on the heap
// otherwise: zero, whether never set or added back to zero, reads as zero and holds nothing.
TEST(WeightedLines, SparseRationalIsExactAndHoldsNothingAtZero) {
  SparseRational r;
  EXPECT_TRUE(r.is_zero());
  EXPECT_EQ(r.value(), Rational(0));
  r += Rational(1, 3);
  EXPECT_FALSE(r.is_zero());
  r += Rational(1, 6);
  EXPECT_EQ(r.value(), Rational(1, 2));
  r += Rational(-1, 2);
  EXPECT_TRUE(r.is_zero());
  EXPECT_EQ(r.value(), Rational(0));
  EXPECT_TRUE(SparseRational(0).is_zero());
  EXPECT_TRUE(SparseRational(Rational(0)).is_zero());
  const SparseRational seven = Rational(7, 2);
  SparseRational copy = seven;
  copy += Rational(1, 2);
  EXPECT_EQ(seven.value(), Rational(7, 2));  // copies are their own
  EXPECT_EQ(copy.value(), Rational(4));
  EXPECT_EQ(sizeof(SparseRational), sizeof(void*));
  // Any integer converts exactly (none narrowed through int); a double does not convert.
  EXPECT_EQ(SparseRational(5000000000LL).value(), Rational(5000000000LL));
  EXPECT_EQ(SparseRational(std::size_t{1} << 40).value(), Rational(static_cast<long long>(std::size_t{1} << 40)));
  static_assert(!std::is_convertible_v<double, SparseRational>);
}

// ---- proportional ---------------------------------------------------------------------

TEST(Proportional, FiveTeamsByTokensKeepEveryCent) {
  // 31.36 split 40/25/15/12/8: rounding each alone gives 12.54 + ... = 31.35.
  std::vector<Record> rs{rec({{"team", "nlp"}}, amounts({{"tokens_prompt", "3000000"}, {"tokens_generation", "1000000"}})),
                         rec({{"team", "cv"}}, amounts({{"tokens_prompt", "2000000"}, {"tokens_generation", "500000"}})),
                         rec({{"team", "platform"}}, amounts({{"tokens_prompt", "1000000"}, {"tokens_generation", "500000"}})),
                         rec({{"team", "research"}}, amounts({{"tokens_prompt", "1000000"}, {"tokens_generation", "200000"}})),
                         rec({{"team", "product"}}, amounts({{"tokens_prompt", "600000"}, {"tokens_generation", "200000"}}))};
  WeightExpression w{{{"tokens_prompt", Decimal(1)}, {"tokens_generation", Decimal(1)}}};
  const Result r = run(one_pool("31.36", rs, std::make_shared<Proportional>(w), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=cv 7.84", "allocated team=nlp 12.55", "allocated team=platform 4.70",
                           "allocated team=product 2.51", "allocated team=research 3.76"}));
  EXPECT_EQ(share_of(*r.lines_of("s")[1]), "0.400000");
  ASSERT_EQ(r.coverage.size(), 1u);
  EXPECT_EQ(r.coverage[0].ratio, Rational(1));
}

TEST(Proportional, LinearCombinationAndMissingMeasureCountsZero) {
  // weight = prompt + 3 x generation: a = 1 + 3 = 4, b = 0 + 3 x 2 = 6 (no prompt measure)
  std::vector<Record> rs{rec({{"team", "a"}}, amounts({{"tokens_prompt", "1"}, {"tokens_generation", "1"}})),
                         rec({{"team", "b"}}, amounts({{"tokens_generation", "2"}}))};
  WeightExpression w{{{"tokens_prompt", Decimal(1)}, {"tokens_generation", Decimal(3)}}};
  const Result r = run(one_pool("10", rs, std::make_shared<Proportional>(w), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=a 4.00", "allocated team=b 6.00"}));
  EXPECT_EQ(*r.lines_of("s")[1]->weight, Rational(6));
}

TEST(Proportional, MissingGroupKeyIsUnallocatedAndZeroDenominatorIsOneLine) {
  std::vector<Record> rs{rec({{"team", "a"}}, amounts({{"gpu_seconds", "1"}})), rec({{"app", "x"}}, amounts({{"gpu_seconds", "3"}}))};
  const Result r = run(one_pool("1.00", rs, std::make_shared<Proportional>(WeightExpression::measure("gpu_seconds")), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=a 0.25", "unallocated team=__unallocated__ 0.75"}));
  EXPECT_EQ(r.coverage.at(0).ratio, Rational(1, 4));

  const Result zero = run(one_pool("12.34", {rec({{"team", "a"}})}, std::make_shared<Proportional>(WeightExpression::measure("gpu_seconds")), {"team"}));
  EXPECT_EQ(summary(zero), (V{"unallocated team=__unallocated__ 12.34"}));
  EXPECT_FALSE(zero.lines[0].share.has_value());
  EXPECT_EQ(zero.coverage.at(0).ratio, Rational(0));
}

TEST(Proportional, NegativePoolSplitsAsItsMagnitudeNegated) {
  std::vector<Record> rs{rec({{"team", "a"}}, amounts({{"gpu_seconds", "1"}})), rec({{"team", "b"}}, amounts({{"gpu_seconds", "1"}})),
                         rec({{"team", "c"}}, amounts({{"gpu_seconds", "1"}}))};
  const Result r = run(one_pool("-100.00", rs, std::make_shared<Proportional>(WeightExpression::measure("gpu_seconds")), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=a -33.34", "allocated team=b -33.33", "allocated team=c -33.33"}));
}

TEST(Proportional, TiesGoToLargerAmountThenSmallerTags) {
  // 1.00 by 1:1:1 -> one leftover cent, equal remainders and amounts: the smallest tags, "a".
  std::vector<Record> rs{rec({{"team", "c"}}, amounts({{"w", "1"}})), rec({{"team", "b"}}, amounts({{"w", "1"}})),
                         rec({{"team", "a"}}, amounts({{"w", "1"}}))};
  Result r = run(one_pool("1.00", rs, std::make_shared<Proportional>(WeightExpression::measure("w")), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=a 0.34", "allocated team=b 0.33", "allocated team=c 0.33"}));
  // 0.03 by 1:1:2:2 -> 0.5, 0.5, 1, 1 cents: floors 0,0,1,1 leave 1 unit; remainders .5,.5,0,0.
  std::vector<Record> rs2{rec({{"team", "b"}}, amounts({{"w", "1"}})), rec({{"team", "a"}}, amounts({{"w", "1"}})),
                          rec({{"team", "c"}}, amounts({{"w", "2"}})), rec({{"team", "d"}}, amounts({{"w", "2"}}))};
  r = run(one_pool("0.03", rs2, std::make_shared<Proportional>(WeightExpression::measure("w")), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=a 0.01", "allocated team=b 0.00", "allocated team=c 0.01", "allocated team=d 0.01"}));
  // Same remainder (.5) with different magnitudes: 0.04 by 1:3:4 -> 0.5, 1.5, 2 cents: the
  // unit goes to the larger exact amount (1.5), not the smaller tags.
  std::vector<Record> rs3{rec({{"team", "a"}}, amounts({{"w", "1"}})), rec({{"team", "b"}}, amounts({{"w", "3"}})),
                          rec({{"team", "c"}}, amounts({{"w", "4"}}))};
  r = run(one_pool("0.04", rs3, std::make_shared<Proportional>(WeightExpression::measure("w")), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=a 0.00", "allocated team=b 0.02", "allocated team=c 0.02"}));
}

TEST(Proportional, SelectAndRecordPool) {
  std::vector<Record> rs{rec({{"team", "a"}, {"env", "prod"}}, amounts({{"w", "1"}})),
                         rec({{"team", "b"}, {"env", "dev"}}, amounts({{"w", "1"}})),
                         rec({{"team", "c"}, {"env", "prod"}}, amounts({{"w", "1"}}), "other"),
                         rec({{"team", "d"}}, amounts({{"w", "1"}}))};
  Allocation a;
  a.pools = {cost_pool("p", "9"), cost_pool("other", "1")};
  a.records = rs;
  a.steps.push_back(step("s", std::make_shared<Proportional>(WeightExpression::measure("w")), "p", {"team"}, {{"env", {"prod", "staging"}}}));
  const Result r = run(a);
  EXPECT_EQ(summary(r), (V{"allocated team=a 9.00"}));
  ASSERT_EQ(r.pools.size(), 2u);
  EXPECT_EQ(r.pools[1].cost, D("1"));
}

// ---- per_namespace ----------------------------------------------------------------------

std::vector<Record> namespace_records() {
  return {rec({{"namespace", "a"}}, amounts({{"gpu_seconds", "600"}})), rec({{"namespace", "b"}}, amounts({{"gpu_seconds", "300"}})),
          rec({{"namespace", "kube-system"}}, amounts({{"gpu_seconds", "100"}}))};
}

Result per_namespace(PerNamespace::Options o, std::vector<Record> rs = namespace_records()) {
  return run(one_pool("100.00", std::move(rs), std::make_shared<PerNamespace>(std::move(o))));
}

TEST(PerNamespace, SeparateOverheadAndIdle) {
  PerNamespace::Options o;
  o.idle_capacity = D("2000");  // total 1000: idle 1000, denominator 2000
  const Result r = per_namespace(o);
  EXPECT_EQ(summary(r), (V{"allocated namespace=a 30.00", "allocated namespace=b 15.00", "overhead namespace=kube-system 5.00",
                           "idle namespace=__idle__ 50.00"}));
  EXPECT_EQ(share_of(r.lines[0]), "0.300000");
  EXPECT_EQ(share_of(r.lines[3]), "0.500000");
}

TEST(PerNamespace, UsageBeyondTheIdleCapacityIsWarnedOf) {
  // The records weigh 1000 (another node's records taking part, say) against a capacity of
  // 800: no idle is left and the lines are wrong; the step says so. Within it, nothing.
  PerNamespace::Options o;
  o.idle_capacity = D("800");
  EXPECT_EQ(per_namespace(o).warnings,
            (std::vector<std::string>{"steps[0]: the records weigh 1000, more than the idle capacity 800, so no idle is "
                                      "left: do records of another node or period take part (a select missing)?"}));
  o.idle_capacity = D("1000");
  EXPECT_TRUE(per_namespace(o).warnings.empty());
}

TEST(PerNamespace, ProportionalOverheadSpreadsByAllocatedWeight) {
  PerNamespace::Options o;
  o.idle_capacity = D("2000");
  o.overhead_policy = ProportionalPolicy{};
  // a: (600 + 100 x 2/3) / 2000 x 100 = 33.333..; b: 16.666..; idle 50.
  const Result r = per_namespace(o);
  EXPECT_EQ(summary(r), (V{"allocated namespace=a 33.33", "allocated namespace=b 16.67", "idle namespace=__idle__ 50.00"}));
  EXPECT_EQ(share_of(r.lines[0]), "0.300000");  // the reported weight excludes what was spread
  o.idle_policy = ProportionalPolicy{};
  const Result all = per_namespace(o);
  EXPECT_EQ(summary(all), (V{"allocated namespace=a 66.67", "allocated namespace=b 33.33"}));
  EXPECT_TRUE(all.coverage.at(0).ratio == 1);
}

TEST(PerNamespace, AssignGivesCostToOneLineWhichCarriesTheWeight) {
  PerNamespace::Options o;
  o.idle_capacity = D("2000");
  o.idle_policy = AssignPolicy{{{"namespace", "b"}}};
  Result r = per_namespace(o);
  EXPECT_EQ(summary(r), (V{"allocated namespace=a 30.00", "allocated namespace=b 65.00", "overhead namespace=kube-system 5.00"}));
  EXPECT_EQ(*r.lines[1].weight, Rational(1300));
  EXPECT_EQ(share_of(r.lines[1]), "0.650000");
  // Assigning to a namespace with no records makes its line.
  o.idle_policy = SeparatePolicy{};
  o.overhead_policy = AssignPolicy{{{"namespace", "platform"}}};
  r = per_namespace(o);
  EXPECT_EQ(summary(r), (V{"allocated namespace=a 30.00", "allocated namespace=b 15.00", "allocated namespace=platform 5.00",
                           "idle namespace=__idle__ 50.00"}));
  // The assign tags must use exactly the step's group_by keys.
  o.overhead_policy = AssignPolicy{{{"team", "platform"}}};
  try {
    per_namespace(o);
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "steps[0].overhead.policy.assign");
  }
}

TEST(PerNamespace, OverheadWithNothingAllocatedStaysOnItsLines) {
  PerNamespace::Options o;
  o.overhead_policy = ProportionalPolicy{};
  const Result r = per_namespace(o, {rec({{"namespace", "kube-system"}}, amounts({{"gpu_seconds", "1"}})),
                                     rec({{"namespace", "monitoring"}}, amounts({{"gpu_seconds", "3"}}))});
  EXPECT_EQ(summary(r), (V{"overhead namespace=kube-system 25.00", "overhead namespace=monitoring 75.00"}));
}

TEST(PerNamespace, ZeroDenominatorIsOneUnallocatedLine) {
  const Result r = per_namespace({}, {});
  EXPECT_EQ(summary(r), (V{"unallocated namespace=__unallocated__ 100.00"}));
  // With capacity and no use at all, the whole pool is idle.
  PerNamespace::Options o;
  o.idle_capacity = D("10");
  EXPECT_EQ(summary(per_namespace(o, {})), (V{"idle namespace=__idle__ 100.00"}));
}

TEST(PerNamespace, UsageAboveCapacityHasNoIdle) {
  PerNamespace::Options o;
  o.idle_capacity = D("500");  // total 1000 > 500: denominator is the total
  EXPECT_EQ(summary(per_namespace(o)),
            (V{"allocated namespace=a 60.00", "allocated namespace=b 30.00", "overhead namespace=kube-system 10.00"}));
}

// ---- per_tenant -------------------------------------------------------------------------

std::vector<Record> tenant_records() {
  return {rec({{"team", "x"}}, amounts({{"tokens_prompt", "1000"}, {"tokens_cached", "400"}, {"tokens_generation", "200"}, {"requests", "3"}})),
          rec({{"team", "y"}}, amounts({{"tokens_prompt", "500"}, {"tokens_generation", "100"}, {"requests", "1"}}))};
}

Result per_tenant(PerTenant::Options o) { return run(one_pool("10.00", tenant_records(), std::make_shared<PerTenant>(o))); }

TEST(PerTenant, CachedPolicies) {
  PerTenant::Options o;  // proportional: 800 : 600
  EXPECT_EQ(summary(per_tenant(o)), (V{"allocated team=x 5.71", "allocated team=y 4.29"}));
  o.cached = PerTenant::Cached::separate;  // 800 : 600 : 400 cached
  const Result sep = per_tenant(o);
  EXPECT_EQ(summary(sep), (V{"allocated team=x 4.45", "allocated team=y 3.33", "overhead team=__prefix_cache__ 2.22"}));
  EXPECT_EQ(share_of(sep.lines[2]), "0.222222");
  o.cached = PerTenant::Cached::tenant;  // 1200 : 600
  EXPECT_EQ(summary(per_tenant(o)), (V{"allocated team=x 6.67", "allocated team=y 3.33"}));
  o.token_weights = {Decimal(1), Decimal(3)};  // 1000 + 600 : 500 + 300
  EXPECT_EQ(summary(per_tenant(o)), (V{"allocated team=x 6.67", "allocated team=y 3.33"}));
}

TEST(PerTenant, RequestsWeight) {
  PerTenant::Options o;
  o.weight = PerTenant::Weight::requests;
  EXPECT_EQ(summary(per_tenant(o)), (V{"allocated team=x 7.50", "allocated team=y 2.50"}));
}

TEST(PerTenant, CachedAbovePromptIsRefused) {
  Record bad = rec({{"team", "x"}}, amounts({{"tokens_prompt", "1"}, {"tokens_cached", "2"}}));
  bad.origin = "records[0]";
  try {
    run(one_pool("1", {bad}, std::make_shared<PerTenant>(PerTenant::Options{})));
    FAIL() << "expected SpecError";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "records[0].measures.tokens_cached");
  }
}

// A LiteLLM-style per-token price list: "litellm/m" with every tier, its input price cut
// at 12:00, and "litellm/mm" priced per million tokens.
std::shared_ptr<Catalog> token_catalog() {
  auto c = std::make_shared<Catalog>();
  Sku m;
  m.id = "litellm/m";
  m.unit = PriceUnit::token;
  const auto price = [](std::string tier, const char* rate, std::optional<Instant> from = std::nullopt) {
    Price p;
    p.tier = std::move(tier);
    p.rate = D(rate);
    p.from = from;
    return p;
  };
  m.prices = {price("input", "0.000003"), price("input", "0.000002", Instant::parse("2026-06-02T12:00:00Z")),
              price("cache_read", "0.0000003"), price("cache_write", "0.00000375"), price("output", "0.000015"),
              price("input_above_200k", "0.000006"), price("output_above_200k", "0.0000225")};
  c->add(m);
  Sku mm;
  mm.id = "litellm/mm";
  mm.unit = PriceUnit::million_tokens;
  mm.prices = {price("input", "2.50"), price("output", "10")};
  c->add(mm);
  return c;
}

Record priced_tokens(const char* team, const char* model, Amounts measures, std::optional<const char*> start = std::nullopt) {
  Record r = rec({{"team", team}, {"litellm_model", model}}, std::move(measures));
  if (start) r.start = Instant::parse(*start);
  return r;
}

TEST(PerTenant, ListPriceWeighsEachKindOfTokenAtItsRate) {
  // By hand, at the rates in force at each record's start:
  //   x 100 uncached x 3e-6 + 600 cached x 3e-7 + 300 written x 3.75e-6 + 100 x 1.5e-5 = 0.003105
  //   y 250,000 prompt tokens, above 200k: 200,000 x 6e-6 + 50,000 x 3e-7 (no cache_read
  //     above-200k tier: the base rate) + 1,000 x 2.25e-5                          = 1.2375
  //   y after 12:00, input 2e-6: 1,000 x 2e-6                                       = 0.002
  //   x per million tokens: 0.4 M x 2.50 + 0.1 M x 10                               = 2
  // x 2.003105, y 1.2395; of 10.00: x 10 x 2.003105 / 3.242605 = 6.1774..., y 3.8225...
  Allocation a = one_pool(
      "10.00",
      {priced_tokens("x", "m", amounts({{"tokens_prompt", "1000"}, {"tokens_cached", "600"}, {"tokens_cache_write", "300"},
                                        {"tokens_generation", "100"}}),
                     "2026-06-02T10:00:00Z"),
       priced_tokens("y", "m", amounts({{"tokens_prompt", "250000"}, {"tokens_cached", "50000"}, {"tokens_generation", "1000"}}),
                     "2026-06-02T10:00:00Z"),
       priced_tokens("y", "m", amounts({{"tokens_prompt", "1000"}}), "2026-06-02T13:00:00Z"),
       priced_tokens("x", "mm", amounts({{"tokens_prompt", "400000"}, {"tokens_generation", "100000"}}))},
      std::make_shared<PerTenant>(PerTenant::Options{PerTenant::Weight::list_price, {}, {}, "litellm/", "litellm_model"}));
  a.catalog = token_catalog();
  const Result r = run(a);
  EXPECT_EQ(summary(r), (V{"allocated team=x 6.18", "allocated team=y 3.82"}));
  EXPECT_EQ(*r.lines[0].weight, Rational(2003105, 1000000));
  EXPECT_EQ(*r.lines[1].weight, Rational(12395, 10000));
  EXPECT_EQ(r.lines[0].exact_cost, Rational(10) * Rational(2003105, 1000000) / Rational(3242605, 1000000));
}

TEST(PerTenant, ListPriceErrorsNameTheRecordAndTheModel) {
  const auto error_of = [](Record r, std::shared_ptr<Catalog> catalog = token_catalog()) {
    r.origin = "spend.json [3]";
    PerTenant::Options options;
    options.weight = PerTenant::Weight::list_price;
    Allocation a = one_pool("1", {r}, std::make_shared<PerTenant>(options));
    a.catalog = std::move(catalog);
    try {
      run(a);
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(rec({{"team", "x"}}, amounts({{"tokens_prompt", "1"}}))),
            "spend.json [3]: has no \"litellm_model\" tag to find its list price by (steps[0] weighs by \"list_price\")");
  EXPECT_EQ(error_of(priced_tokens("x", "gpt-9", amounts({{"tokens_prompt", "1"}}))),
            "spend.json [3]: model \"gpt-9\" has no SKU \"litellm/gpt-9\" in the catalog (steps[0] weighs by \"list_price\")");
  EXPECT_EQ(error_of(priced_tokens("x", "mm", amounts({{"tokens_prompt", "10"}, {"tokens_cached", "4"}}))),
            "spend.json [3]: SKU \"litellm/mm\" has no cache_read price for its 4 cached tokens (steps[0] weighs by "
            "\"list_price\")");
  EXPECT_EQ(error_of(priced_tokens("x", "m", amounts({{"tokens_prompt", "10"}}), "2026-06-01T00:00:00Z"),
                     [] {
                       auto c = std::make_shared<Catalog>();
                       Sku s;
                       s.id = "litellm/m";
                       s.unit = PriceUnit::token;
                       Price p;
                       p.tier = "input";
                       p.rate = D("0.000001");
                       p.from = Instant::parse("2026-06-02T00:00:00Z");
                       s.prices = {p};
                       c->add(s);
                       return c;
                     }()),
            "spend.json [3]: no input price for SKU \"litellm/m\" at 2026-06-01T00:00:00Z for its 10 uncached prompt tokens "
            "(steps[0] weighs by \"list_price\")");
  EXPECT_EQ(error_of(priced_tokens("x", "m", amounts({{"tokens_prompt", "10"}, {"tokens_cached", "6"}, {"tokens_cache_write", "5"}}))),
            "spend.json [3].measures: tokens_cached (6) and tokens_cache_write (5) exceed tokens_prompt (10)");
  EXPECT_EQ(error_of(priced_tokens("x", "m", amounts({{"tokens_prompt", "1"}})), nullptr),
            "steps[0].weight: \"list_price\" needs a catalog (a litellm-prices input or the spec's catalog)");
  auto hourly = std::make_shared<Catalog>();
  Sku gpu;
  gpu.id = "litellm/m";
  gpu.prices = {Price{}};
  hourly->add(gpu);
  EXPECT_EQ(error_of(priced_tokens("x", "m", amounts({{"tokens_prompt", "1"}})), hourly),
            "spend.json [3]: SKU \"litellm/m\" is priced per gpu_hour, not per token (steps[0] weighs by \"list_price\")");
}

TEST(PerTenant, ListPriceFromASpec) {
  const auto spec = [](const std::string& step_options) {
    return R"({"apportion": 1, "pools": [{"id": "p", "cost": "3.00"}],
      "catalog": {"skus": [{"id": "gw/a", "unit": "token", "prices": [{"tier": "input", "rate": "0.000001"},
                                                                       {"tier": "output", "rate": "0.000004"}]}]},
      "records": [{"tags": {"team": "x", "model": "a"}, "measures": {"tokens_prompt": 1000, "tokens_generation": 0}},
                  {"tags": {"team": "y", "model": "a"}, "measures": {"tokens_prompt": 0, "tokens_generation": 500}}],
      "steps": [{"id": "s", "strategy": "per_tenant", "pool": "p")" +
           step_options + "}]}";
  };
  // x 1,000 x 1e-6 = 0.001, y 500 x 4e-6 = 0.002: 1.00 and 2.00 of 3.00 (by tokens, 2.00 and 1.00).
  EXPECT_EQ(summary(run(allocation_from_spec(
                parse_json(spec(R"(, "weight": "list_price", "sku_prefix": "gw/", "model_tag": "model")"))))),
            (V{"allocated team=x 1.00", "allocated team=y 2.00"}));
  const auto error_of = [&](const std::string& options) {
    try {
      allocation_from_spec(parse_json(spec(options)));
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of(R"(, "weight": "list_price", "cached": "tenant")"),
            "steps[0].cached: has no effect with weight \"list_price\"");
  EXPECT_EQ(error_of(R"(, "weight": "list_price", "token_weights": {"prompt": 2})"),
            "steps[0].token_weights: has no effect with weight \"list_price\"");
  EXPECT_EQ(error_of(R"(, "sku_prefix": "gw/")"), "steps[0].sku_prefix: is read only with weight \"list_price\"");
  EXPECT_EQ(error_of(R"(, "weight": "cost")"), "steps[0].weight: must be \"tokens\", \"requests\" or \"list_price\"");
  EXPECT_EQ(error_of(R"(, "weight": "list_price", "model_tag": "")"), "steps[0].model_tag: must name a tag");
}

// ---- per_token --------------------------------------------------------------------------

std::vector<Record> token_records() {
  return {rec({{"team", "a"}, {"model", "m1"}}, amounts({{"tokens_prompt", "3000000"}, {"tokens_cached", "1000000"}, {"tokens_generation", "1000000"}})),
          rec({{"team", "b"}, {"model", "m1"}}, amounts({{"tokens_prompt", "1000000"}, {"tokens_generation", "500000"}})),
          rec({{"team", "b"}, {"model", "m2"}}, amounts({{"tokens_prompt", "2000000"}, {"tokens_generation", "500000"}})),
          rec({{"team", "c"}}, amounts({{"tokens_prompt", "1000000"}}))};
}

std::vector<std::string> unit_summary(const Result& r) {
  std::vector<std::string> out;
  for (const UnitCost& u : r.unit_costs) {
    std::string s;
    for (const auto& [k, v] : u.tags) s += k + "=" + v;
    for (const auto& [name, rate] : u.per_million) s += " " + name + " " + rate.to_fixed(u.unit_precision.fractional_digits());
    out.push_back(s);
  }
  return out;
}

TEST(PerToken, BlendedUnitCosts) {
  // weights a 3M, b 1.5M + 2.5M, c 1M of 8M: 37.50, 50.00, 12.50
  // m1: (3M + 1.5M)/8M x 100 = 56.25 over 5.5M tokens = 10.22727.. per million
  const Result r = run(one_pool("100.00", token_records(), std::make_shared<PerToken>(PerToken::Options{})));
  EXPECT_EQ(summary(r), (V{"allocated team=a 37.50", "allocated team=b 50.00", "allocated team=c 12.50"}));
  EXPECT_EQ(unit_summary(r), (V{"model=__unallocated__ blended 12.5000", "model=m1 blended 10.2273", "model=m2 blended 12.5000"}));
}

TEST(PerToken, PhasesGiveSharedPromptAndGenerationRates) {
  PerToken::Options o;
  o.phases = PerToken::Phases{D("0.6"), D("0.4")};
  o.unit_precision = D("0.01");
  // P - C = 6M, G = 2M: a 0.6x2/6 + 0.4x1/2 = 0.4; b 0.3 + 0.2 = 0.5; c 0.1
  const Result r = run(one_pool("100.00", token_records(), std::make_shared<PerToken>(o)));
  EXPECT_EQ(summary(r), (V{"allocated team=a 40.00", "allocated team=b 50.00", "allocated team=c 10.00"}));
  EXPECT_EQ(unit_summary(r), (V{"model=__unallocated__ blended 10.00 prompt 10.00 generation 20.00",
                                "model=m1 blended 10.91 prompt 10.00 generation 20.00",
                                "model=m2 blended 12.00 prompt 10.00 generation 20.00"}));
}

TEST(PerToken, NoTokensNoUnitCosts) {
  const Result r = run(one_pool("5.00", {rec({{"team", "a"}, {"model", "m"}})}, std::make_shared<PerToken>(PerToken::Options{})));
  EXPECT_EQ(summary(r), (V{"unallocated team=__unallocated__ 5.00"}));
  EXPECT_TRUE(r.unit_costs.empty());
}

// ---- per_experiment ---------------------------------------------------------------------

std::shared_ptr<const Catalog> run_catalog() {
  auto c = std::make_shared<Catalog>();
  Sku s;
  s.id = "gpu/sec";
  Price on_demand, spot;
  on_demand.rate = D("3.92");
  spot.tier = "spot";
  spot.rate = D("2.91");
  s.prices = {on_demand, spot};
  c->add(s);
  s.id = "gpu/hour";
  s.billing = Billing::per_hour;
  c->add(s);
  s.id = "gpu/min";
  s.billing = Billing::per_minute;
  c->add(s);
  s.id = "gpu/min60";
  s.billing = Billing::per_second;
  s.minimum_seconds = Decimal(60);
  c->add(s);
  return c;
}

Record run_record(std::string experiment, std::string sku, std::string_view count, std::int64_t start_s, std::int64_t seconds,
                  std::optional<std::string> tier = std::nullopt) {
  Record r;
  r.tags = Tags{{"experiment", std::move(experiment)}};
  r.sku = std::move(sku);
  r.tier = std::move(tier);
  r.count = D(count);
  r.start = Instant::from_unix_seconds(start_s);
  r.end = Instant::from_unix_seconds(start_s + seconds);
  return r;
}

TEST(PerExperiment, RoundedTogetherTheLinesSumToTheTotal) {
  // Ten 5-second trials at 3.60/h cost 0.005 each: rounded alone (the default) every line
  // is 0.00 (half-even), while grouped by team the same runs cost 0.05. With "rounding":
  // "total" the lines are the total 0.05 split by the largest-remainder rule: five of the
  // equal remainders get a cent, the smaller tags first.
  const std::int64_t t0 = 1'780'000'000;
  auto catalog = std::make_shared<Catalog>();
  Sku s;
  s.id = "gpu/x";
  Price price;
  price.rate = D("3.60");
  s.prices = {price};
  catalog->add(s);
  Allocation a;
  a.catalog = catalog;
  for (int i = 0; i < 10; ++i) {
    Record r = run_record("trial-" + std::to_string(i), "gpu/x", "1", t0, 5);
    r.tags = Tags{{"experiment", "trial-" + std::to_string(i)}, {"team", "nlp"}};
    a.records.push_back(r);
  }
  const auto together = std::make_shared<PerExperiment>(PerExperiment::Options{PerExperiment::Rounding::total});
  a.steps.push_back(step("alone", std::make_shared<PerExperiment>(), std::nullopt));
  a.steps.push_back(step("trials", together, std::nullopt));
  a.steps.push_back(step("teams", together, std::nullopt, {"team"}));
  a.pools.push_back({"nlp-runs", {}, FromStepSource{"trials", {}}, std::nullopt, nullptr});
  const Result r = run(a);
  for (const Line* l : r.lines_of("alone")) EXPECT_EQ(l->cost, D("0.00"));
  Decimal trials;
  std::size_t cents = 0;
  for (const Line* l : r.lines_of("trials")) {
    trials += l->cost;
    cents += l->cost == D("0.01") ? 1 : 0;
  }
  EXPECT_EQ(trials, D("0.05"));
  EXPECT_EQ(cents, 5u);
  EXPECT_EQ(r.lines_of("trials")[0]->cost, D("0.01"));  // trial-0, the smallest tags
  EXPECT_EQ(r.lines_of("trials")[9]->cost, D("0.00"));
  EXPECT_EQ(summary(r, "teams"), (V{"allocated team=nlp 0.05"}));
  EXPECT_EQ(r.pools[0].cost, D("0.05"));  // a drill-down from the experiment lines
}

TEST(PerExperiment, BillingGranularityAndGpuHours) {
  const std::int64_t t0 = 1'780'000'000;
  Allocation a;
  a.catalog = run_catalog();
  a.records = {run_record("persec", "gpu/sec", "8", t0, 2400), run_record("hourly", "gpu/hour", "8", t0, 2400),
               run_record("minute", "gpu/min", "1", t0, 61), run_record("minimum", "gpu/min60", "1", t0, 30),
               run_record("spot", "gpu/sec", "2", t0, 1800, "spot")};
  a.records.push_back(rec({{"experiment", "not-a-run"}}, amounts({{"gpu_seconds", "5"}})));  // no sku: not read
  a.steps.push_back(step("runs", std::make_shared<PerExperiment>(), std::nullopt));
  const Result r = run(a);
  // persec 8 x 2400 x 3.92 / 3600 = 20.9066..; hourly 8 x 3.92; minute 120 s x 3.92/3600 = 0.13066..;
  // minimum 60 s = 0.06533..; spot 2 x 1800 x 2.91 / 3600 = 2.91. Each line is rounded alone
  // (the spec's rule): they sum to 55.38, a cent above the runs' 55.3733.
  EXPECT_EQ(summary(r, "runs"), (V{"allocated experiment=hourly 31.36", "allocated experiment=minimum 0.07",
                                   "allocated experiment=minute 0.13", "allocated experiment=persec 20.91",
                                   "allocated experiment=spot 2.91"}));
  EXPECT_EQ(*r.lines[3].gpu_hours, Rational(16, 3));
  EXPECT_EQ(*r.lines[0].gpu_hours, Rational(16, 3));  // actual hours, not billed
  // Rounded together, the total 55.3733.. is rounded once to 55.37: the floors give 55.36
  // and the cent left goes to the largest remainder, persec's .67 (not minimum's .53).
  a.steps[0].strategy = std::make_shared<PerExperiment>(PerExperiment::Options{PerExperiment::Rounding::total});
  EXPECT_EQ(summary(run(a), "runs"), (V{"allocated experiment=hourly 31.36", "allocated experiment=minimum 0.06",
                                        "allocated experiment=minute 0.13", "allocated experiment=persec 20.91",
                                        "allocated experiment=spot 2.91"}));
  EXPECT_FALSE(r.lines[0].pool.has_value());
  EXPECT_TRUE(r.coverage.empty());
}

TEST(PerExperiment, MissingFieldsAndCatalogAreErrors) {
  Allocation a;
  a.catalog = run_catalog();
  Record r = run_record("e", "gpu/sec", "1", 0, 10);
  r.count.reset();
  r.origin = "records[0]";
  a.records = {r};
  a.steps.push_back(step("runs", std::make_shared<PerExperiment>(), std::nullopt));
  EXPECT_THROW(run(a), SpecError);
  a.records[0].count = Decimal(1);
  a.catalog.reset();
  try {
    run(a);
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "records[0].sku");
  }
}

// ---- weighted_split ---------------------------------------------------------------------

std::vector<Record> pods() {
  Record p1 = rec({{"pod", "p1"}});
  p1.reserved = amounts({{"gpu", "4"}, {"cpu", "16"}, {"memory_gb", "128"}});
  p1.used = amounts({{"gpu", "4"}, {"cpu", "24"}});
  Record p2 = rec({{"pod", "p2"}});
  p2.reserved = amounts({{"gpu", "2"}, {"cpu", "16"}, {"memory_gb", "64"}});
  p2.used = amounts({{"cpu", "8"}});
  Record p3 = rec({{"pod", "p3"}});
  p3.reserved = amounts({{"cpu", "8"}, {"memory_gb", "64"}});
  return {p1, p2, p3};
}

std::string split_text(const Line& l) {
  return Decimal::from_rational(*l.split_cost, D("0.01")).to_fixed(2) + "+" +
         Decimal::from_rational(*l.unused_cost, D("0.01")).to_fixed(2);
}

TEST(WeightedSplit, DefaultGpuWeightsUnusedShared) {
  WeightedSplit::Options o;
  o.capacity = amounts({{"gpu", "8"}, {"cpu", "64"}, {"memory_gb", "512"}});
  const auto ws = std::make_shared<WeightedSplit>(o);
  EXPECT_EQ(ws->weights(), amounts({{"gpu", "9"}, {"cpu", "0.9"}, {"memory_gb", "0.1"}}));
  // weighted capacity 72 + 57.6 + 51.2 = 180.8, so a pool of 180.80 is 1 per weight unit.
  const Result r = run(one_pool("180.80", pods(), ws));
  EXPECT_EQ(summary(r), (V{"allocated pod=p1 102.40", "allocated pod=p2 56.00", "allocated pod=p3 22.40"}));
  EXPECT_EQ(split_text(r.lines[0]), "70.40+32.00");
  EXPECT_EQ(split_text(r.lines[1]), "38.80+17.20");
  EXPECT_EQ(split_text(r.lines[2]), "13.60+8.80");
  EXPECT_FALSE(r.lines[0].share.has_value());
}

TEST(WeightedSplit, UnusedSeparateAndBasis) {
  WeightedSplit::Options o;
  o.capacity = amounts({{"gpu", "8"}, {"cpu", "64"}, {"memory_gb", "512"}});
  o.unused = WeightedSplit::Unused::separate;
  Result r = run(one_pool("180.80", pods(), std::make_shared<WeightedSplit>(o)));
  EXPECT_EQ(summary(r), (V{"allocated pod=p1 70.40", "allocated pod=p2 38.80", "allocated pod=p3 13.60", "idle pod=__idle__ 58.00"}));
  EXPECT_EQ(split_text(r.lines[3]), "0.00+58.00");
  // basis reserved: p1 cpu 16 (not 24): 36 + 14.4 + 12.8 = 63.2
  o.basis = WeightedSplit::Basis::reserved;
  r = run(one_pool("180.80", pods(), std::make_shared<WeightedSplit>(o)));
  EXPECT_EQ(summary(r).front(), "allocated pod=p1 63.20");
  // basis used: p2 cpu 8, memory falls back to reserved 64: 18 + 7.2 + 6.4 = 31.6
  o.basis = WeightedSplit::Basis::used;
  r = run(one_pool("180.80", pods(), std::make_shared<WeightedSplit>(o)));
  EXPECT_EQ(summary(r)[1], "allocated pod=p2 31.60");
}

TEST(WeightedSplit, OvercommittedAndUnusedResource) {
  // No GPU capacity: weights cpu 9, memory_gb 1. CPU 8 held of 4: each pays half of 4 x 9.
  // Memory nobody holds: its cost (16 x 1) is idle even with unused=proportional.
  WeightedSplit::Options o;
  o.capacity = amounts({{"cpu", "4"}, {"memory_gb", "16"}});
  Record a = rec({{"pod", "a"}}), b = rec({{"pod", "b"}});
  a.reserved = amounts({{"cpu", "4"}});
  b.reserved = amounts({{"cpu", "4"}});
  const Result r = run(one_pool("52", {a, b}, std::make_shared<WeightedSplit>(o)));
  EXPECT_EQ(summary(r), (V{"allocated pod=a 18.00", "allocated pod=b 18.00", "idle pod=__idle__ 16.00"}));
}

TEST(WeightedSplit, CapacityMustWeighSomething) {
  WeightedSplit::Options o;
  o.capacity = amounts({{"gpu", "0"}, {"disk", "10"}});
  EXPECT_THROW(WeightedSplit{o}, std::invalid_argument);
}

// ---- even and fixed -----------------------------------------------------------------------

TEST(Even, EqualPartsOverGroupsPresent) {
  std::vector<Record> rs{rec({{"team", "a"}}), rec({{"team", "a"}}, amounts({{"gpu_seconds", "99"}})), rec({{"team", "b"}}),
                         rec({{"project", "x"}})};
  // 100 / 3: the leftover cent goes to the smallest tags, and "__unallocated__" < "a".
  const Result r = run(one_pool("100.00", rs, std::make_shared<Even>(), {"team"}));
  EXPECT_EQ(summary(r), (V{"allocated team=a 33.33", "allocated team=b 33.33", "unallocated team=__unallocated__ 33.34"}));
  EXPECT_EQ(share_of(r.lines[0]), "0.333333");
  EXPECT_EQ(summary(run(one_pool("7", {}, std::make_shared<Even>(), {"team"}))), (V{"unallocated team=__unallocated__ 7.00"}));
}

TEST(Even, NeedsGroupBy) {
  EXPECT_THROW(run(one_pool("1", {rec({{"team", "a"}})}, std::make_shared<Even>())), SpecError);
}

TEST(Fixed, SharesAndTheRestUnallocated) {
  const auto f = std::make_shared<Fixed>(std::vector<Fixed::Share>{{{{"team", "b"}}, D("0.5")}, {{{"team", "a"}}, D("0.3")}});
  const Result r = run(one_pool("99.99", {rec({{"team", "z"}}, amounts({{"gpu_seconds", "1"}}))}, f));
  // exact 29.997, 49.995, 19.998: remainders .7, .5, .8 take the two leftover cents
  EXPECT_EQ(summary(r), (V{"allocated team=a 30.00", "allocated team=b 49.99", "unallocated team=__unallocated__ 20.00"}));
  EXPECT_EQ(share_of(r.lines[2]), "0.200000");
  const auto whole = std::make_shared<Fixed>(std::vector<Fixed::Share>{{{{"team", "a"}}, D("0.25")}, {{{"team", "b"}}, D("0.75")}});
  EXPECT_EQ(summary(run(one_pool("1", {}, whole))), (V{"allocated team=a 0.25", "allocated team=b 0.75"}));
}

TEST(Fixed, InvalidShares) {
  EXPECT_THROW(Fixed({{{{"team", "a"}}, D("0.6")}, {{{"team", "b"}}, D("0.5")}}), std::invalid_argument);
  EXPECT_THROW(Fixed({{{{"team", "a"}}, D("0.1")}, {{{"team", "a"}}, D("0.1")}}), std::invalid_argument);
  EXPECT_THROW(Fixed({{{{"team", "a"}}, D("-0.1")}}), std::invalid_argument);
  // It reads no records: a group_by is refused.
  const auto f = std::make_shared<Fixed>(std::vector<Fixed::Share>{{{{"team", "a"}}, D("1")}});
  EXPECT_THROW(run(one_pool("1", {}, f, {"team"})), SpecError);
}

// GroupedSums sorts its lines itself (by 8-byte prefixes, then the values, in the order of
// the keys, not of group_by): the same lines in the same order as GroupedWeights' map gives,
// for keys given out of order, values longer than the prefix that share it, and records
// lacking a key.
TEST(GroupedSums, LinesComeInTheOrderOfGroupedWeights) {
  std::mt19937 rng(3);
  std::vector<Record> records(3000);
  for (Record& r : records) {
    std::vector<Tags::Pair> tags;
    if (rng() % 10) tags.emplace_back("team", "team-with-a-long-name-" + std::to_string(rng() % 7));
    tags.emplace_back("namespace", rng() % 3 ? "ns-" + std::to_string(rng() % 40) : std::string("ns"));
    if (rng() % 2) tags.emplace_back("pod", "p" + std::to_string(rng() % 1000));
    r.tags = Tags(std::move(tags));
  }
  const std::vector<std::string> group_by = {"team", "namespace"};
  const Step step{"s", nullptr, "p", group_by, {}};
  StepInput input{step, "steps[0]", D("10"), {}, group_by, nullptr, D("0.01")};
  GroupedSums sums(group_by);
  GroupedWeights weights;
  for (const Record& r : records) {
    const Decimal w = Decimal(static_cast<long long>(rng() % 50));
    sums.add(r, w);
    weights.add(input, r, w.to_rational());
  }
  const std::vector<WeightedLine> a = sums.lines(input), b = weights.lines(input);
  ASSERT_EQ(a.size(), b.size());
  ASSERT_GT(a.size(), 100u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].kind, b[i].kind) << i;
    EXPECT_EQ(a[i].tags, b[i].tags) << i;
    EXPECT_EQ(a[i].weight, b[i].weight) << i;
  }
  EXPECT_EQ(sums.total(), weights.total);
}

// ---- registry ---------------------------------------------------------------------------

// A user strategy: every record weighs `per_record`, so the pool splits by record count.
class ByRecordCount final : public Strategy {
 public:
  explicit ByRecordCount(Decimal per_record) : per_record_(per_record) {}
  StepOutput run(const StepInput& input) const override {
    GroupedWeights g;
    for (const Record* r : input.records) g.add(input, *r, per_record_.to_rational());
    return split_by_weight(input, g.lines(input), g.total);
  }

 private:
  Decimal per_record_;
};

StrategyFactory by_record_count_factory() {
  return [](ObjectReader& o) -> std::shared_ptr<const Strategy> {
    Decimal per = Decimal(1);
    if (const Value* v = o.optional("per_record")) per = read_non_negative(*v, o.path("per_record"));
    return std::make_shared<ByRecordCount>(per);
  };
}

TEST(Registry, BuiltinsAndDuplicateRefused) {
  StrategyRegistry reg = StrategyRegistry::with_builtins();
  EXPECT_EQ(reg.names(), (V{"commitment", "even", "fixed", "per_experiment", "per_namespace", "per_tenant", "per_token", "proportional",
                            "weighted_split"}));
  EXPECT_THROW(reg.add("even", by_record_count_factory()), std::invalid_argument);
  EXPECT_THROW(reg.add("", by_record_count_factory()), std::invalid_argument);
  EXPECT_THROW(reg.add("nothing", StrategyFactory{}), std::invalid_argument);
  const Value empty = Value::object({});
  ObjectReader o(empty, "steps[0]");
  EXPECT_EQ(reg.make("no_such", o), nullptr);
  // Copies are independent.
  StrategyRegistry copy = reg;
  copy.add("by_record_count", by_record_count_factory());
  EXPECT_TRUE(copy.contains("by_record_count"));
  EXPECT_FALSE(reg.contains("by_record_count"));
}

TEST(Registry, UserStrategyRunsDirectlyAndThroughSpec) {
  const Result direct = run(one_pool("3.00", {rec({{"team", "a"}}), rec({{"team", "a"}}), rec({{"team", "b"}})},
                                     std::make_shared<ByRecordCount>(Decimal(1)), {"team"}));
  EXPECT_EQ(summary(direct), (V{"allocated team=a 2.00", "allocated team=b 1.00"}));

  StrategyRegistry reg = StrategyRegistry::with_builtins();
  reg.add("by_record_count", by_record_count_factory());
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "3.00"}],
    "records": [{"tags": {"team": "a"}}, {"tags": {"team": "a"}}, {"tags": {"team": "b"}}],
    "steps": [{"id": "s", "strategy": "by_record_count", "pool": "p", "group_by": ["team"], "per_record": 2}]})";
  SpecOptions options;
  options.registry = &reg;
  const Result r = run(allocation_from_spec(parse_json(spec), options));
  EXPECT_EQ(summary(r), (V{"allocated team=a 2.00", "allocated team=b 1.00"}));
  EXPECT_EQ(*r.lines[0].weight, Rational(4));
  // An option the factory did not read is refused by the runner.
  std::string misspelt = spec;
  misspelt.replace(misspelt.find("per_record"), 10, "per_recrod");
  try {
    allocation_from_spec(parse_json(misspelt), options);
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "steps[0].per_recrod");
  }
  // The global registry does not know it.
  try {
    allocation_from_spec(parse_json(spec));
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "steps[0].strategy");
  }
}

TEST(Registry, ConcurrentReadsWhileAdding) {
  StrategyRegistry reg = StrategyRegistry::with_builtins();
  const Value empty = Value::object({});
  std::atomic<bool> failed{false};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      ++ready;
      while (ready.load() < 7) std::this_thread::yield();
      std::size_t last = 0;
      for (int i = 0; i < 2000; ++i) {
        ObjectReader o(empty, "steps[0]");
        if (!reg.contains("even") || !reg.make("even", o)) failed = true;
        const std::size_t n = reg.names().size();
        if (n < last || n < 8) failed = true;
        last = n;
      }
    });
  }
  threads.emplace_back([&] {
    ++ready;
    while (ready.load() < 7) std::this_thread::yield();
    for (int i = 0; i < 300; ++i) reg.add("user_" + std::to_string(i), by_record_count_factory());
  });
  for (std::thread& t : threads) t.join();
  EXPECT_FALSE(failed.load());
  EXPECT_EQ(reg.names().size(), 309u);
}

// ---- properties on random allocations -----------------------------------------------------

class RandomAllocations {
 public:
  explicit RandomAllocations(std::uint64_t seed) : rng_(seed) {}

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::int64_t between(std::int64_t lo, std::int64_t hi) { return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_); }

  // An amount with up to `digits` fractional digits.
  Decimal amount(std::int64_t max_units, int digits) {
    const std::int64_t units = between(0, max_units);
    return Decimal::from_raw(static_cast<int128>(units) * detail::pow10_128(Decimal::scale - digits));
  }

  Decimal pool_cost() {
    Decimal d;
    switch (pick(7)) {
      case 0: return Decimal{};
      case 1: return D(pick(2) ? "0.01" : "-0.01");
      case 2: d = D("1000000000000000") + amount(99, 2); break;  // 1e15
      case 3: d = amount(100, 2); break;
      case 4: d = amount(1'000'000'000, 4); break;  // more digits than the precision
      case 5: d = amount(1'000'000'000'000, 2); break;
      default: d = amount(10'000, 0); break;
    }
    return pick(4) == 0 ? -d : d;
  }

  Decimal measure() {
    switch (pick(5)) {
      case 0: return Decimal{};
      case 1: return amount(10, 0);
      case 2: return amount(1'000'000, 6);
      case 3: return amount(1'000'000'000'000, 0);
      default: return amount(100'000, 2);
    }
  }

  Record record() {
    static const std::vector<std::string> teams{"a", "b", "c", "d", "e"};
    static const std::vector<std::string> namespaces{"ns1", "ns2", "ns3", "kube-system", "monitoring"};
    static const std::vector<std::string> models{"m1", "m2"};
    std::vector<Tags::Pair> tags;
    if (pick(8)) tags.emplace_back("team", teams[static_cast<std::size_t>(pick(5))]);
    if (pick(8)) tags.emplace_back("namespace", namespaces[static_cast<std::size_t>(pick(5))]);
    if (pick(4)) tags.emplace_back("model", models[static_cast<std::size_t>(pick(2))]);
    if (pick(8)) tags.emplace_back("pod", "p" + std::to_string(pick(4)));
    Record r;
    r.tags = Tags(std::move(tags));
    r.id = "r" + std::to_string(next_id_++);
    for (const char* m : {"gpu_seconds", "tokens_prompt", "tokens_generation", "requests"})
      if (pick(6)) r.measures[m] = measure();
    if (pick(3) == 0) {
      const Decimal prompt = r.measure("tokens_prompt");
      r.measures["tokens_cached"] = Decimal::from_raw(prompt.raw() / 1'000'000'000'000 * pick(101) / 100 * Decimal::one_raw);
    }
    for (const char* res : {"gpu", "cpu", "memory_gb"}) {
      if (pick(3)) r.reserved[res] = amount(64, pick(2));
      if (pick(3) == 0) r.used[res] = amount(64, pick(2));
    }
    return r;
  }

  CostPolicy policy() {
    switch (pick(3)) {
      case 0: return SeparatePolicy{};
      case 1: return ProportionalPolicy{};
      default: return AssignPolicy{{{"namespace", pick(2) ? "ns1" : "platform"}}};
    }
  }

  // A strategy and its group_by.
  std::pair<std::shared_ptr<const Strategy>, std::vector<std::string>> strategy(int which) {
    static const std::vector<std::vector<std::string>> keys{{"team"}, {"namespace"}, {"team", "model"}, {"pod"}};
    std::vector<std::string> group_by = keys[static_cast<std::size_t>(pick(4))];
    switch (which) {
      case 0: {
        WeightExpression w = WeightExpression::measure("gpu_seconds");
        if (pick(2)) w.terms = {{"tokens_prompt", amount(3, 0)}, {"tokens_generation", amount(30, 1)}};
        return {std::make_shared<Proportional>(w), group_by};
      }
      case 1: {
        PerNamespace::Options o;
        o.overhead_policy = policy();
        o.idle_policy = policy();
        if (pick(2)) o.idle_capacity = amount(3'000'000'000'000, pick(3));
        return {std::make_shared<PerNamespace>(o), {}};
      }
      case 2: {
        PerTenant::Options o;
        o.weight = pick(3) ? PerTenant::Weight::tokens : PerTenant::Weight::requests;
        o.cached = static_cast<PerTenant::Cached>(pick(3));
        o.token_weights = {amount(4, 1), amount(4, 1)};
        return {std::make_shared<PerTenant>(o), pick(2) ? group_by : std::vector<std::string>{}};
      }
      case 3: {
        PerToken::Options o;
        if (pick(2)) {
          const Decimal p = amount(4, 0) * 25;
          o.phases = PerToken::Phases{Decimal::from_raw(p.raw() / 100), Decimal(1) - Decimal::from_raw(p.raw() / 100)};
        }
        return {std::make_shared<PerToken>(o), group_by};
      }
      case 4: {
        WeightedSplit::Options o;
        o.capacity = Amounts{{"gpu", amount(8, 0) + Decimal(1)}, {"cpu", amount(128, 0)}, {"memory_gb", amount(1024, 1)}};
        o.basis = static_cast<WeightedSplit::Basis>(pick(3));
        o.unused = static_cast<WeightedSplit::Unused>(pick(2));
        return {std::make_shared<WeightedSplit>(o), pick(2) ? group_by : std::vector<std::string>{}};
      }
      case 5: return {std::make_shared<Even>(), group_by};
      default: {
        std::vector<Fixed::Share> shares;
        std::int64_t left = 1000;
        for (const char* t : {"a", "b", "c"}) {
          if (!pick(3)) continue;
          const std::int64_t s = between(0, left);
          left -= s;
          shares.push_back({{{"team", t}}, Decimal::from_raw(static_cast<int128>(s) * detail::pow10_128(Decimal::scale - 3))});
        }
        return {std::make_shared<Fixed>(shares), {}};
      }
    }
  }

  Allocation allocation() {
    Allocation a;
    static const std::vector<std::string> precisions{"0.01", "0.01", "0.01", "1", "0.0001"};
    a.precision = D(precisions[static_cast<std::size_t>(pick(5))]);
    const int pools = 1 + pick(2);
    for (int p = 0; p < pools; ++p) a.pools.push_back(Pool{"pool" + std::to_string(p), {}, CostSource{pool_cost()}, std::nullopt, nullptr});
    const int n = pick(12);
    for (int i = 0; i < n; ++i) {
      Record r = record();
      if (pools > 1 && pick(3) == 0) r.pool = "pool" + std::to_string(pick(pools));
      a.records.push_back(std::move(r));
    }
    const int steps = 1 + pick(3);
    for (int s = 0; s < steps; ++s) {
      auto [strategy, group_by] = this->strategy(pick(7));
      Selector select;
      if (strategy->reads_records() && pick(5) == 0) select["team"] = {"a", "b", "c"};
      a.steps.push_back(step("s" + std::to_string(s), strategy, "pool" + std::to_string(pick(pools)), group_by, select));
    }
    return a;
  }

  template <class T>
  void shuffle(std::vector<T>& v) {
    std::shuffle(v.begin(), v.end(), rng_);
  }

 private:
  std::mt19937_64 rng_;
  int next_id_ = 0;
};

// Checks the largest-remainder rule on one split step's lines: each line is within one
// unit of its exact cost, the lines sum to the pool, and no line rounded down ranks above
// a line rounded up (remainder, then larger magnitude, then smaller tags, then kind).
void check_rounding(const std::vector<const Line*>& lines, const Decimal& pool, const Decimal& unit, const std::string& where) {
  const Rational u = unit.to_rational();
  const bool negative = pool.signum() < 0;
  Decimal sum;
  Rational exact_sum = 0;
  struct Part {
    Rational magnitude, remainder;
    bool up;
    const Line* line;
  };
  std::vector<Part> parts;
  BigInt floors = 0;
  for (const Line* l : lines) {
    sum += l->cost;
    exact_sum += l->exact_cost;
    const Rational diff = l->cost.to_rational() - l->exact_cost;
    ASSERT_TRUE(diff < u && diff > -u) << where << ": " << l->cost.to_string() << " vs exact " << l->exact_cost.str();
    ASSERT_TRUE(l->cost.is_multiple_of(unit)) << where;
    const Rational magnitude = (negative ? Rational(-l->exact_cost) : l->exact_cost) / u;
    ASSERT_GE(magnitude, 0) << where << ": a line of the wrong sign";
    const BigInt f = floor_of(magnitude);
    floors += f;
    const Rational got = (negative ? -l->cost : l->cost).to_rational() / u;
    ASSERT_TRUE(got == Rational(f) || got == Rational(f + 1)) << where << ": not the floor or the floor plus one";
    parts.push_back({magnitude, magnitude - Rational(f), got != Rational(f), l});
  }
  ASSERT_EQ(sum, pool) << where << ": lines do not sum to the pool";
  ASSERT_EQ(exact_sum, pool.to_rational()) << where << ": exact lines do not sum to the pool";
  BigInt ups = 0;
  for (const Part& p : parts) ups += p.up ? 1 : 0;
  ASSERT_EQ(ups, BigInt(pool.abs().raw() / unit.raw()) - floors) << where;
  const auto ranks_before = [](const Part& a, const Part& b) {
    if (a.remainder != b.remainder) return a.remainder > b.remainder;
    if (a.magnitude != b.magnitude) return a.magnitude > b.magnitude;
    if (a.line->tags != b.line->tags) return a.line->tags < b.line->tags;
    return a.line->kind < b.line->kind;
  };
  for (const Part& a : parts)
    for (const Part& b : parts)
      if (a.up && !b.up) {
        ASSERT_TRUE(ranks_before(a, b)) << where << ": a unit went to the wrong line";
      }
}

bool takes_part(const Record& r, const Step& s) {
  if (r.pool && r.pool != s.pool) return false;
  for (const auto& [key, values] : s.select) {
    const auto v = r.tags.get(key);
    if (!v || std::find(values.begin(), values.end(), *v) == values.end()) return false;
  }
  return true;
}

// The exact cost of each line, computed here from the records for the strategies whose
// rule needs no private options: even (proportional has its own test below).
std::optional<std::map<std::pair<LineKind, Tags>, Rational>> expected_exact(const Allocation& a, const Step& s, const Rational& pool) {
  std::map<std::pair<LineKind, Tags>, Rational> weights;
  Rational total = 0;
  const auto key = [&](const Record& r) -> std::pair<LineKind, Tags> {
    std::vector<Tags::Pair> pairs;
    for (const std::string& k : s.group_by) {
      const auto v = r.tags.get(k);
      if (!v) return {LineKind::unallocated, grouping::marker_tags(s.group_by, grouping::unallocated_value)};
      pairs.emplace_back(k, std::string(*v));
    }
    return {LineKind::allocated, Tags(pairs)};
  };
  if (dynamic_cast<const Even*>(s.strategy.get())) {
    for (const Record& r : a.records)
      if (!r.priced_run() && takes_part(r, s)) weights[key(r)] = 1;
    for (const auto& [k, w] : weights) total += w;
  } else {
    return std::nullopt;
  }
  std::map<std::pair<LineKind, Tags>, Rational> out;
  if (total == 0) {
    out[{LineKind::unallocated, grouping::marker_tags(s.group_by, grouping::unallocated_value)}] = pool;
    return out;
  }
  for (const auto& [k, w] : weights) out[k] = pool * w / total;
  return out;
}

TEST(Properties, ConservationRoundingOrderIndependence) {
  RandomAllocations gen(20260602);
  int steps_checked = 0;
  for (int iteration = 0; iteration < 1500; ++iteration) {
    Allocation a = gen.allocation();
    const std::string where = "iteration " + std::to_string(iteration);
    Result r;
    ASSERT_NO_THROW(r = run(a)) << where;
    const Decimal unit = r.precision;
    for (const Step& s : a.steps) {
      const auto lines = r.lines_of(s.id);
      const Decimal pool = std::find_if(r.pools.begin(), r.pools.end(), [&](const PoolCost& p) { return p.id == *s.pool; })->cost;
      ASSERT_FALSE(lines.empty()) << where;
      check_rounding(lines, pool, unit, where + " step " + s.id);
      if (HasFatalFailure()) return;
      for (std::size_t i = 1; i < lines.size(); ++i) {
        const bool ordered = lines[i - 1]->kind < lines[i]->kind ||
                             (lines[i - 1]->kind == lines[i]->kind && lines[i - 1]->tags < lines[i]->tags);
        ASSERT_TRUE(ordered) << where << ": lines out of order";
      }
      if (const auto expected = expected_exact(a, s, pool.to_rational())) {
        ASSERT_EQ(expected->size(), lines.size()) << where;
        for (const Line* l : lines) {
          const auto it = expected->find({l->kind, l->tags});
          ASSERT_NE(it, expected->end()) << where;
          ASSERT_EQ(it->second, l->exact_cost) << where;
        }
      }
      ++steps_checked;
    }
    // Order independence: the same records in another order give the same bytes.
    Allocation shuffled = a;
    gen.shuffle(shuffled.records);
    ASSERT_EQ(result_to_json(run(shuffled)), result_to_json(r)) << where;
  }
  EXPECT_GT(steps_checked, 2500);
}

// Proportional against an exact computation done here: group sums of the weight, the
// pool times weight over total, then the largest-remainder rule checked line by line.
TEST(Properties, ProportionalAgreesWithExactShares) {
  RandomAllocations gen(42);
  for (int iteration = 0; iteration < 1500; ++iteration) {
    const std::string where = "iteration " + std::to_string(iteration);
    Allocation a;
    a.precision = D(gen.pick(3) ? "0.01" : "0.001");
    a.pools.push_back(Pool{"p", {}, CostSource{gen.pool_cost()}, std::nullopt, nullptr});
    const int n = gen.pick(15);
    for (int i = 0; i < n; ++i) a.records.push_back(gen.record());
    const std::vector<std::string> group_by = gen.pick(2) ? std::vector<std::string>{"team"} : std::vector<std::string>{"team", "model"};
    a.steps.push_back(step("s", std::make_shared<Proportional>(WeightExpression::measure("gpu_seconds")), "p", group_by));
    const Result r = run(a);
    const Decimal pool = r.pools[0].cost;
    ASSERT_EQ(pool, Decimal::from_rational(std::get<CostSource>(a.pools[0].source).cost.to_rational(), *a.precision)) << where;

    std::map<Tags, Rational> groups;
    std::optional<Rational> unallocated;
    Rational total = 0;
    for (const Record& rec : a.records) {
      const Rational w = rec.measure("gpu_seconds").to_rational();
      total += w;
      std::vector<Tags::Pair> pairs;
      bool missing = false;
      for (const std::string& k : group_by) {
        if (const auto v = rec.tags.get(k)) pairs.emplace_back(k, std::string(*v));
        else missing = true;
      }
      if (missing) unallocated = unallocated.value_or(Rational(0)) + w;
      else groups[Tags(pairs)] += w;
    }
    const auto lines = r.lines_of("s");
    if (total == 0) {
      ASSERT_EQ(lines.size(), 1u) << where;
      EXPECT_EQ(lines[0]->kind, LineKind::unallocated);
      EXPECT_EQ(lines[0]->cost, pool);
      continue;
    }
    ASSERT_EQ(lines.size(), groups.size() + (unallocated ? 1 : 0)) << where;
    std::size_t i = 0;
    for (const auto& [tags, w] : groups) {
      ASSERT_EQ(lines[i]->kind, LineKind::allocated) << where;
      ASSERT_EQ(lines[i]->tags, tags) << where;
      ASSERT_EQ(lines[i]->exact_cost, pool.to_rational() * w / total) << where;
      ASSERT_EQ(*lines[i]->share, w / total) << where;
      ++i;
    }
    if (unallocated) {
      ASSERT_EQ(lines[i]->kind, LineKind::unallocated) << where;
      ASSERT_EQ(lines[i]->exact_cost, pool.to_rational() * *unallocated / total) << where;
    }
    check_rounding(lines, pool, r.precision, where);
    if (HasFatalFailure()) return;
  }
}

// ---- OpenCost's sharing in per_namespace: even, and by label ----------------------------------

// $90 over 90 GPU-seconds ($1 each): a 60, b 20, and 10 of shared cost.
std::vector<std::string> shared_lines(const std::string& overhead, const std::string& shared_tags) {
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "node", "cost": "90"}],
    "records": [{"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 60}},
                {"tags": {"namespace": "b"}, "measures": {"gpu_seconds": 20}},
                {"tags": )" + shared_tags + R"(, "measures": {"gpu_seconds": 10}}],
    "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node", "overhead": )" + overhead + "}]}";
  std::vector<std::string> out;
  for (const Line& l : run(allocation_from_json(spec)).lines)
    out.push_back(std::string(to_string(l.kind)) + " " + std::string(*l.tags.get("namespace")) + " " + l.cost.to_fixed(2));
  return out;
}

TEST(Sharing, EvenSharingGivesEachOtherNamespaceAnEqualPart) {
  // Even: 10 / 2 each: a 65, b 25. Weighted (proportional): a 60 + 10 x 60/80 = 67.50, b 22.50.
  EXPECT_EQ(shared_lines(R"({"namespaces": ["kube-system"], "policy": "even"})", R"({"namespace": "kube-system"})"),
            (V{"allocated a 65.00", "allocated b 25.00"}));
  EXPECT_EQ(shared_lines(R"({"namespaces": ["kube-system"], "policy": "proportional"})", R"({"namespace": "kube-system"})"),
            (V{"allocated a 67.50", "allocated b 22.50"}));
}

TEST(Sharing, ALabelMakesRecordsOfAnyNamespaceShared) {
  // app=shared in namespace a is shared, not a's: separate, it is an overhead line of a's
  // tags; even, a 60 + 5 and b 20 + 5.
  EXPECT_EQ(shared_lines(R"({"namespaces": [], "tags": {"app": "shared"}})", R"({"namespace": "a", "app": "shared"})"),
            (V{"allocated a 60.00", "allocated b 20.00", "overhead a 10.00"}));
  EXPECT_EQ(shared_lines(R"({"namespaces": [], "tags": {"app": ["shared", "common"]}, "policy": "even"})",
                         R"({"namespace": "a", "app": "common"})"),
            (V{"allocated a 65.00", "allocated b 25.00"}));
  EXPECT_THROW(shared_lines(R"({"tags": {"app": []}})", R"({"namespace": "a"})"), SpecError);
}

// ---- per_namespace over a pool broken down into parts (OpenCost's idle by resource) ----------

const std::string kGpuCpuParts = R"({"resource": "gpu", "cost": "120", "capacity": "120"},
    {"resource": "cpu", "cost": "40", "capacity": "40"})";
const std::string kGpuCpuWeights = R"({"gpu": "gpu_seconds", "cpu": "cpu_core_seconds"})";

// A node of two parts: GPU 120 for 120 GPU-seconds, CPU 40 for 40 core-seconds. a uses 60 GPU
// and 10 CPU, b 20 and 30, kube-system 20 GPU: 20 GPU-seconds (20.00) idle.
std::string parts_spec(const std::string& step_options, const std::string& parts = kGpuCpuParts,
                       const std::string& resources = kGpuCpuWeights, const std::string& extra_records = "") {
  return R"({"apportion": 1, "pools": [{"id": "node", "parts": [)" + parts + R"(]}],
    "records": [{"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 60, "cpu_core_seconds": 10}},
                {"tags": {"namespace": "b", "side": "b"}, "measures": {"gpu_seconds": 20, "cpu_core_seconds": 30}},
                {"tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 20}})" + extra_records + R"(],
    "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node")" +
         (resources.empty() ? "" : R"(, "resources": )" + resources) + step_options + "}]}";
}

std::vector<std::string> line_list(const Result& r) {
  std::vector<std::string> out;
  for (const Line& l : r.lines)
    out.push_back(std::string(to_string(l.kind)) + " " + std::string(*l.tags.get("namespace")) + " " + l.cost.to_fixed(2));
  return out;
}

TEST(Parts, EachResourceIsSplitByItsOwnUse) {
  // GPU: a 60, b 20, kube-system 20 (of 120, one per second); CPU: a 10, b 30 (of 40).
  // Kept apart: a 70, b 50, kube-system 20, idle 20 = 160.
  const Result r = run(allocation_from_json(parts_spec("")));
  EXPECT_EQ(line_list(r), (V{"allocated a 70.00", "allocated b 50.00", "overhead kube-system 20.00", "idle __idle__ 20.00"}));
  // A line's weight is its cost before idle and overhead, exactly.
  EXPECT_EQ(*r.lines[0].weight, Rational(70));
  EXPECT_EQ(*r.lines[0].share, Rational(70, 160));
}

TEST(Parts, IdleIsSpreadByTheUseOfItsResourceAndOverheadByCostBeforeIdle) {
  // GPU idle 20 by GPU use 60:20:20: a 12, b 4, kube-system 4, so kube-system costs 24 with its
  // idle; spread by the cost before idle, 70:50, a gets 14 and b 10: a 96, b 64. (Spread by the
  // cost after idle, 82:54, a would get 24 x 82/136 = 14.47.)
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "idle": {"policy": "proportional"},
      "overhead": {"policy": "proportional"})")))),
            (V{"allocated a 96.00", "allocated b 64.00"}));
  // Idle by use, overhead kept apart: the overhead line carries its own idle.
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "idle": {"policy": "proportional"})")))),
            (V{"allocated a 82.00", "allocated b 54.00", "overhead kube-system 24.00"}));
  // Idle even over the allocated lines: 10 each.
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "idle": {"policy": "even"})")))),
            (V{"allocated a 80.00", "allocated b 60.00", "overhead kube-system 20.00"}));
}

TEST(Parts, APartNoRecordUsesStaysIdleAndTagsChooseWhoUsesAPart) {
  // network (10) has no use to spread its idle by: it stays idle. A second GPU part (30, no capacity) is
  // used only by records tagged side=b: all 30 to b. Then b costs 80 before idle, a 70;
  // kube-system's 24 spread 70:80: a 70 + 12 + 11.20, b 80 + 4 + 12.80.
  const std::string parts = kGpuCpuParts + R"(, {"resource": "network", "cost": "10"},
      {"resource": "gpu", "tags": {"side": "b"}, "cost": "30"})";
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "idle": {"policy": "proportional"},
      "overhead": {"policy": "proportional"})", parts, R"({"gpu": "gpu_seconds", "cpu": "cpu_core_seconds", "network": "bytes"})")))),
            (V{"allocated a 93.20", "allocated b 96.80", "idle __idle__ 10.00"}));
  // Idle settled even: the GPU's 20 and the unused network's 10 go 15 and 15 to a and b
  // (kube-system, kept apart, 20): a 70 + 15, b 80 + 15.
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "idle": {"policy": "even"})", parts,
                                                          R"({"gpu": "gpu_seconds", "cpu": "cpu_core_seconds", "network": "bytes"})")))),
            (V{"allocated a 85.00", "allocated b 95.00", "overhead kube-system 20.00"}));
}

TEST(Parts, AFixedFeeIsOverheadAsAWhole) {
  // 300 for a 30-day month, prorated to one day: 10, kept on one __shared__ line or shared.
  const std::string parts = kGpuCpuParts + R"(, {"resource": "fee", "amortized": {"amount": "300",
      "term": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"},
      "window": {"start": "2026-06-02T00:00:00Z", "end": "2026-06-03T00:00:00Z"}}})";
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "overhead": {"resources": ["fee"]})", parts)))),
            (V{"allocated a 70.00", "allocated b 50.00", "overhead __shared__ 10.00", "overhead kube-system 20.00",
               "idle __idle__ 20.00"}));
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "overhead": {"resources": ["fee"], "policy": "even"})", parts)))),
            (V{"allocated a 85.00", "allocated b 65.00", "idle __idle__ 20.00"}));
}

TEST(Parts, UseBeyondAPartsCapacityIsWarnedOf) {
  const Result r = run(allocation_from_json(
      parts_spec("", kGpuCpuParts, kGpuCpuWeights, R"(, {"tags": {"namespace": "c"}, "measures": {"cpu_core_seconds": 20}})")));
  EXPECT_EQ(r.warnings, (V{"steps[0]: pools[0].parts[1] (resource \"cpu\") is used 60, more than its capacity 40, so it "
                           "has no idle"}));
}

TEST(Parts, UseThatFallsInNoPartAndAPartNoRecordUsesAreWarnedOf) {
  // A second GPU part tagged side=c: no record has that tag; and b's records' GPU use, with a
  // part tagged side=a only, falls in no part.
  const std::string parts = R"({"resource": "gpu", "tags": {"side": "a"}, "cost": "120", "capacity": "120"},
      {"resource": "gpu", "tags": {"side": "c"}, "cost": "10"}, {"resource": "cpu", "cost": "40", "capacity": "40"})";
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "node", "parts": [)" + parts + R"(]}],
    "records": [{"tags": {"namespace": "a", "side": "a"}, "measures": {"gpu_seconds": 60, "cpu_core_seconds": 10}},
                {"tags": {"namespace": "b", "side": "b"}, "measures": {"gpu_seconds": 20, "cpu_core_seconds": 30}}],
    "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node", "resources": )" + kGpuCpuWeights + "}]}";
  const Result r = run(allocation_from_json(spec));
  EXPECT_EQ(r.warnings,
            (V{"steps[0]: pools[0].parts[1] (resource \"gpu\") is used by no record taking part, so all of it is idle: is a "
               "tag of its records or the measure of its weight spelt otherwise?",
               "steps[0]: records of {namespace=b} use resource \"gpu\" but hold none of the tags of pool \"node\"'s gpu "
               "parts, so that use weighs nothing"}));
}

TEST(Parts, MistakesAreNamed) {
  const auto error = [](const std::string& spec) {
    try {
      run(allocation_from_json(spec));
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(R"({"apportion": 1, "pools": [{"id": "node", "cost": "10"}], "records": [],
      "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node", "resources": {"gpu": "gpu_seconds"}}]})"),
            "steps[0].resources: splits a pool broken down into \"parts\", and pool \"node\" is not");
  EXPECT_EQ(error(parts_spec("", kGpuCpuParts + R"(, {"resource": "ram", "cost": "1"})")),
            "steps[0].resources: gives no weight for resource \"ram\" of pool \"node\" (give one, or list it in "
            "overhead.resources)");
  EXPECT_EQ(error(parts_spec(R"(, "weight": "gpu_seconds")")), "steps[0].weight: give \"weight\" or \"resources\", not both");
  EXPECT_EQ(error(parts_spec(R"(, "idle": {"capacity": "10"})")),
            "steps[0].idle.capacity: a step with \"resources\" takes each part's capacity from the pool's parts");
  EXPECT_EQ(error(parts_spec(R"(, "overhead": {"resources": ["gpu"]})")),
            "steps[0].overhead.resources: resource \"gpu\" is overhead as a whole, so it takes no weight in \"resources\"");
  EXPECT_EQ(error(parts_spec("", kGpuCpuParts, "{}")), "steps[0].resources: must be an object of resource names and their weights");
  EXPECT_EQ(error(parts_spec("", kGpuCpuParts + R"(, {"resource": "ram", "cost": "-1"})")),
            "pools[0].parts[2].cost: must not be negative (got \"-1\")");
  EXPECT_EQ(error(parts_spec("", kGpuCpuParts + R"(, {"resource": "ram"})")), "pools[0].parts[2]: needs \"cost\" or \"amortized\"");
  EXPECT_EQ(error(parts_spec("", kGpuCpuParts + R"(, {"resource": "", "cost": "1"})")),
            "pools[0].parts[2].resource: must not be empty");
  EXPECT_EQ(error(parts_spec("", "")), "pools[0].parts: must list at least one part");
  EXPECT_EQ(error(parts_spec(R"(, "overhead": {"resources": ["fee"]})", kGpuCpuParts, "")),
            "steps[0].overhead.resources: names resources of a pool's parts: give the step's \"resources\"");
  // A misspelt key is named before any check between keys.
  EXPECT_EQ(error(parts_spec(R"(, "overhead": {"resources": ["fee"]}, "resouces": {})", kGpuCpuParts, "")),
            "steps[0].resouces: unknown key (did you mean \"resources\"?)");
  EXPECT_EQ(error(parts_spec(R"(, "overhead": {"resources": ["fee"], "polcy": "even"})", kGpuCpuParts, "")),
            "steps[0].overhead.polcy: unknown key (did you mean \"policy\"?)");
  EXPECT_EQ(error(parts_spec(R"(, "idle": {"policy": "even"})", kGpuCpuParts, "")),
            "steps[0].idle: missing required key \"capacity\" (or give the step \"resources\" to split a pool's parts, "
            "which carry their own capacities)");
}

TEST(Parts, AStepWithoutResourcesSplitsThePartsTotal) {
  // 160 by GPU-seconds 60:20:20 (kube-system kept apart).
  EXPECT_EQ(line_list(run(allocation_from_json(parts_spec(R"(, "weight": "gpu_seconds")", kGpuCpuParts, "")))),
            (V{"allocated a 96.00", "allocated b 32.00", "overhead kube-system 32.00"}));
}

// ---- unallocated lines that keep the keys a record has ----------------------------------------

TEST(UnallocatedKeys, MissingKeepsTheKeysARecordHas) {
  const auto lines = [](const std::string& strategy, const std::string& option) {
    const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "100"}],
      "records": [{"tags": {"namespace": "a", "team": "x"}, "measures": {"gpu_seconds": 10}},
                  {"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 20}},
                  {"tags": {"namespace": "b"}, "measures": {"gpu_seconds": 30}},
                  {"tags": {"team": "y"}, "measures": {"gpu_seconds": 40}}],
      "steps": [{"id": "s", "strategy": ")" + strategy + R"(", "pool": "p", "group_by": ["namespace", "team"])" +
                             (strategy == "proportional" ? R"(, "weight": "gpu_seconds")" : "") + option + "}]}";
    std::vector<std::string> out;
    for (const Line& l : run(allocation_from_json(spec)).lines)
      out.push_back(std::string(to_string(l.kind)) + " " + std::string(*l.tags.get("namespace")) + "/" +
                    std::string(*l.tags.get("team")) + " " + l.cost.to_fixed(2));
    return out;
  };
  EXPECT_EQ(lines("proportional", ""), (V{"allocated a/x 10.00", "unallocated __unallocated__/__unallocated__ 90.00"}));
  EXPECT_EQ(lines("proportional", R"(, "unallocated_keys": "all")"), lines("proportional", ""));
  EXPECT_EQ(lines("proportional", R"(, "unallocated_keys": "missing")"),
            (V{"allocated a/x 10.00", "unallocated __unallocated__/y 40.00", "unallocated a/__unallocated__ 20.00",
               "unallocated b/__unallocated__ 30.00"}));
  EXPECT_EQ(lines("per_namespace", R"(, "unallocated_keys": "missing")"), lines("proportional", R"(, "unallocated_keys": "missing")"));
  // even: four groups, 25 each.
  EXPECT_EQ(lines("even", R"(, "unallocated_keys": "missing")"),
            (V{"allocated a/x 25.00", "unallocated __unallocated__/y 25.00", "unallocated a/__unallocated__ 25.00",
               "unallocated b/__unallocated__ 25.00"}));
  EXPECT_THROW(lines("proportional", R"(, "unallocated_keys": "some")"), SpecError);
  // weighted_split: the same groups, by reserved GPUs 1:2:3:4 of 10.
  const std::string ws = R"({"apportion": 1, "pools": [{"id": "p", "cost": "100"}],
      "records": [{"tags": {"namespace": "a", "team": "x"}, "reserved": {"gpu": 1}},
                  {"tags": {"namespace": "a"}, "reserved": {"gpu": 2}},
                  {"tags": {"namespace": "b"}, "reserved": {"gpu": 3}},
                  {"tags": {"team": "y"}, "reserved": {"gpu": 4}}],
      "steps": [{"id": "s", "strategy": "weighted_split", "pool": "p", "group_by": ["namespace", "team"],
                 "capacity": {"gpu": 10}, "unallocated_keys": "missing"}]})";
  std::vector<std::string> got;
  for (const Line& l : run(allocation_from_json(ws)).lines)
    got.push_back(std::string(*l.tags.get("namespace")) + "/" + std::string(*l.tags.get("team")) + " " + l.cost.to_fixed(2));
  EXPECT_EQ(got, (V{"a/x 10.00", "__unallocated__/y 40.00", "a/__unallocated__ 20.00", "b/__unallocated__ 30.00"}));
  // A strategy that reads no records has no unallocated keys to keep.
  try {
    run(allocation_from_json(R"({"apportion": 1, "pools": [{"id": "p", "cost": "1"}], "records": [],
        "steps": [{"id": "s", "strategy": "fixed", "pool": "p", "shares": [{"tags": {"team": "a"}, "share": "1"}],
                   "unallocated_keys": "missing"}]})"));
    FAIL() << "accepted";
  } catch (const SpecError& e) {
    EXPECT_STREQ(e.what(), "steps[0].unallocated_keys: this strategy reads no records");
  }
}

}  // namespace
