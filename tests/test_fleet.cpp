// Steps over a fleet: one step splitting many pools, each on its own, records matched to
// their pool by a tag. Figures worked by hand in the comments.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;

Decimal dec(const char* s) { return Decimal::parse(s); }

// Three nodes (ids as a bill's ResourceId, names as its ResourceName) and usage naming the
// node each record ran on.
std::string fleet(const std::string& step, const std::string& records = "") {
  return R"({"apportion": 1,
   "pools": [{"id": "i-1", "cost": "100", "tags": {"name": "node-1", "kind": "gpu"}},
             {"id": "i-2", "cost": "60", "tags": {"name": "node-2", "kind": "gpu"}},
             {"id": "i-3", "cost": "40", "tags": {"name": "node-3", "kind": "cpu"}}],
   "records": [)" + (records.empty() ? R"(
     {"tags": {"node": "node-1", "team": "a"}, "measures": {"gpu_seconds": 3}},
     {"tags": {"node": "node-1", "team": "b"}, "measures": {"gpu_seconds": 1}},
     {"tags": {"node": "node-2", "team": "b"}, "measures": {"gpu_seconds": 2}},
     {"tags": {"node": "node-3", "team": "a"}, "measures": {"gpu_seconds": 5}})" : records) + R"(],
   "steps": [)" + step + "]}";
}

// (pool, team) -> cost of the step's lines, in line order.
std::vector<std::string> lines_of(const Result& r) {
  std::vector<std::string> out;
  for (const Line& l : r.lines)
    out.push_back(l.pool.value_or("-") + " " + std::string(l.tags.get("team").value_or("-")) + " " + l.cost.to_fixed(2));
  return out;
}

std::string error_of(const std::string& spec) {
  try {
    run(allocation_from_json(spec));
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

using Lines = std::vector<std::string>;

TEST(Fleet, EachPoolIsSplitOnItsOwnByTheRecordsItsTagMatches) {
  // node-1: a 3, b 1 of 100 -> 75, 25. node-2: b -> 60. The cpu node is not selected.
  const Result r = run(allocation_from_json(fleet(R"({"id": "nodes", "strategy": "proportional",
      "pools": {"tags": {"kind": "gpu"}}, "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"],
      "weight": "gpu_seconds"})")));
  EXPECT_EQ(lines_of(r), (Lines{"i-1 a 75.00", "i-1 b 25.00", "i-2 b 60.00"}));
  ASSERT_EQ(r.coverage.size(), 1u);  // over the fleet: nothing unallocated
  EXPECT_EQ(r.coverage[0].ratio, 1);
  // node-3's record names a pool the step does not split.
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "steps[0]: records of step \"nodes\" match no pool by their tag \"node\" (\"node-3\"), so they "
                           "take no part");
}

TEST(Fleet, PoolsByIdListInSpecOrderAndMatchedByPoolId) {
  // Listed out of order: split in the spec's. A record naming its pool goes there; one with
  // neither a pool nor a match tag takes part nowhere, and is named in the warning.
  const std::string records = R"(
     {"tags": {"node": "i-3", "team": "a"}, "measures": {"gpu_seconds": 1}},
     {"tags": {"node": "i-1", "team": "b"}, "measures": {"gpu_seconds": 1}},
     {"pool": "i-1", "tags": {"team": "a"}, "measures": {"gpu_seconds": 3}},
     {"tags": {"team": "c"}, "measures": {"gpu_seconds": 9}})";
  const Result r = run(allocation_from_json(fleet(R"({"id": "nodes", "strategy": "proportional", "pools": ["i-3", "i-1"],
      "match": {"tag": "node"}, "group_by": ["team"], "weight": "gpu_seconds"})", records)));
  EXPECT_EQ(lines_of(r), (Lines{"i-1 a 75.00", "i-1 b 25.00", "i-3 a 40.00"}));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "steps[0]: records of step \"nodes\" match no pool by their tag \"node\" (no \"node\" tag), so "
                           "they take no part");
}

TEST(Fleet, WithoutAMatchARecordNamingNoPoolTakesPartInEveryPool) {
  // a 1, b 3 in each: 100 -> 25, 75; 60 -> 15, 45; 40 -> 10, 30.
  const std::string records = R"(
     {"tags": {"team": "a"}, "measures": {"gpu_seconds": 1}},
     {"tags": {"team": "b"}, "measures": {"gpu_seconds": 3}})";
  const Result r = run(allocation_from_json(fleet(R"({"id": "nodes", "strategy": "proportional", "pools": ["i-1", "i-2", "i-3"],
      "group_by": ["team"], "weight": "gpu_seconds"})", records)));
  EXPECT_EQ(lines_of(r), (Lines{"i-1 a 25.00", "i-1 b 75.00", "i-2 a 15.00", "i-2 b 45.00", "i-3 a 10.00", "i-3 b 30.00"}));
}

