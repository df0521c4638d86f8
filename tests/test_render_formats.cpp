// The FOCUS 1.3 and markdown renderers (docs/output-formats.md): worked examples with exact
// text (numbers checked by hand), the FOCUS allocated rows summing exactly to their origin
// charges (read back from the CSV), quoting of awkward tags, and determinism.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;

// Expected CSV text is written with \n; the renderer ends rows with \r\n (RFC 4180).
std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// RFC 4180 records: fields split on commas, quoted fields with doubled quotes and line breaks.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_TRUE(field.empty() && row.empty()) << "the last record must end with CRLF";
  return rows;
}

// The rows as maps from column name to value, checking every row has the header's width.
std::vector<std::map<std::string, std::string>> focus_rows(const std::string& csv) {
  const auto records = parse_csv(csv);
  EXPECT_FALSE(records.empty());
  std::vector<std::map<std::string, std::string>> out;
  for (std::size_t r = 1; r < records.size(); ++r) {
    EXPECT_EQ(records[r].size(), records[0].size()) << "row " << r;
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < records[0].size() && c < records[r].size(); ++c) row[records[0][c]] = records[r][c];
    out.push_back(std::move(row));
  }
  return out;
}

// A node split over namespaces, its serving line drilled down to teams (one record without a
// team: an unallocated line), and a credit split evenly.
const std::string kSpec = R"({"apportion": 1,
 "pools": [{"id": "node-1", "tags": {"cluster": "c1"}, "cost": "1000.00"},
           {"id": "serving", "from": {"step": "teams", "tags": {"namespace": "serving"}}},
           {"id": "promo", "tags": {"kind": "credit"}, "cost": "-10.00"}],
 "records": [
  {"pool": "node-1", "tags": {"namespace": "serving"}, "measures": {"gpu_seconds": 2}},
  {"pool": "node-1", "tags": {"namespace": "research"}, "measures": {"gpu_seconds": 1}},
  {"pool": "serving", "tags": {"team": "a"}, "measures": {"requests": 1}},
  {"pool": "serving", "tags": {"team": "b"}, "measures": {"requests": 1}},
  {"pool": "serving", "tags": {}, "measures": {"requests": 1}},
  {"pool": "promo", "tags": {"team": "a"}},
  {"pool": "promo", "tags": {"team": "b"}},
  {"pool": "promo", "tags": {"team": "c"}}],
 "steps": [
  {"id": "teams", "strategy": "proportional", "pool": "node-1", "group_by": ["namespace"], "weight": "gpu_seconds"},
  {"id": "tenants", "strategy": "proportional", "pool": "serving", "group_by": ["team"], "weight": "requests"},
  {"id": "promo", "strategy": "even", "pool": "promo", "group_by": ["team"]}]})";

// 1000 over 1:2 is 333.33 and 666.67 (the larger remainder takes the cent). The serving pool,
// 666.67, over three equal weights is 222.2233... each: the leftover cent goes to the smallest
// tags, "__unallocated__". Ratios are costs over the pool in millionths, by largest remainder:
// 222.22 / 666.67 = 0.3333283..., 222.23 / 666.67 = 0.3333433...; the two equal remainders
// tie and the earlier line takes the unit, so 0.333329 + 0.333328 + 0.333343 = 1. The credit
// of -10.00 over three is -3.34, -3.33, -3.33.
const std::string kExpectedFocus =
    R"(BillingCurrency,ChargeCategory,ResourceId,Tags,BilledCost,EffectiveCost,AllocatedMethodId,AllocatedMethodDetails,AllocatedResourceId,AllocatedResourceName,AllocatedTags,x_StepId,x_LineKind,x_PoolId
