// The `focus` ingest format: FOCUS 1.x billing exports summed into pools.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"
#include "ingest_support.hpp"

namespace {

using namespace apportion;

std::string read_file(const std::string& path) { return ingest_test::read_data(path); }

std::string excerpt() { return read_file("focus/focus-excerpt.csv"); }

IngestResult ingest(const std::string& text, const std::string& options_json) {
  return ingest_test::ingest("focus", text, options_json);
}
std::string error_of(const std::string& text, const std::string& options_json) {
  return ingest_test::error_of("focus", text, options_json);
}

const Pool* find_pool(const IngestResult& r, const std::string& id) {
  for (const Pool& p : r.pools)
    if (p.id == id) return &p;
  return nullptr;
}

Decimal cost_of(const Pool& p) { return std::get<CostSource>(p.source).cost; }

const std::string kAzureMl =
    "/subscriptions/64e355d7-997c-491d-b0c1-8414dccfcf42/resourcegroups/devtestlab/providers/"
    "microsoft.machinelearningservices/workspaces/zmltestplayground";

TEST(IngestFocus, SumsRowsIntoPoolsByResourceId) {
  const IngestResult r = ingest(excerpt(), "{}");
  ASSERT_EQ(r.pools.size(), 12u);  // 20 rows, 12 distinct resources (NULL ones as "unassigned")
  EXPECT_EQ(r.pools[0].id, "arn:ats:sqs:us-test-2:347410479675:mibelllmel-i-032l64f2065481b12");  // first seen first
  EXPECT_EQ(cost_of(r.pools[0]), Decimal::parse("0.0000008"));
  EXPECT_EQ(r.pools[0].currency->code(), "USD");

  const Pool* ec2 = find_pool(r, "i-037929a54982e113l");
  ASSERT_NE(ec2, nullptr);
  EXPECT_EQ(cost_of(*ec2), Decimal::parse("0.0116089867"));
  // The JSON Tags column: all three rows agree on every pair.
  EXPECT_EQ(ec2->tags, (Tags{{"application", "EasyLogicPlus"}, {"business_unit", "SpokaneDesign"}, {"environment", "prod"}}));

  // Credits are negative; a pair only one row has (" org") is not a pool tag.
  const Pool* ml = find_pool(r, kAzureMl);
  ASSERT_NE(ml, nullptr);
  EXPECT_EQ(cost_of(*ml), Decimal::parse("-0.16189755575"));
  EXPECT_EQ(ml->tags, (Tags{{"ComputeType", "Compute Instance"}, {"CostAllocationTest", "Sameer"}}));

  // NULL ResourceId rows: one pool, rows with NULL Tags disagree with the others.
  const Pool* none = find_pool(r, "unassigned");
  ASSERT_NE(none, nullptr);
  EXPECT_EQ(cost_of(*none), Decimal::parse("0.0000351603"));
  EXPECT_TRUE(none->tags.empty());
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.skipped, 0u);
}

TEST(IngestFocus, CostColumnPoolByAndColumnTags) {
  const IngestResult r = ingest(excerpt(), R"({"cost": "EffectiveCost", "pool_by": "ProviderName,ServiceName",
                                               "tags": "RegionId"})");
  const Pool* ml = find_pool(r, "Microsoft/Azure Machine Learning");
  ASSERT_NE(ml, nullptr);
  EXPECT_EQ(cost_of(*ml), Decimal::parse("-0.16189755575"));
  const Pool* ec2 = find_pool(r, "AWS/Amazon Elastic Compute Cloud");
  ASSERT_NE(ec2, nullptr);
  EXPECT_EQ(cost_of(*ec2), Decimal::parse("0"));  // EffectiveCost is 0 on these rows
  // Rows in two regions: RegionId is not a pool tag. The Tags pairs disagree as well.
  EXPECT_FALSE(ec2->tags.contains("RegionId"));
  const Pool* sqs = find_pool(r, "AWS/Amazon Simple Queue Service");
  ASSERT_NE(sqs, nullptr);
  EXPECT_EQ(sqs->tags, (Tags{{"RegionId", "us-west-2"}}));
}

TEST(IngestFocus, PeriodFilterTreatsZonelessTimestampsAsUtc) {
  const IngestResult r = ingest(excerpt(), R"({"pool_by": ["ResourceId"], "period_start": "2024-09-05T04:00:00Z",
                                               "period_end": "2024-09-21T10:00:00Z"})");
  const Pool* ec2 = find_pool(r, "i-037929a54982e113l");
  ASSERT_NE(ec2, nullptr);
  // 2024-09-05 04:00:00 is in (start inclusive), 2024-09-21 10:00:00 is out (end exclusive).
  EXPECT_EQ(cost_of(*ec2), Decimal::parse("0.0116"));
  EXPECT_EQ(find_pool(r, "vom-09l113e4e879a4636"), nullptr);  // 2024-09-01: before the period
  // The rows left out are told: 13 of the 20 charge a period outside the filter.
  EXPECT_EQ(r.rows, 20u);
  EXPECT_EQ(r.warnings, (std::vector<std::string>{"sample.txt: 13 of 20 rows charge a period outside "
                                                  "[2024-09-05T04:00:00Z, 2024-09-21T10:00:00Z) and are left out"}));
}