TEST(Fleet, APoolNoRecordMatchesIsUnallocatedAndSaidSo) {
  // node-3 has usage only from a record of another node: its whole 40 is unallocated, and the
  // fleet's coverage is (200 - 40) / 200 = 0.8.
  const std::string records = R"(
     {"tags": {"node": "node-1", "team": "a"}, "measures": {"gpu_seconds": 1}},
     {"tags": {"node": "node-2", "team": "a"}, "measures": {"gpu_seconds": 1}})";
  const Result r = run(allocation_from_json(fleet(R"({"id": "nodes", "strategy": "proportional", "pools": ["i-1", "i-2", "i-3"],
      "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"], "weight": "gpu_seconds"})", records)));
  EXPECT_EQ(lines_of(r), (Lines{"i-1 a 100.00", "i-2 a 60.00", "i-3 __unallocated__ 40.00"}));
  EXPECT_EQ(r.coverage[0].ratio, Rational(4, 5));
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0], "steps[0]: no record takes part in 1 of the 3 pools of step \"nodes\" (\"i-3\"), so no use "
                           "splits their costs (they are unallocated or idle)");
}

TEST(Fleet, AStatementOverAFleetGivesEachTeamsClusterTotal) {
  // a: 75 + 40 (node-3 by name) = 115; b: 25 + 60 = 85. Total 200, the three nodes.
  std::string spec = fleet(R"({"id": "nodes", "strategy": "proportional", "pools": {"tags": {}},
      "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"], "weight": "gpu_seconds"})");
  EXPECT_EQ(error_of(spec), "steps[0].pools.tags: must name at least one tag");
  spec = fleet(R"({"id": "nodes", "strategy": "proportional", "pools": ["i-1", "i-2", "i-3"],
      "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"], "weight": "gpu_seconds"})");
  spec.insert(spec.size() - 1, R"(, "statements": [{"id": "teams", "group_by": ["team"]}])");
  const Result r = run(allocation_from_json(spec));
  ASSERT_EQ(r.statements.size(), 1u);
  ASSERT_EQ(r.statements[0].rows.size(), 2u);
  EXPECT_EQ(r.statements[0].rows[0].cost, dec("115.00"));
  EXPECT_EQ(r.statements[0].rows[1].cost, dec("85.00"));
  EXPECT_EQ(r.statements[0].total, dec("200.00"));
}

TEST(Fleet, LinesDoNotDependOnRecordOrder) {
  std::vector<std::string> records = {
      R"({"tags": {"node": "node-1", "team": "a"}, "measures": {"gpu_seconds": 1}})",
      R"({"tags": {"node": "node-1", "team": "b"}, "measures": {"gpu_seconds": 2}})",
      R"({"tags": {"node": "node-2", "team": "c"}, "measures": {"gpu_seconds": 7}})",
      R"({"tags": {"node": "node-2", "team": "a"}, "measures": {"gpu_seconds": 3}})",
      R"({"tags": {"node": "node-3", "team": "b"}, "measures": {"gpu_seconds": 1}})",
      R"({"tags": {"node": "node-3", "team": "c"}, "measures": {"gpu_seconds": 1}})"};
  const auto spec = [&] {
    std::string joined;
    for (const std::string& r : records) joined += (joined.empty() ? "" : ", ") + r;
    return fleet(R"({"id": "nodes", "strategy": "proportional", "pools": {"tags": {"kind": "gpu"}},
      "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"], "weight": "gpu_seconds"},
      {"id": "cpu", "strategy": "even", "pools": ["i-3"], "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"]})",
                 joined);
  };
  const std::string want = run_spec(spec());
  std::mt19937 random(11);
  for (int i = 0; i < 10; ++i) {
    std::shuffle(records.begin(), records.end(), random);
    EXPECT_EQ(run_spec(spec()), want) << i;
  }
}

TEST(Fleet, AFleetThatCannotBeSplitNamesWhere) {
  const std::string p = R"("strategy": "proportional", "group_by": ["team"], "weight": "gpu_seconds")";
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "pool": "i-1", "pools": ["i-2"], )" + p + "}")),
            "steps[0].pools: give either \"pool\" or \"pools\", not both");
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "pools": ["i-1", "nope"], )" + p + "}")), "steps[0].pools[1]: unknown pool \"nope\"");
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "pools": ["i-1", "i-1"], )" + p + "}")),
            "steps[0].pools[1]: pool \"i-1\" is listed twice");
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "pools": {"tags": {"kind": "tpu"}}, )" + p + "}")),
            "steps[0].pools.tags: no pool has these tags");
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "pools": [], )" + p + "}")), "steps[0].pools: must name at least one pool");
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "pool": "i-1", "match": {"tag": "node"}, )" + p + "}")),
            "steps[0].match: matches records to the pools of a fleet: give \"pools\"");
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "pools": ["i-1"], "match": {"tag": "node", "by": "x"}, )" + p + "}")),
            "steps[0].match.by: unknown key");
}