USD,Usage,node-1,"{""cluster"":""c1""}",333.33,333.33,proportional:teams,"{""Elements"":[{""AllocatedRatio"":0.33333,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":0.333333}],""x_OriginCost"":1000.00,""x_Denominator"":3}",namespace=research,research,"{""namespace"":""research""}",teams,allocated,node-1
USD,Usage,node-1,"{""cluster"":""c1""}",666.67,666.67,proportional:teams,"{""Elements"":[{""AllocatedRatio"":0.66667,""UsageUnit"":""weight"",""UsageQuantity"":2,""x_Share"":0.666667}],""x_OriginCost"":1000.00,""x_Denominator"":3}",namespace=serving,serving,"{""namespace"":""serving""}",teams,allocated,node-1
USD,Usage,serving,,222.22,222.22,proportional:tenants,"{""Elements"":[{""AllocatedRatio"":0.333329,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":0.333333}],""x_OriginCost"":666.67,""x_Denominator"":3}",team=a,a,"{""team"":""a""}",tenants,allocated,serving
USD,Usage,serving,,222.22,222.22,proportional:tenants,"{""Elements"":[{""AllocatedRatio"":0.333328,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":0.333333}],""x_OriginCost"":666.67,""x_Denominator"":3}",team=b,b,"{""team"":""b""}",tenants,allocated,serving
USD,Usage,serving,,222.23,222.23,proportional:tenants,"{""Elements"":[{""AllocatedRatio"":0.333343,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":0.333333}],""x_OriginCost"":666.67,""x_Denominator"":3}",,,,tenants,unallocated,serving
USD,Credit,promo,"{""kind"":""credit""}",-3.34,-3.34,even:promo,"{""Elements"":[{""AllocatedRatio"":0.334,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":0.333333}],""x_OriginCost"":-10.00,""x_Denominator"":3}",team=a,a,"{""team"":""a""}",promo,allocated,promo
USD,Credit,promo,"{""kind"":""credit""}",-3.33,-3.33,even:promo,"{""Elements"":[{""AllocatedRatio"":0.333,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":0.333333}],""x_OriginCost"":-10.00,""x_Denominator"":3}",team=b,b,"{""team"":""b""}",promo,allocated,promo
USD,Credit,promo,"{""kind"":""credit""}",-3.33,-3.33,even:promo,"{""Elements"":[{""AllocatedRatio"":0.333,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":0.333333}],""x_OriginCost"":-10.00,""x_Denominator"":3}",team=c,c,"{""team"":""c""}",promo,allocated,promo
)";

const std::string kExpectedMarkdown = R"(## Step teams: pool node-1

| kind | namespace | cost (USD) | cost share |
|---|---|---:|---:|
| allocated | research | 333.33 | 33.33% |
| allocated | serving | 666.67 | 66.67% |
| **total** | | **1,000.00** | **100.00%** |

- coverage: 100.00% of the pool allocated

## Step tenants: pool serving

| kind | team | cost (USD) | cost share |
|---|---|---:|---:|
| allocated | a | 222.22 | 33.33% |
| allocated | b | 222.22 | 33.33% |
| unallocated | __unallocated__ | 222.23 | 33.33% |
| **total** | | **666.67** | **100.00%** |

- coverage: 66.67% of the pool allocated

## Step promo: pool promo

| kind | team | cost (USD) | cost share |
|---|---|---:|---:|
| allocated | a | -3.34 | 33.40% |
| allocated | b | -3.33 | 33.30% |
| allocated | c | -3.33 | 33.30% |
| **total** | | **-10.00** | **100.00%** |

- coverage: 100.00% of the pool allocated
)";

// 1000 over 3:1 is 750 and 250. Budget: 75% used; 15 of June's 30 days gone, so the linear
// forecast is 1,500; the 0.5 threshold is crossed. Anomaly: median 500, 750 / 500 = 1.5 >= 1.2.
// Reconcile: 100 more on the bill, split 3:1 (drift 10%). Scorecard: 30% of 1,000. Unit
// economics: 750 / 3,000 requests = 0.25 an inference; 750 over 3 GPU-seconds is 900,000 an hour.
const std::string kGovernanceSpec = R"({"apportion": 1,
 "pools": [{"id": "node", "cost": "1000.00"}],
 "records": [
  {"tags": {"team": "a"}, "measures": {"gpu_seconds": 3, "requests": 3000}},
  {"tags": {"team": "b"}, "measures": {"gpu_seconds": 1, "requests": 500}}],
 "steps": [{"id": "teams", "strategy": "proportional", "pool": "node", "group_by": ["team"], "weight": "gpu_seconds"}],
 "budgets": [{"id": "a-june", "tags": {"team": "a"}, "spend": {"step": "teams", "tags": {"team": "a"}}, "amount": "1000",
              "period": {"month": "2026-06"}, "as_of": "2026-06-16T00:00:00Z"}],
 "anomalies": [{"id": "big", "lines": {"step": "teams"}, "threshold": "1.2"}],
 "reconcile": [{"id": "bill", "estimate": {"step": "teams"}, "actual": "1100.00"}],
 "scorecards": [{"id": "sc", "baseline": {"step": "teams"},
                 "levers": [{"name": "spot | replicas", "saving": "0.30", "risk": "preemption\nat peak"}]}],
 "unit_economics": [{"id": "ue", "lines": {"step": "teams"}}]})";