TEST(IngestFocus, BadRowsAndSkipInvalid) {
  const std::string text =
      "BilledCost,BillingCurrency,ResourceId,Tags\n"
      "1.5,USD,a,NULL\n"
      "oops,USD,a,NULL\n"
      "2,EUR,a,NULL\n"
      "NULL,USD,b,NULL\n"
      "3,XYZ,b,NULL\n"
      "4,USD,b,\"{\"\"k\"\": 1\"\n"
      "5,USD,c,\"[1]\"\n"
      "0.25,USD,a,\"{\"\"team\"\": \"\"x\"\"}\"\n";
  EXPECT_EQ(error_of(text, "{}"), "sample.txt line 3: BilledCost: not a decimal number (got \"oops\")");
  const IngestResult r = ingest(text, R"({"skip_invalid": "true"})");
  ASSERT_EQ(r.pools.size(), 1u);  // b and c were only ever created by refused rows
  EXPECT_EQ(r.pools[0].id, "a");
  EXPECT_EQ(cost_of(r.pools[0]), Decimal::parse("1.75"));
  EXPECT_TRUE(r.pools[0].tags.empty());  // the first row has no Tags
  EXPECT_EQ(r.skipped, 6u);
  EXPECT_EQ(r.skipped_reasons[1], "sample.txt line 4: BillingCurrency: pool \"a\" mixes USD and EUR");
  EXPECT_EQ(r.skipped_reasons[2], "sample.txt line 5: BilledCost: empty (NULL); a cost is needed for every row");
  EXPECT_EQ(r.skipped_reasons[3], "sample.txt line 6: BillingCurrency: not an ISO 4217 currency code (got \"XYZ\")");
  EXPECT_EQ(r.skipped_reasons[4].rfind("sample.txt line 7: Tags: not JSON (", 0), 0u);
  EXPECT_EQ(r.skipped_reasons[5], "sample.txt line 8: Tags: not a JSON object");
}

TEST(IngestFocus, OptionErrors) {
  EXPECT_EQ(error_of(excerpt(), R"({"cost": "Cost"})"),
            "inputs[0].cost: must be BilledCost, EffectiveCost, ListCost or ContractedCost (got \"Cost\")");
  EXPECT_EQ(error_of(excerpt(), R"({"pool_by": "Team"})"), "sample.txt line 1: no column \"Team\" (named by pool_by) in the header");
  EXPECT_EQ(error_of("BilledCost\n1\n", "{}"),
            "sample.txt line 1: no column \"BillingCurrency\" (named by the FOCUS format) in the header");
}

TEST(IngestFocus, FullSampleFile) {
  // The real export in ../shared beside the project, when there is one (as in CI).
  const std::string path = std::string(APPORTION_TEST_DATA) + "/../../../shared/data/focus/focus-1.0-sample.csv";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not here";
  const std::string text = read_file("../../../shared/data/focus/focus-1.0-sample.csv");
  const IngestResult r = ingest(text, R"({"tags": ["ServiceName"]})");
  Decimal total;
  for (const Pool& p : r.pools) {
    total += cost_of(p);
    EXPECT_EQ(p.currency->code(), "USD");
  }
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(total, Decimal::parse("20.52022672899"));
  EXPECT_EQ(r.pools.size(), 843u);
  // ContractedCost is NULL on some rows: an error naming the first of them, never a zero.
  EXPECT_EQ(error_of(text, R"({"cost": "ContractedCost"})"),
            "sample.txt line 927: ContractedCost: empty (NULL); a cost is needed for every row");
}

// Each pool keeps its origin charge, the bill's columns as its rows give them, for FOCUS
// output: dimensions the rows agree on (else null), the earliest start and latest end,
// costs and quantities summed (null rows counting as nothing, a quantity only in one unit).
const std::string kOriginBill =
    "BilledCost,EffectiveCost,ListCost,BillingCurrency,ChargeCategory,ChargePeriodStart,ChargePeriodEnd,"
    "ConsumedQuantity,ConsumedUnit,ListUnitPrice,ResourceId,ServiceName,SubAccountId,Tags,x_Custom,AllocatedMethodId\n"
    "10.00,9.00,12.50,USD,Usage,2026-06-02 00:00:00,2026-06-03 00:00:00,24,Hours,0.52,node-1,GPU,acct-1,"
    "\"{\"\"cluster\"\":\"\"c1\"\"}\",x,\n"
    "5.25,5.25,6.125,USD,Usage,2026-06-01T00:00:00Z,2026-06-02T00:00:00Z,12,Hours,0.52,node-1,GPU,acct-2,"
    "\"{\"\"cluster\"\":\"\"c1\"\"}\",y,\n"
    "0.80,0.80,0.80,USD,Tax,2026-06-01 00:00:00,2026-06-03 00:00:00,NULL,NULL,NULL,node-1,GPU,acct-1,"
    "\"{\"\"cluster\"\":\"\"c1\"\"}\",x,m\n"
    "1.00,1.00,n/a,USD,Usage,NULL,2026-06-02 00:00:00,1,Hours,1,node-2,GPU,acct-1,NULL,,\n"
    "2.00,2.00,2.00,USD,Usage,2026-06-01 00:00:00,2026-06-02 00:00:00,2,Minutes,1,node-2,GPU,acct-1,NULL,,\n";

