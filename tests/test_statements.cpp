// Chargeback statements: one total per group across every pool, step and drill-down. Every
// figure below is worked out by hand in the comment above it.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;

Decimal dec(const char* s) { return Decimal::parse(s); }

// A GPU node of $100 split by namespace over 6000 GPU-seconds; kube-system's line is drawn
// into a pool no step splits, vllm's into an endpoint split by tokens per team; and a
// support contract of $7 tagged with the team that pays it, which no step splits.
const std::string kNode = R"({"apportion": 1, "currency": "USD",
 "pools": [{"id": "node", "cost": "100.00"},
           {"id": "kube", "from": {"step": "by_ns", "tags": {"namespace": "kube-system"}}},
           {"id": "endpoint", "from": {"step": "by_ns", "tags": {"namespace": "vllm"}}},
           {"id": "support", "cost": "7.00", "tags": {"team": "platform"}}],
 "records": [
   {"tags": {"namespace": "nlp", "team": "nlp"}, "measures": {"gpu_seconds": 3000}},
   {"tags": {"namespace": "cv", "team": "cv"}, "measures": {"gpu_seconds": 1000}},
   {"tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 1000}},
   {"tags": {"namespace": "vllm"}, "measures": {"gpu_seconds": 1000}},
   {"tags": {"tenant": "nlp-app", "team": "nlp"}, "pool": "endpoint", "measures": {"tokens_prompt": 300, "tokens_generation": 100}},
   {"tags": {"tenant": "cv-app", "team": "cv"}, "pool": "endpoint", "measures": {"tokens_prompt": 100, "tokens_generation": 0}}],
 "steps": [
   {"id": "by_ns", "strategy": "proportional", "pool": "node", "group_by": ["namespace"], "weight": "gpu_seconds"},
   {"id": "tokens", "strategy": "proportional", "pool": "endpoint", "group_by": ["tenant"], "weight": "tokens_prompt"}])";

Result run_with(const std::string& spec, const std::string& statements) {
  return run(allocation_from_json(spec + R"(, "statements": )" + statements + "}"));
}

std::string error_of(const std::string& spec, const std::string& statements) {
  try {
    run_with(spec, statements);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

// row tags (as k=v, in key order) -> cost, in row order.
std::vector<std::pair<std::string, std::string>> rows_of(const Statement& st) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const StatementRow& row : st.rows) {
    std::string key;
    for (const auto& [k, v] : row.tags) key += (key.empty() ? "" : " ") + k + "=" + v;
    out.emplace_back(key, row.cost.to_fixed(2));
  }
  return out;
}

using Rows = std::vector<std::pair<std::string, std::string>>;

TEST(Statements, SumEachTeamAcrossPoolsStepsAndDrillDowns) {
  const Result r = run_with(kNode, R"([{"id": "teams", "group_by": ["team"]}])");
  ASSERT_EQ(r.statements.size(), 1u);
  const Statement& st = r.statements[0];
  // by_ns: 100 x 3000/6000 = 50 for nlp, 16.666.. for the others; the two cents left go by
  // the tie rule to the smaller tags: cv 16.67, kube-system 16.67, vllm 16.66.
  // tokens: vllm's 16.66 by prompt tokens 300:100 is 12.495 and 4.165; one cent is left
  // over the floors 12.49 + 4.16 and the remainders tie, so the larger amount takes it:
  // nlp-app 12.50, cv-app 4.16.
  // No line carries team (the steps group by namespace and tenant, and vllm's line, which
  // the tenants inherit from, has none), so every leaf is __unallocated__ but the support
  // pool's: cv 16.67 + nlp 50.00 + 12.50 + 4.16 + kube (unsplit) 16.67 = 100.00, and
  // platform 7.00. Total 107.00: the two pools not drawn from lines.
  EXPECT_EQ(rows_of(st), (Rows{{"team=__unallocated__", "100.00"}, {"team=platform", "7.00"}}));
  EXPECT_EQ(st.total, dec("107.00"));
  const StatementRow& unallocated = st.rows[0];
  // Lines in line order, then the unsplit pool: the node's records have no tenant, so the
  // tokens step has an unallocated line too (weight 0, 0.00).
  ASSERT_EQ(unallocated.parts.size(), 6u);
  EXPECT_EQ(*unallocated.parts[0].step, "by_ns");
  EXPECT_EQ(unallocated.parts[0].tags, (Tags{{"namespace", "cv"}}));
  EXPECT_EQ(*unallocated.parts[2].step, "tokens");
  EXPECT_EQ(unallocated.parts[2].tags, (Tags{{"tenant", "cv-app"}}));
  EXPECT_EQ(unallocated.parts[2].cost, dec("4.16"));
  EXPECT_EQ(unallocated.parts[4].kind, LineKind::unallocated);
  EXPECT_EQ(unallocated.parts[4].cost, dec("0.00"));
  EXPECT_FALSE(unallocated.parts[5].step.has_value());
  EXPECT_EQ(unallocated.parts[5].pool, "kube");
  EXPECT_EQ(unallocated.parts[5].kind, LineKind::unallocated);
  EXPECT_EQ(unallocated.parts[5].cost, dec("16.67"));
  EXPECT_EQ(st.rows[1].kind, LineKind::unallocated);  // its one part is an unsplit pool
  EXPECT_EQ(st.rows[0].kind, LineKind::allocated);    // parts of two kinds
}