const std::string kExpectedGovernance = R"(## Step teams: pool node

| kind | team | cost (USD) | cost share |
|---|---|---:|---:|
| allocated | a | 750.00 | 75.00% |
| allocated | b | 250.00 | 25.00% |
| **total** | | **1,000.00** | **100.00%** |

- coverage: 100.00% of the pool allocated

## Budgets

Forecast: linear run rate to the period's end.

| budget | tags | spend | amount | used | forecast | crossed | new alerts |
|---|---|---:|---:|---:|---:|---|---|
| a-june | team=a | 750.00 | 1,000.00 | 75.00% | 1,500.00 | 0.5 | 0.5 info |

## Anomalies big

ratio >= 1.2 over 2 lines, baseline (median) 500.00

| line | cost | baseline | score | alert |
|---|---:|---:|---:|---|
| team=a | 750.00 | 500.00 | 1.50 | new |

## Reconcile bill

Estimate 1,000.00, actual 1,100.00, difference 100.00 (drift 10.00%).

| kind | line | cost | true-up |
|---|---|---:|---:|
| allocated | team=a | 825.00 | 75.00 |
| allocated | team=b | 275.00 | 25.00 |

## Scorecard sc

Baseline 1,000.00.

| lever | saving | standalone | incremental | risk |
|---|---:|---:|---:|---|
| spot \| replicas | 30.00% | 300.00 | 300.00 | preemption<br>at peak |
| **combined** | | | **300.00** | |
| **remaining** | | | **700.00** | |

## Unit economics ue (step teams)

| line | cost | per inference | per 1k requests | per GPU-hour |
|---|---:|---:|---:|---:|
| team=a | 750.00 | 0.2500 | 250.0000 | 900,000.0000 |
| team=b | 250.00 | 0.5000 | 500.0000 | 900,000.0000 |
)";

TEST(RenderFocus, WorkedExample) {
  const Allocation allocation = allocation_from_spec(parse_json(kSpec));
  EXPECT_EQ(result_to_focus(run(allocation), allocation), crlf(kExpectedFocus));
}

// Every (x_PoolId, AllocatedMethodId) group of rows, read back from the CSV, sums exactly
// to its pool in BilledCost and EffectiveCost, its ratios sum to exactly 1, and only the
// unallocated rows have no AllocatedResourceId, AllocatedResourceName or AllocatedTags.
// A pool read from a bill may have an EffectiveCost that is not its cost (or none): then
// `effective_is_billed` is false and that column is not checked here.
void expect_rows_sum_to_origins(const Allocation& allocation, bool effective_is_billed = true) {
  const Result result = run(allocation);
  const auto rows = focus_rows(result_to_focus(result, allocation));
  std::map<std::pair<std::string, std::string>, std::pair<Decimal, Decimal>> costs;
  std::map<std::pair<std::string, std::string>, Decimal> ratios;
  std::size_t expected_rows = 0;
  for (const Line& l : result.lines) expected_rows += l.pool ? 1 : 0;
  EXPECT_EQ(rows.size(), expected_rows);
  for (const auto& row : rows) {
    const auto key = std::make_pair(row.at("x_PoolId"), row.at("AllocatedMethodId"));
    EXPECT_EQ(row.at("BillingCurrency"), std::string(result.currency.code()));
    costs[key].first += Decimal::parse(row.at("BilledCost"));
    if (effective_is_billed) costs[key].second += Decimal::parse(row.at("EffectiveCost"));
    const Value details = parse_json(row.at("AllocatedMethodDetails"));
    ASSERT_TRUE(details.is(Value::Type::object));
    const Value* elements = details.find("Elements");
    ASSERT_TRUE(elements != nullptr && elements->is(Value::Type::array) && elements->items().size() == 1);
    const Value* ratio = elements->items()[0].find("AllocatedRatio");
    ASSERT_TRUE(ratio != nullptr && ratio->is(Value::Type::number));
    ratios[key] += Decimal::parse(ratio->text());
    const bool unallocated = row.at("x_LineKind") == "unallocated";
    EXPECT_EQ(row.at("AllocatedResourceId").empty(), unallocated);
    EXPECT_EQ(row.at("AllocatedResourceName").empty(), unallocated);
    if (unallocated) {
      EXPECT_EQ(row.at("AllocatedTags"), "");
    }
    if (!row.at("AllocatedTags").empty()) {
      EXPECT_TRUE(parse_json(row.at("AllocatedTags")).is(Value::Type::object));
    }
    if (!row.at("Tags").empty()) {
      EXPECT_TRUE(parse_json(row.at("Tags")).is(Value::Type::object));
    }
  }
  EXPECT_FALSE(costs.empty());
  for (const auto& [key, sums] : costs) {
    const auto pool = std::find_if(result.pools.begin(), result.pools.end(),
                                   [&](const PoolCost& p) { return p.id == key.first; });
    ASSERT_NE(pool, result.pools.end()) << key.first;
    EXPECT_EQ(sums.first, pool->cost) << key.first << " " << key.second;
    if (effective_is_billed) {
      EXPECT_EQ(sums.second, pool->cost) << key.first << " " << key.second;
    }
    EXPECT_EQ(ratios[key], Decimal(1)) << key.first << " " << key.second;
  }
}