TEST(Fleet, ARecordNamingItsPoolTakesPartThoughThePoolLacksTheMatchTag) {
  // i-9 has no `name` tag, so no match names it; the record pinned to it still takes part.
  const std::string spec = R"({"apportion": 1,
   "pools": [{"id": "i-1", "cost": "10", "tags": {"name": "node-1"}}, {"id": "i-9", "cost": "30"}],
   "records": [{"tags": {"node": "node-1", "team": "a"}, "measures": {"gpu_seconds": 1}},
               {"pool": "i-9", "tags": {"team": "b"}, "measures": {"gpu_seconds": 1}}],
   "steps": [{"id": "s", "strategy": "proportional", "pools": ["i-1", "i-9"], "match": {"tag": "node", "pool_tag": "name"},
              "group_by": ["team"], "weight": "gpu_seconds"}]})";
  const Result r = run(allocation_from_json(spec));
  EXPECT_EQ(lines_of(r), (Lines{"i-1 a 10.00", "i-9 b 30.00"}));
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
}

TEST(Fleet, TheUnmatchedWarningDoesNotDependOnRecordOrder) {
  // Seven nodes the bill lacks: the first five in order, then how many more.
  std::vector<std::string> records;
  for (const char* node : {"n-g", "n-b", "n-f", "n-a", "n-e", "n-c", "n-d"})
    records.push_back(std::string(R"({"tags": {"node": ")") + node + R"(", "team": "a"}, "measures": {"gpu_seconds": 1}})");
  std::mt19937 random(3);
  for (int i = 0; i < 5; ++i) {
    std::shuffle(records.begin(), records.end(), random);
    std::string joined;
    for (const std::string& rec : records) joined += (joined.empty() ? "" : ", ") + rec;
    const Result r = run(allocation_from_json(fleet(R"({"id": "s", "strategy": "proportional", "pools": ["i-1"],
        "match": {"tag": "node", "pool_tag": "name"}, "group_by": ["team"], "weight": "gpu_seconds"})", joined)));
    ASSERT_EQ(r.warnings.size(), 2u);
    EXPECT_EQ(r.warnings[1], "steps[0]: records of step \"s\" match no pool by their tag \"node\" (\"n-a\", \"n-b\", "
                             "\"n-c\", \"n-d\", \"n-e\" and 2 more), so they take no part");
  }
}

TEST(Fleet, UnitCostsAreRefusedOverAFleet) {
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "strategy": "per_token", "pools": ["i-1", "i-2"],
      "match": {"tag": "node", "pool_tag": "name"}})", R"({"tags": {"node": "node-1", "team": "a", "model": "m"},
      "measures": {"tokens_prompt": 10, "tokens_generation": 5}})")),
            "steps[0].pools: strategy \"per_token\" gives unit costs, which a step over a fleet does not keep apart by pool: "
            "split one pool per step");
}

TEST(Select, NotExcludesRecordsWithThoseValuesAndKeepsThoseWithoutTheTag) {
  // node-1's records but team a's: b 1 of the 100, so b takes it all; the record without a
  // team tag (weight 4) is not excluded by "not": 100 x 1/5 and 4/5.
  const std::string records = R"(
     {"pool": "i-1", "tags": {"team": "a"}, "measures": {"gpu_seconds": 3}},
     {"pool": "i-1", "tags": {"team": "b"}, "measures": {"gpu_seconds": 1}},
     {"pool": "i-1", "tags": {"app": "x"}, "measures": {"gpu_seconds": 4}})";
  const Result r = run(allocation_from_json(fleet(R"({"id": "s", "strategy": "proportional", "pool": "i-1",
      "select": {"team": {"not": "a"}}, "group_by": ["team"], "weight": "gpu_seconds"})", records)));
  EXPECT_EQ(lines_of(r), (Lines{"i-1 b 20.00", "i-1 __unallocated__ 80.00"}));
  const Result both = run(allocation_from_json(fleet(R"({"id": "s", "strategy": "proportional", "pool": "i-1",
      "select": {"team": {"not": ["a", "c"]}, "app": "x"}, "group_by": ["app"], "weight": "gpu_seconds"})", records)));
  ASSERT_EQ(both.lines.size(), 1u);
  EXPECT_EQ(both.lines[0].cost, dec("100.00"));
  EXPECT_EQ(error_of(fleet(R"({"id": "s", "strategy": "proportional", "pool": "i-1", "select": {"team": {"but": "a"}},
      "group_by": ["team"], "weight": "gpu_seconds"})")), "steps[0].select.team: missing required key \"not\"");
}

}  // namespace