// A row's made_of, by kind: allocated, overhead, idle, unallocated.
std::vector<std::string> made_of(const StatementRow& row) {
  std::vector<std::string> out;
  for (const Decimal& d : row.made_of) out.push_back(d.to_fixed(2));
  return out;
}

TEST(Statements, WhatARowIsMadeOfSplitsTheOverheadAndIdleItsLinesTookIn) {
  // $100 over a capacity of 80 GPU-seconds: a 30, b 10, kube-system 20, so 20 idle. Overhead
  // spread 30:10 (a 15, b 5), then idle by the weights so grown, 45:15 (a 15, b 5): a 60/80 of
  // 100 = 75.00, of which its own 37.50, overhead 18.75, idle 18.75; b 25.00 = 12.50 + 6.25 +
  // 6.25.
  const auto spec = [](const std::string& cost) {
    return R"({"apportion": 1, "pools": [{"id": "node", "cost": ")" + cost + R"("}],
      "records": [{"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 30}},
                  {"tags": {"namespace": "b"}, "measures": {"gpu_seconds": 10}},
                  {"tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 20}}],
      "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node", "overhead": {"policy": "proportional"},
                 "idle": {"capacity": "80", "policy": "proportional"}}])";
  };
  const Result r = run_with(spec("100.00"), R"([{"id": "ns", "group_by": ["namespace"]}])");
  ASSERT_EQ(r.statements[0].rows.size(), 2u);
  EXPECT_EQ(made_of(r.statements[0].rows[0]), (std::vector<std::string>{"37.50", "18.75", "18.75", "0.00"}));
  EXPECT_EQ(made_of(r.statements[0].rows[1]), (std::vector<std::string>{"12.50", "6.25", "6.25", "0.00"}));
  EXPECT_EQ(r.statements[0].rows[0].parts[0].made_of, r.statements[0].rows[0].made_of);
  // A credit is made of negative amounts.
  const Result credit = run_with(spec("-100.00"), R"([{"id": "ns", "group_by": ["namespace"]}])");
  EXPECT_EQ(made_of(credit.statements[0].rows[0]), (std::vector<std::string>{"-37.50", "-18.75", "-18.75", "0.00"}));
  // The JSON lists the kinds a row holds, and made_of on a part only when its line took some in.
  const auto doc = nlohmann::ordered_json::parse(result_to_json(r));
  EXPECT_EQ(doc["statements"][0]["rows"][0]["made_of"].dump(), R"({"allocated":"37.50","overhead":"18.75","idle":"18.75"})");
  EXPECT_TRUE(doc["statements"][0]["rows"][0]["parts"][0].contains("made_of"));
}