std::map<std::string, std::string> origin_text(const Pool& pool) {
  std::map<std::string, std::string> out;
  const OriginCharge& o = *pool.origin;
  for (std::size_t c = 0; c < o.schema->names.size(); ++c)
    if (const auto amount = o.amount(c))
      out[o.schema->names[c]] = std::string("=").append(amount->to_string());
    else
      out[o.schema->names[c]] = std::string(o.value(c).value_or("null"));
  return out;
}

TEST(IngestFocus, PoolsKeepTheirOriginCharge) {
  const IngestResult r = ingest(kOriginBill, "{}");
  ASSERT_EQ(r.pools.size(), 2u);
  const Pool& node1 = r.pools[0];
  ASSERT_TRUE(node1.origin);
  EXPECT_EQ(node1.origin->schema->cost_column, "BilledCost");
  EXPECT_EQ(node1.origin->schema, r.pools[1].origin->schema);  // one schema for the bill
  EXPECT_EQ(node1.origin->currency.code(), "USD");
  const std::vector<std::string>& names = node1.origin->schema->names;
  // Tags is the pool's tags; Allocated* columns are written afresh by the output.
  EXPECT_EQ(names, (std::vector<std::string>{"BilledCost", "EffectiveCost", "ListCost", "BillingCurrency",
                                             "ChargeCategory", "ChargePeriodStart", "ChargePeriodEnd",
                                             "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "ResourceId",
                                             "ServiceName", "SubAccountId", "x_Custom"}));
  EXPECT_EQ(origin_text(node1), (std::map<std::string, std::string>{
                                    {"BilledCost", "=16.05"},
                                    {"EffectiveCost", "=15.05"},
                                    {"ListCost", "=19.425"},
                                    {"BillingCurrency", "USD"},
                                    {"ChargeCategory", "null"},                       // Usage and Tax
                                    {"ChargePeriodStart", "2026-06-01T00:00:00Z"},    // the earliest, as written
                                    {"ChargePeriodEnd", "2026-06-03 00:00:00"},       // the latest, first seen
                                    {"ConsumedQuantity", "=36"},                      // the tax row has none
                                    {"ConsumedUnit", "Hours"},                        // the unit of the rows that have one
                                    {"ListUnitPrice", "null"},                        // 0.52 and null
                                    {"ResourceId", "node-1"},
                                    {"ServiceName", "GPU"},
                                    {"SubAccountId", "null"},
                                    {"x_Custom", "null"}}));
  const std::vector<OriginSchema::Kind>& kinds = node1.origin->schema->kinds;
  EXPECT_EQ(kinds[0], OriginSchema::Kind::cost);
  EXPECT_EQ(kinds[7], OriginSchema::Kind::summable);
  EXPECT_EQ(kinds[9], OriginSchema::Kind::price);  // a unit price does not add up
  EXPECT_EQ(kinds[11], OriginSchema::Kind::dimension);

  // node-2: hours and minutes do not add up; an unreadable ListCost and a NULL period start
  // leave those columns null, and the rows are still read (they are not what the pool costs).
  const auto node2 = origin_text(r.pools[1]);
  EXPECT_EQ(cost_of(r.pools[1]), Decimal::parse("3.00"));
  EXPECT_EQ(node2.at("ConsumedQuantity"), "null");
  EXPECT_EQ(node2.at("ConsumedUnit"), "null");
  EXPECT_EQ(node2.at("ListCost"), "null");
  EXPECT_EQ(node2.at("ChargePeriodStart"), "null");
  EXPECT_EQ(node2.at("ChargePeriodEnd"), "2026-06-02 00:00:00");
  EXPECT_EQ(node2.at("x_Custom"), "null");  // empty on both rows: null
  EXPECT_EQ(node2.at("ListUnitPrice"), "1");

  // With another cost column, that is the one the pool's cost is the sum of.
  EXPECT_EQ(ingest(kOriginBill, R"({"cost": "EffectiveCost"})").pools[0].origin->schema->cost_column, "EffectiveCost");
}

}  // namespace