TEST(RenderFocus, AllocatedRowsSumExactlyToTheirOrigin) {
  expect_rows_sum_to_origins(allocation_from_spec(parse_json(kSpec)));
}

// Many groups with awkward weights; per_namespace with overhead and idle lines; a weighted
// split (lines without a weight); a pool of zero; a step that prices runs (no origin charge,
// no rows); one pool split by two steps.
TEST(RenderFocus, AllocatedRowsSumExactlyToTheirOriginAcrossStrategies) {
  std::string records;
  for (int i = 0; i < 37; ++i) {
    records += R"({"pool": "month", "tags": {"namespace": "ns)" + std::to_string(i) + R"("}, "measures": {"gpu_seconds": )" +
               std::to_string((i * 7919) % 1013 + 1) + "}},\n";
    records += R"({"pool": "zero", "tags": {"team": "t)" + std::to_string(i % 5) + R"("}, "measures": {"gpu_seconds": )" +
               std::to_string(i % 3) + "}},\n";
  }
  const std::string spec = R"({"apportion": 1,
 "catalog": {"skus": [{"id": "gpu/x", "unit": "gpu_hour", "prices": [{"rate": "2.50"}]}]},
 "pools": [{"id": "month", "tags": {"cluster": "c1"}, "cost": "98765.43"},
           {"id": "zero", "cost": "0"},
           {"id": "inst", "cost": "-180.81"}],
 "records": [)" + records + R"(
  {"pool": "month", "tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 211}},
  {"pool": "inst", "tags": {"pod": "p1"}, "reserved": {"gpu": 4, "cpu": 16, "memory_gb": 128}, "used": {"cpu": 24}},
  {"pool": "inst", "tags": {"pod": "p2"}, "reserved": {"gpu": 2, "cpu": 16, "memory_gb": 64}, "used": {"cpu": 8}},
  {"tags": {"experiment": "e1"}, "sku": "gpu/x", "count": 2, "start": "2026-06-02T00:00:00Z", "end": "2026-06-02T01:30:00Z"}],
 "steps": [
  {"id": "ns", "strategy": "per_namespace", "pool": "month", "overhead": {"namespaces": ["kube-system"]},
   "idle": {"capacity": 40000}},
  {"id": "ns-even", "strategy": "even", "pool": "month", "group_by": ["namespace"]},
  {"id": "zero", "strategy": "proportional", "pool": "zero", "group_by": ["team"], "weight": "gpu_seconds"},
  {"id": "ws", "strategy": "weighted_split", "pool": "inst", "capacity": {"gpu": 8, "cpu": 64, "memory_gb": 512},
   "unused": "separate"},
  {"id": "runs", "strategy": "per_experiment"}]})";
  expect_rows_sum_to_origins(allocation_from_spec(parse_json(spec)));
}