TEST(Statements, WhatALineIsMadeOfIsRoundedToSumToItsCost) {
  // $10 over a 1, b 1 and kube-system 1 GPU-second, kube-system shared evenly: a's 5.00 is
  // 3.333.. of its own and 1.666.. of overhead; the cent left over the floors 3.33 + 1.66 goes
  // to the larger remainder: 3.33 + 1.67. Separate, kube-system is its own row of overhead.
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "node", "cost": "10.00"}],
      "records": [{"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 1}},
                  {"tags": {"namespace": "b"}, "measures": {"gpu_seconds": 1}},
                  {"tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 1}}],
      "steps": [{"id": "s", "strategy": "per_namespace", "pool": "node", "overhead": {"policy": "even"}}])";
  const Result r = run_with(spec, R"([{"id": "ns", "group_by": ["namespace"]}])");
  EXPECT_EQ(made_of(r.statements[0].rows[0]), (std::vector<std::string>{"3.33", "1.67", "0.00", "0.00"}));
  EXPECT_EQ(made_of(r.statements[0].rows[1]), (std::vector<std::string>{"3.33", "1.67", "0.00", "0.00"}));
  std::string separate = spec;
  const std::string even = R"(, "overhead": {"policy": "even"})";
  separate.replace(separate.find(even), even.size(), "");
  const Result s = run_with(separate, R"([{"id": "ns", "group_by": ["namespace"]}])");
  EXPECT_EQ(made_of(s.statements[0].rows[2]), (std::vector<std::string>{"0.00", "3.33", "0.00", "0.00"}));
}

TEST(Statements, UnusedCapacitySpreadByWeightedSplitIsIdle) {
  // $80 for 8 GPUs: p1 reserves 4, p2 2; the 2 unused are spread 4:2. p1 = 40 + 13.333.. =
  // 53.33, made of 40.00 and 13.33; p2 = 26.67 = 20.00 + 6.67.
  const Result r = run_with(R"({"apportion": 1, "pools": [{"id": "i", "cost": "80.00"}],
      "records": [{"tags": {"pod": "p1"}, "reserved": {"gpu": 4}}, {"tags": {"pod": "p2"}, "reserved": {"gpu": 2}}],
      "steps": [{"id": "s", "strategy": "weighted_split", "pool": "i", "capacity": {"gpu": 8}}])",
                            R"([{"id": "pods", "group_by": ["pod"]}])");
  EXPECT_EQ(made_of(r.statements[0].rows[0]), (std::vector<std::string>{"40.00", "0.00", "13.33", "0.00"}));
  EXPECT_EQ(made_of(r.statements[0].rows[1]), (std::vector<std::string>{"20.00", "0.00", "6.67", "0.00"}));
}

TEST(Statements, ALeafInheritsTheTagsItsDrawnLinesShareNearestFirst) {
  // By namespace and tenant: a tenant line of the endpoint inherits namespace=vllm from the
  // line drawn into its pool (its unallocated line of the node's records too); the unsplit
  // kube pool inherits namespace=kube-system; a namespace line lacks tenant and keeps its
  // namespace.
  const Result r = run_with(kNode, R"([{"id": "ns", "group_by": ["namespace", "tenant"]}])");
  EXPECT_EQ(rows_of(r.statements[0]), (Rows{{"namespace=__unallocated__ tenant=__unallocated__", "7.00"},
                                            {"namespace=cv tenant=__unallocated__", "16.67"},
                                            {"namespace=kube-system tenant=__unallocated__", "16.67"},
                                            {"namespace=nlp tenant=__unallocated__", "50.00"},
                                            {"namespace=vllm tenant=__unallocated__", "0.00"},
                                            {"namespace=vllm tenant=cv-app", "4.16"},
                                            {"namespace=vllm tenant=nlp-app", "12.50"}}));
  EXPECT_EQ(r.statements[0].total, dec("107.00"));
}

TEST(Statements, TagsComeDownEveryLevelOfADrillDownAndTheNearestWins) {
  // cluster $90 by region: eu 2/3 (60), us 1/3 (30). eu's line drawn into `eu`, split by
  // namespace and a finer region; ns-a's line drawn into `a`, split by team. A team line
  // inherits namespace=ns-a and region=eu-central from the line its pool was drawn from,
  // the nearest level, not region=eu from the level above; ns-b's line keeps its own region.
  const std::string spec = R"({"apportion": 1,
   "pools": [{"id": "cluster", "cost": "90"},
             {"id": "eu", "from": {"step": "regions", "tags": {"region": "eu"}}},
             {"id": "a", "from": {"step": "namespaces", "tags": {"namespace": "ns-a"}}}],
   "records": [
     {"tags": {"region": "eu"}, "pool": "cluster", "measures": {"gpu_seconds": 2}},
     {"tags": {"region": "us"}, "pool": "cluster", "measures": {"gpu_seconds": 1}},
     {"tags": {"namespace": "ns-a", "region": "eu-central"}, "pool": "eu", "measures": {"gpu_seconds": 1}},
     {"tags": {"namespace": "ns-b", "region": "eu-west"}, "pool": "eu", "measures": {"gpu_seconds": 1}},
     {"tags": {"team": "x"}, "pool": "a", "measures": {"gpu_seconds": 1}},
     {"tags": {"team": "y"}, "pool": "a", "measures": {"gpu_seconds": 2}}],
   "steps": [
     {"id": "regions", "strategy": "proportional", "pool": "cluster", "group_by": ["region"], "weight": "gpu_seconds"},
     {"id": "namespaces", "strategy": "proportional", "pool": "eu", "group_by": ["namespace", "region"], "weight": "gpu_seconds"},
     {"id": "teams", "strategy": "proportional", "pool": "a", "group_by": ["team"], "weight": "gpu_seconds"}])";
  // eu 60 -> ns-a 30, ns-b 30; ns-a 30 -> x 10, y 20; us 30 stays a leaf.
  const Result r = run_with(spec, R"([{"id": "by_region", "group_by": ["region", "namespace", "team"]}])");
  EXPECT_EQ(rows_of(r.statements[0]), (Rows{{"namespace=__unallocated__ region=us team=__unallocated__", "30.00"},
                                            {"namespace=ns-a region=eu-central team=x", "10.00"},
                                            {"namespace=ns-a region=eu-central team=y", "20.00"},
                                            {"namespace=ns-b region=eu-west team=__unallocated__", "30.00"}}));
  EXPECT_EQ(r.statements[0].total, dec("90.00"));
}

TEST(Statements, ANearerLevelThatDisagreesShadowsTheOneAboveIt) {
  // root's one line (team=c, 100) is drawn into q, which is split by team: a 50, b 50; both
  // are drawn into p, which no step splits. p's leaf takes no team: its drawn lines are a and
  // b, the nearer level, so c from the level above does not come down (it was split apart).
  const std::string spec = R"({"apportion": 1,
   "pools": [{"id": "root", "cost": "100"}, {"id": "q", "from": {"step": "s1", "tags": {"team": "c"}}},
             {"id": "p", "from": {"step": "s2", "tags": {}}}],
   "records": [{"pool": "root", "tags": {"team": "c"}, "measures": {"gpu_seconds": 1}},
               {"pool": "q", "tags": {"team": "a"}, "measures": {"gpu_seconds": 1}},
               {"pool": "q", "tags": {"team": "b"}, "measures": {"gpu_seconds": 1}}],
   "steps": [{"id": "s1", "strategy": "proportional", "pool": "root", "group_by": ["team"], "weight": "gpu_seconds"},
             {"id": "s2", "strategy": "proportional", "pool": "q", "group_by": ["team"], "weight": "gpu_seconds"}])";
  const Result r = run_with(spec, R"([{"id": "teams", "group_by": ["team"]}])");
  EXPECT_EQ(rows_of(r.statements[0]), (Rows{{"team=__unallocated__", "100.00"}}));
}

TEST(Statements, APoolWhoseCostIsNotItsDrawnLinesIsRefused) {
  // A currency on a drawn pool converts the lines it draws: the statement could not add up.
  const std::string spec = R"({"apportion": 1, "currency": "USD",
   "fx": [{"from": "EUR", "to": "USD", "rate": "2"}],
   "pools": [{"id": "node", "cost": "10"}, {"id": "eu", "currency": "EUR", "from": {"step": "s", "tags": {"team": "a"}}}],
   "records": [{"pool": "node", "tags": {"team": "a"}, "measures": {"gpu_seconds": 1}}],
   "steps": [{"id": "s", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}])";
  EXPECT_EQ(error_of(spec, R"([{"id": "teams", "group_by": ["team"]}])"),
            "statements[0]: pool \"eu\" costs 20.00 but draws 10.00 from the lines of step \"s\" (its currency converts "
            "them): a statement cannot add up both");
}

TEST(Statements, AnIdleLineLackingAKeyIsIdleAndAPoolIsReadThroughOneStep) {
  // per_namespace with idle: 600 of 1000 GPU-seconds used, $50: nlp 400 -> 20, cv 200 -> 10,
  // idle 400 -> 20. A second step of the same pool (even over namespaces) is another view:
  // the statement reads the first unless told.
  const std::string spec = R"({"apportion": 1,
   "pools": [{"id": "node", "cost": "50"}],
   "records": [{"tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": 400}},
               {"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": 200}}],
   "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "node", "idle": {"capacity": 1000}},
             {"id": "flat", "strategy": "even", "pool": "node", "group_by": ["namespace"]}])";
  Result r = run_with(spec, R"([{"id": "teams", "group_by": ["team"]}])");
  EXPECT_EQ(rows_of(r.statements[0]), (Rows{{"team=__idle__", "20.00"}, {"team=__unallocated__", "30.00"}}));
  EXPECT_EQ(r.statements[0].rows[0].kind, LineKind::idle);
  r = run_with(spec, R"([{"id": "flat", "group_by": ["namespace"], "steps": ["flat"]}])");
  EXPECT_EQ(rows_of(r.statements[0]), (Rows{{"namespace=cv", "25.00"}, {"namespace=nlp", "25.00"}}));
}