// Tags holding commas, quotes, pipes, backslashes and a line break: the CSV quotes the cells,
// the JSON cells escape them, and both read back to the original text.
TEST(RenderFocus, QuotesAwkwardTags) {
  const std::string team = "a, \"b\" | c\\d\ne";
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p,1", "tags": {"owner": "x \"y\""}, "cost": "10"}],
 "records": [{"tags": {"team": "a, \"b\" | c\\d\ne"}, "measures": {"w": 1}}],
 "steps": [{"id": "s", "strategy": "proportional", "pool": "p,1", "group_by": ["team"], "weight": "w"}]})";
  const Allocation allocation = allocation_from_spec(parse_json(spec));
  const std::string csv = result_to_focus(run(allocation), allocation);
  EXPECT_EQ(csv.substr(csv.find("\r\n") + 2),
            R"(USD,Usage,"p,1","{""owner"":""x \""y\""""}",10.00,10.00,proportional:s,"{""Elements"":[{""AllocatedRatio"":1,""UsageUnit"":""weight"",""UsageQuantity"":1,""x_Share"":1.000000}],""x_OriginCost"":10.00,""x_Denominator"":1}","team=a, ""b"" | c\d)"
                 "\n"
                 R"(e","a, ""b"" | c\d)"
                 "\n"
                 R"(e","{""team"":""a, \""b\"" | c\\d\ne""}",s,allocated,"p,1")"
            "\r\n");
  const auto rows = focus_rows(csv);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("ResourceId"), "p,1");
  EXPECT_EQ(rows[0].at("AllocatedResourceName"), team);
  const Value tags = parse_json(rows[0].at("AllocatedTags"));
  ASSERT_NE(tags.find("team"), nullptr);
  EXPECT_EQ(tags.find("team")->text(), team);
  EXPECT_EQ(parse_json(rows[0].at("Tags")).find("owner")->text(), "x \"y\"");
}

// AllocatedTags leaves out pairs the origin charge's Tags already hold.
TEST(RenderFocus, AllocatedTagsLeaveOutTheOriginsTags) {
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "tags": {"env": "prod"}, "cost": "3"}],
 "records": [{"tags": {"env": "prod", "team": "a"}, "measures": {"w": 1}},
             {"tags": {"env": "dev", "team": "b"}, "measures": {"w": 2}}],
 "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["env", "team"], "weight": "w"}]})";
  const Allocation allocation = allocation_from_spec(parse_json(spec));
  const auto rows = focus_rows(result_to_focus(run(allocation), allocation));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("AllocatedResourceId"), "env=dev,team=b");
  EXPECT_EQ(rows[0].at("AllocatedTags"), R"({"env":"dev","team":"b"})");
  EXPECT_EQ(rows[1].at("AllocatedResourceId"), "env=prod,team=a");
  EXPECT_EQ(rows[1].at("AllocatedTags"), R"({"team":"a"})");
}

// Pools read from a FOCUS bill: the rows carry the bill's columns. A node's two usage rows
// and its tax row are split 1:2 over namespaces, namespace a's line drilled down evenly to
// three tenants, and a EUR charge converted at 1.10 split evenly over two teams.
const std::string kBill =
    "BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,"
    "ConsumedQuantity,ConsumedUnit,ListUnitPrice,ResourceId,ServiceName,Tags\n"
    "10.00,9.00,12.50,USD,Usage,2026-06-02 00:00:00,2026-06-03 00:00:00,24,Hours,0.52,node-1,GPU,"
    "\"{\"\"cluster\"\":\"\"c1\"\"}\"\n"
    "5.25,5.25,6.125,USD,Usage,2026-06-01 00:00:00,2026-06-02 00:00:00,12,Hours,0.52,node-1,GPU,"
    "\"{\"\"cluster\"\":\"\"c1\"\"}\"\n"
    "0.80,0.80,0.80,USD,Tax,2026-06-01 00:00:00,2026-06-03 00:00:00,NULL,NULL,NULL,node-1,GPU,"
    "\"{\"\"cluster\"\":\"\"c1\"\"}\"\n"
    "100.00,100.00,120.00,EUR,Usage,2026-06-01 00:00:00,2026-06-02 00:00:00,10,Hours,12,eu-node,GPU,NULL\n";

const std::string kBillSpec = R"({"apportion": 1, "currency": "USD",
 "inputs": [{"format": "focus", "path": "bill.csv"}],
 "fx": [{"from": "EUR", "to": "USD", "rate": "1.10", "date": "2026-06-01", "source": "test"}],
 "pools": [{"id": "a-team", "from": {"step": "teams", "tags": {"namespace": "a"}}}],
 "records": [
  {"pool": "node-1", "tags": {"namespace": "a"}, "measures": {"w": 1}},
  {"pool": "node-1", "tags": {"namespace": "b"}, "measures": {"w": 2}},
  {"pool": "a-team", "tags": {"tenant": "t1"}}, {"pool": "a-team", "tags": {"tenant": "t2"}},
  {"pool": "a-team", "tags": {"tenant": "t3"}},
  {"pool": "eu-node", "tags": {"team": "x"}}, {"pool": "eu-node", "tags": {"team": "y"}}],
 "steps": [
  {"id": "teams", "strategy": "proportional", "pool": "node-1", "group_by": ["namespace"], "weight": "w"},
  {"id": "tenants", "strategy": "even", "pool": "a-team", "group_by": ["tenant"]},
  {"id": "eu", "strategy": "even", "pool": "eu-node", "group_by": ["team"]}]})";

Allocation bill_allocation() {
  const auto dir = std::filesystem::temp_directory_path() / ("apportion-render-focus-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "bill.csv", std::ios::binary) << kBill;
  SpecOptions options;
  options.base_dir = dir;
  Allocation allocation = allocation_from_json(kBillSpec, options);
  std::filesystem::remove_all(dir);
  return allocation;
}

std::vector<std::string> column(const std::vector<std::map<std::string, std::string>>& rows, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& row : rows) out.push_back(row.at(name));
  return out;
}

using Texts = std::vector<std::string>;

TEST(RenderFocus, RowsOfABillsChargeCarryItsColumns) {
  const Allocation allocation = bill_allocation();
  const std::string csv = result_to_focus(run(allocation), allocation);
  // The bill's columns first (Tags is the pool's), then apportion's own.
  EXPECT_EQ(csv.substr(0, csv.find("\r\n")),
            "BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,"
            "ConsumedQuantity,ConsumedUnit,ListUnitPrice,ResourceId,ServiceName,Tags,AllocatedMethodId,"
            "AllocatedMethodDetails,AllocatedResourceId,AllocatedResourceName,AllocatedTags,x_StepId,x_LineKind,"
            "x_PoolId");
  const auto rows = focus_rows(csv);
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(column(rows, "x_StepId"), (Texts{"teams", "teams", "tenants", "tenants", "tenants", "eu", "eu"}));
  EXPECT_EQ(column(rows, "x_PoolId"), (Texts{"node-1", "node-1", "a-team", "a-team", "a-team", "eu-node", "eu-node"}));

  // 16.05 split 1:2 is 5.35 and 10.70, so every metric splits by exactly 1/3 and 2/3 (each
  // in its own digits, by largest remainder): EffectiveCost 15.05 as 5.0166... and 10.0333...
  // is 5.02 and 10.03; ListCost 19.425 is 6.475 and 12.950; 36 hours are 12 and 24. The
  // drill-down splits namespace a's parts by the tenants' costs 1.79, 1.78, 1.78 (of 5.35):
  // EffectiveCost 5.02 as 1.6795..., 1.6702..., 1.6702... is 1.68, 1.67, 1.67; ListCost 6.475
  // is 2.167, 2.154, 2.154; 12 hours are 4.0149532..., 3.9925233... twice: the leftover
  // millionth goes to the larger remainder, .36 over .27, tied between t2 and t3, to t2.
  EXPECT_EQ(column(rows, "BilledCost"), (Texts{"5.35", "10.70", "1.79", "1.78", "1.78", "55.00", "55.00"}));
  EXPECT_EQ(column(rows, "EffectiveCost"), (Texts{"5.02", "10.03", "1.68", "1.67", "1.67", "", ""}));
  EXPECT_EQ(column(rows, "ListCost"), (Texts{"6.475", "12.950", "2.167", "2.154", "2.154", "", ""}));
  EXPECT_EQ(column(rows, "ConsumedQuantity"),
            (Texts{"12", "24", "4.014953", "3.992524", "3.992523", "5", "5"}));
  EXPECT_EQ(column(rows, "ConsumedUnit"), (Texts{"Hours", "Hours", "Hours", "Hours", "Hours", "Hours", "Hours"}));
  // Dimensions repeat the origin's value, null where its rows disagree; prices too, except
  // in another currency than the result's (the EUR price is not a USD one).
  EXPECT_EQ(column(rows, "ChargeCategory"), (Texts{"", "", "", "", "", "Usage", "Usage"}));
  EXPECT_EQ(column(rows, "ListUnitPrice"), (Texts{"", "", "", "", "", "", ""}));
  EXPECT_EQ(column(rows, "ServiceName"), (Texts(7, "GPU")));
  EXPECT_EQ(column(rows, "ResourceId"), (Texts{"node-1", "node-1", "node-1", "node-1", "node-1", "eu-node", "eu-node"}));
  EXPECT_EQ(column(rows, "ChargePeriodStart"), (Texts(7, "2026-06-01 00:00:00")));
  EXPECT_EQ(column(rows, "ChargePeriodEnd"),
            (Texts{"2026-06-03 00:00:00", "2026-06-03 00:00:00", "2026-06-03 00:00:00", "2026-06-03 00:00:00",
                   "2026-06-03 00:00:00", "2026-06-02 00:00:00", "2026-06-02 00:00:00"}));
  EXPECT_EQ(column(rows, "BillingCurrency"), (Texts(7, "USD")));
  // The drill-down's rows keep the charge's tags and say whose part they split.
  const std::string c1 = R"({"cluster":"c1"})";
  EXPECT_EQ(column(rows, "Tags"), (Texts{c1, c1, c1, c1, c1, "", ""}));
  EXPECT_EQ(rows[2].at("AllocatedTags"), R"({"namespace":"a","tenant":"t1"})");
  EXPECT_EQ(rows[2].at("AllocatedResourceId"), "tenant=t1");

  expect_rows_sum_to_origins(allocation, false);
}

// The same with a price in the result's currency: it repeats on every row.
TEST(RenderFocus, PricesRepeatInTheResultsCurrency) {
  Allocation allocation = bill_allocation();
  allocation.steps.erase(allocation.steps.begin() + 1, allocation.steps.end());
  auto rows = focus_rows(result_to_focus(run(allocation), allocation));
  ASSERT_EQ(rows.size(), 2u);
  const auto node = std::find_if(allocation.pools.begin(), allocation.pools.end(),
                                 [](const Pool& p) { return p.id == "node-1"; });
  ASSERT_TRUE(node != allocation.pools.end() && node->origin);
  auto schema = std::make_shared<OriginSchema>(*node->origin->schema);
  auto origin = std::make_shared<OriginCharge>(*node->origin);
  ASSERT_EQ(schema->names[9], "ListUnitPrice");
  schema->texts.push_back("0.52");
  origin->cells[9] = static_cast<std::uint32_t>(schema->texts.size() - 1);
  origin->schema = schema;
  node->origin = origin;
  rows = focus_rows(result_to_focus(run(allocation), allocation));
  EXPECT_EQ(column(rows, "ListUnitPrice"), (Texts{"0.52", "0.52"}));
}

TEST(RenderMarkdown, WorkedExample) {
  EXPECT_EQ(result_to_markdown(run(allocation_from_spec(parse_json(kSpec)))), kExpectedMarkdown);
}

TEST(RenderMarkdown, GovernanceSections) {
  EXPECT_EQ(result_to_markdown(run(allocation_from_spec(parse_json(kGovernanceSpec)))), kExpectedGovernance);
}

TEST(RenderMarkdown, EscapesPipesBackslashesHtmlAndLineBreaks) {
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p|1", "cost": "1234567.89"}],
 "records": [{"tags": {"team": "a|b\\c<script>\r\nd"}, "measures": {"w": 1}}],
 "steps": [{"id": "s", "strategy": "proportional", "pool": "p|1", "group_by": ["team"], "weight": "w"}]})";
  EXPECT_EQ(result_to_markdown(run(allocation_from_spec(parse_json(spec)))),
            R"(## Step s: pool p\|1

| kind | team | cost (USD) | cost share |
|---|---|---:|---:|
| allocated | a\|b\\c\<script><br>d | 1,234,567.89 | 100.00% |
| **total** | | **1,234,567.89** | **100.00%** |

- coverage: 100.00% of the pool allocated
)");
}

// The same spec with its records in the opposite order renders the same bytes, every time.
TEST(RenderFormats, Deterministic) {
  Allocation a = allocation_from_spec(parse_json(kSpec));
  Allocation b = a;
  std::reverse(b.records.begin(), b.records.end());
  const Result ra = run(a), rb = run(b);
  EXPECT_EQ(result_to_focus(ra, a), result_to_focus(rb, b));
  EXPECT_EQ(result_to_focus(ra, a), result_to_focus(ra, a));
  EXPECT_EQ(result_to_markdown(ra), result_to_markdown(rb));
  EXPECT_EQ(result_to_markdown(ra), result_to_markdown(ra));
}

// A result with no split step: a header and no rows; no lines at all: empty markdown.
TEST(RenderFormats, NothingToRender) {
  const std::string spec = R"({"apportion": 1, "pools": [], "records": [], "steps": []})";
  const Allocation allocation = allocation_from_spec(parse_json(spec));
  const Result result = run(allocation);
  EXPECT_EQ(result_to_focus(result, allocation),
            "BillingCurrency,ChargeCategory,ResourceId,Tags,BilledCost,EffectiveCost,AllocatedMethodId,"
            "AllocatedMethodDetails,AllocatedResourceId,AllocatedResourceName,AllocatedTags,x_StepId,x_LineKind,x_PoolId\r\n");
  EXPECT_EQ(result_to_markdown(result), "");
}

}  // namespace

// --format prometheus: gauges Prometheus reads (docs/output-formats.md, "prometheus").
TEST(RenderPrometheus, GovernanceSpec) {
  EXPECT_EQ(result_to_prometheus(run(allocation_from_spec(parse_json(kGovernanceSpec)))),
            R"(# HELP apportion_pool_cost What a pool costs, in the currency label's units (under a series, in each bucket).
# TYPE apportion_pool_cost gauge
apportion_pool_cost{pool="node",currency="USD"} 1000.00
# HELP apportion_allocated_cost The cost of a step's allocated lines, in the currency label's units, one per line.
# TYPE apportion_allocated_cost gauge
apportion_allocated_cost{step="teams",pool="node",currency="USD",team="a"} 750.00
apportion_allocated_cost{step="teams",pool="node",currency="USD",team="b"} 250.00
# HELP apportion_coverage_ratio The share of a step's pool not on unallocated lines.
# TYPE apportion_coverage_ratio gauge
apportion_coverage_ratio{step="teams"} 1.000000
# HELP apportion_budget_spend A budget's spend so far, in the currency label's units.
# TYPE apportion_budget_spend gauge
apportion_budget_spend{budget="a-june",currency="USD",team="a"} 750.00
# HELP apportion_budget_amount A budget's amount for its period, in the currency label's units.
# TYPE apportion_budget_amount gauge
apportion_budget_amount{budget="a-june",currency="USD",team="a"} 1000.00
# HELP apportion_budget_ratio A budget's spend over its amount.
# TYPE apportion_budget_ratio gauge
apportion_budget_ratio{budget="a-june",team="a"} 0.750000
# HELP apportion_budget_forecast A budget's spend at its period's end at the run rate so far, in the currency label's units.
# TYPE apportion_budget_forecast gauge
apportion_budget_forecast{budget="a-june",currency="USD",team="a"} 1500.00
)");
}

TEST(RenderPrometheus, TagsBecomeLabelNamesByPrometheussRules) {
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "10"}],
    "records": [{"tags": {"cost-center": "a\"b\\c", "step": "x", "9lives": "y", "__name__": "z"}, "measures": {"w": 1}},
                {"tags": {"cost-center": "line\nbreak", "step": "x", "9lives": "y", "__name__": "z"}, "measures": {"w": 3}}],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["cost-center", "step", "9lives", "__name__"],
               "weight": "w"}]})";
  const std::string text = result_to_prometheus(run(allocation_from_spec(parse_json(spec))));
  EXPECT_NE(text.find(R"(apportion_allocated_cost{step="s",pool="p",currency="USD",_9lives="y",tag___name__="z",)"
                      R"(cost_center="a\"b\\c",tag_step="x"} 2.50)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(cost_center="line\nbreak",tag_step="x"} 7.50)"), std::string::npos) << text;
  const std::string clash = R"({"apportion": 1, "pools": [{"id": "p", "cost": "10"}],
    "records": [{"tags": {"cost-center": "a", "cost_center": "b"}, "measures": {"w": 1}}],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["cost-center", "cost_center"], "weight": "w"}]})";
  try {
    result_to_prometheus(run(allocation_from_spec(parse_json(clash))));
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "prometheus output: tags \"cost-center\" and \"cost_center\" of a line of step \"s\" both make "
                           "the label cost_center; rename one");
  }
}

TEST(RenderPrometheus, UnderASeriesEachBucketIsASample) {
  const std::string spec = R"({"apportion": 1,
    "series": {"start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "step": "1d"},
    "pools": [{"id": "p", "cost": "20"}],
    "records": [{"tags": {"team": "a"}, "start": "2026-06-01T00:00:00Z", "end": "2026-06-03T00:00:00Z", "measures": {"w": 2}}],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "w"}],
    "statements": [{"id": "teams", "group_by": ["team"]}]})";
  const std::string text = result_to_prometheus(run(allocation_from_spec(parse_json(spec))));
  for (const char* day : {"01", "02"}) {
    const std::string bucket = std::string("bucket_start=\"2026-06-") + day + "T00:00:00Z\",bucket_end=\"2026-06-0" +
                               std::to_string(day[1] - '0' + 1) + "T00:00:00Z\"";
    EXPECT_NE(text.find("apportion_pool_cost{pool=\"p\"," + bucket + ",currency=\"USD\"} 10.00"), std::string::npos) << text;
    EXPECT_NE(text.find("apportion_allocated_cost{step=\"s\",pool=\"p\"," + bucket + ",currency=\"USD\",team=\"a\"} 10.00"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("apportion_statement_cost{statement=\"teams\"," + bucket + ",currency=\"USD\",team=\"a\"} 10.00"),
              std::string::npos)
        << text;
  }
}