TEST(Statements, AStatementThatCannotBeReadAsWrittenNamesWhere) {
  const std::string idle = R"({"apportion": 1,
   "pools": [{"id": "node", "cost": "50"}, {"id": "cv", "from": {"step": "flat", "tags": {"namespace": "cv"}}},
             {"id": "both", "from": {"step": "ns", "tags": {}}}],
   "records": [{"tags": {"namespace": "nlp"}, "measures": {"gpu_seconds": 400}},
               {"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": 200}}],
   "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "node"},
             {"id": "flat", "strategy": "even", "pool": "node", "group_by": ["namespace"]}])";
  EXPECT_EQ(error_of(kNode, R"([{"id": "t", "group_by": ["team"], "steps": ["nope"]}])"),
            "statements[0].steps[0]: unknown step \"nope\"");
  EXPECT_EQ(error_of(idle, R"([{"id": "t", "group_by": ["team"], "steps": ["flat", "ns"]}])"),
            "statements[0].steps[1]: steps \"flat\" and \"ns\" both split pool \"node\": name one of them");
  EXPECT_EQ(error_of(idle, R"([{"id": "t", "group_by": ["team"]}])"),
            "statements[0]: pool \"cv\" is drawn from step \"flat\", which the statement does not read (it reads pool "
            "\"node\" through step \"ns\"): name \"flat\" in its steps");
  EXPECT_EQ(error_of(idle, R"([{"id": "t", "group_by": ["team"], "steps": ["flat"]}])"),
            "statements[0]: pool \"both\" is drawn from step \"ns\", which the statement does not read (it reads pool "
            "\"node\" through step \"flat\"): name \"ns\" in its steps");
  EXPECT_EQ(error_of(kNode, R"([{"id": "t", "group_by": ["team"]}, {"id": "t", "group_by": ["team"]}])"),
            "statements[1].id: statement \"t\" is defined twice");
  EXPECT_EQ(error_of(kNode, R"([{"id": "t", "group_by": ["team", "team"]}])"),
            "statements[0].group_by[1]: tag \"team\" is listed twice");
  EXPECT_EQ(error_of(kNode, R"([{"id": "t", "group_by": []}])"), "statements[0].group_by: must name at least one tag");
  EXPECT_EQ(error_of(kNode, R"([{"id": "t", "group_by": ["team"], "sort": "cost"}])"),
            "statements[0].sort: unknown key");
  // Two pools drawing the same line would count it twice.
  const std::string twice = R"({"apportion": 1,
   "pools": [{"id": "node", "cost": "50"}, {"id": "x", "from": {"step": "ns", "tags": {"namespace": "cv"}}},
             {"id": "y", "from": {"step": "ns", "tags": {}}}],
   "records": [{"tags": {"namespace": "cv"}, "measures": {"gpu_seconds": 1}}],
   "steps": [{"id": "ns", "strategy": "per_namespace", "pool": "node"}])";
  EXPECT_EQ(error_of(twice, R"([{"id": "t", "group_by": ["team"]}])"),
            "statements[0]: the allocated line {namespace=cv} of step \"ns\" is drawn into pools \"x\" and \"y\": a "
            "statement counts each line once");
  // Priced runs draw on no pool: such a step is no leaf.
  const std::string priced = R"({"apportion": 1, "pools": [],
   "catalog": {"skus": [{"id": "h100", "unit": "gpu_hour", "prices": [{"tier": "on_demand", "rate": "2", "from": "2026-01-01T00:00:00Z"}]}]},
   "records": [{"id": "r1", "tags": {"team": "a"}, "sku": "h100", "count": 1, "start": "2026-06-01T00:00:00Z", "end": "2026-06-01T01:00:00Z"}],
   "steps": [{"id": "runs", "strategy": "per_experiment"}])";
  EXPECT_EQ(error_of(priced, R"([{"id": "t", "group_by": ["team"], "steps": ["runs"]}])"),
            "statements[0].steps[0]: step \"runs\" splits no pool (its lines are priced runs): a statement reads the "
            "steps that split pools");
}

TEST(Statements, RowsAreTheSameWhateverTheOrderOfRecordsAndPools) {
  // The node example with its records and pools in every order a seeded shuffle gives: the
  // same rows, parts and total each time (parts follow line order, which is canonical).
  const std::string pools[] = {R"({"id": "node", "cost": "100.00"})",
                               R"({"id": "kube", "from": {"step": "by_ns", "tags": {"namespace": "kube-system"}}})",
                               R"({"id": "endpoint", "from": {"step": "by_ns", "tags": {"namespace": "vllm"}}})",
                               R"({"id": "support", "cost": "7.00", "tags": {"team": "platform"}})"};
  const std::string records[] = {
      R"({"tags": {"namespace": "nlp", "team": "nlp"}, "measures": {"gpu_seconds": 3000}})",
      R"({"tags": {"namespace": "cv", "team": "cv"}, "measures": {"gpu_seconds": 1000}})",
      R"({"tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 1000}})",
      R"({"tags": {"namespace": "vllm"}, "measures": {"gpu_seconds": 1000}})",
      R"({"tags": {"tenant": "nlp-app", "team": "nlp"}, "pool": "endpoint", "measures": {"tokens_prompt": 300}})",
      R"({"tags": {"tenant": "cv-app", "team": "cv"}, "pool": "endpoint", "measures": {"tokens_prompt": 100}})"};
  const auto spec = [&](std::vector<std::string> p, std::vector<std::string> r) {
    const auto join = [](const std::vector<std::string>& items) {
      std::string out;
      for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
      return "[" + out + "]";
    };
    return R"({"apportion": 1, "pools": )" + join(p) + R"(, "records": )" + join(r) + R"(, "steps": [
      {"id": "by_ns", "strategy": "proportional", "pool": "node", "group_by": ["namespace"], "weight": "gpu_seconds"},
      {"id": "tokens", "strategy": "proportional", "pool": "endpoint", "group_by": ["tenant"], "weight": "tokens_prompt"}])";
  };
  const auto statements_json = [](const Result& r) {
    Result only;
    only.currency = r.currency;
    only.precision = r.precision;
    only.statements = r.statements;
    return result_to_json(only);
  };
  std::vector<std::string> p(std::begin(pools), std::end(pools)), rec(std::begin(records), std::end(records));
  const std::string want = statements_json(run_with(spec(p, rec), R"([{"id": "t", "group_by": ["team", "namespace"]}])"));
  std::mt19937 random(7);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(p.begin(), p.end(), random);
    std::shuffle(rec.begin(), rec.end(), random);
    const Result r = run_with(spec(p, rec), R"([{"id": "t", "group_by": ["team", "namespace"]}])");
    EXPECT_EQ(statements_json(r), want) << "order " << i;
    EXPECT_EQ(r.statements[0].total, dec("107.00"));
  }
}

TEST(Statements, GovernanceReadsAStatementsRows) {
  // By namespace, vllm's row is its tenants' lines, which inherit namespace=vllm: 12.50 +
  // 4.16 = 16.66.
  const std::string spec = kNode + R"(, "statements": [{"id": "ns", "group_by": ["namespace"]}],
   "budgets": [{"id": "vllm", "spend": {"statement": "ns", "tags": {"namespace": "vllm"}}, "amount": "20",
                "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}}]})";
  const Result r = run(allocation_from_json(spec));
  ASSERT_TRUE(r.governance);
  ASSERT_EQ(r.governance->budgets.size(), 1u);
  EXPECT_EQ(r.governance->budgets[0].spend, dec("16.66"));
  const std::string unknown = kNode + R"(, "budgets": [{"id": "x", "spend": {"statement": "nope"}, "amount": "20",
                "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}}]})";
  try {
    run(allocation_from_json(unknown));
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_STREQ(e.what(), "budgets[0].spend.statement: unknown statement \"nope\"");
  }
  const std::string both = kNode + R"(, "budgets": [{"id": "x", "spend": {"statement": "ns", "step": "by_ns"}, "amount": "20",
                "period": {"start": "2026-06-01T00:00:00Z", "end": "2026-07-01T00:00:00Z"}}]})";
  try {
    allocation_from_json(both);
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_STREQ(e.what(), "budgets[0].spend: names both a step and a statement: give one");
  }
}

TEST(Statements, ADocumentWithoutStatementsWritesNone) {
  const std::string out = run_spec(kNode + "}");
  EXPECT_EQ(out.find("statements"), std::string::npos);
}

}  // namespace
