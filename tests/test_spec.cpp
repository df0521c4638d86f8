// The spec runner: every bad input is SpecError whose message begins with the JSON path of
// the offending value (or "line L, column C" for text that is not JSON), and numbers are
// read exactly from their text.

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"

namespace {

using namespace apportion;

// A valid spec with one proportional step; `extra` is spliced in as more top-level keys.
std::string spec_with(const std::string& pools, const std::string& records, const std::string& steps,
                      const std::string& extra = "") {
  return R"({"apportion": 1, "pools": )" + pools + R"(, "records": )" + records + R"(, "steps": )" + steps + extra + "}";
}

const std::string kPools = R"([{"id": "p", "cost": "10"}])";
const std::string kRecords = R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": 5}}])";
const std::string kSteps = R"([{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}])";

std::string step_with(const std::string& body) { return "[{\"id\": \"s\", \"pool\": \"p\", " + body + "}]"; }

// The message of the SpecError `text` raises, or a note that it raised none.
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

struct BadInput {
  const char* name;
  std::string text;
  std::string prefix;  // the message must begin with prefix + ": "
};

// Keeps CTest's listing readable: the case's name, not its bytes.
void PrintTo(const BadInput& c, std::ostream* os) { *os << c.name; }

class SpecErrors : public ::testing::TestWithParam<BadInput> {};

TEST_P(SpecErrors, MessageBeginsWithThePath) {
  const BadInput& c = GetParam();
  const std::string message = error_of(c.text);
  EXPECT_EQ(message.substr(0, c.prefix.size() + 2), c.prefix + ": ") << "full message: " << message;
}

const std::string kCatalog =
    R"(, "catalog": {"skus": [{"id": "gpu/x", "unit": "gpu_hour", "prices": [{"rate": "2.00"}]}]})";

INSTANTIATE_TEST_SUITE_P(
    Paths, SpecErrors,
    ::testing::Values(
        // unknown keys, at every level
        BadInput{"UnknownTopLevelKey", spec_with(kPools, kRecords, kSteps, R"(, "colour": "blue")"), "colour"},
        BadInput{"UnknownStepKey", spec_with(kPools, kRecords, step_with(R"("strategy": "proportional", "group_by": ["team"], "weight": "w", "wieght": "x")")), "steps[0].wieght"},
        BadInput{"UnknownStrategyOption", spec_with(kPools, kRecords, step_with(R"("strategy": "per_tenant", "cache": "tenant")")), "steps[0].cache"},
        BadInput{"UnknownNestedOption", spec_with(kPools, kRecords, step_with(R"("strategy": "per_namespace", "overhead": {"polcy": "separate"})")), "steps[0].overhead.polcy"},
        BadInput{"UnknownIdleOption", spec_with(kPools, kRecords, step_with(R"("strategy": "per_namespace", "idle": {"capacity": 5, "polcy": "separate"})")), "steps[0].idle.polcy"},
        BadInput{"UnknownTokenWeight", spec_with(kPools, kRecords, step_with(R"("strategy": "per_token", "token_weights": {"promt": 1})")), "steps[0].token_weights.promt"},
        BadInput{"UnknownAssignKey", spec_with(kPools, kRecords, step_with(R"("strategy": "per_namespace", "idle": {"capacity": 5, "policy": {"assign": {"namespace": "a"}, "x": 1}})")), "steps[0].idle.policy.x"},
        BadInput{"UnknownRecordKey", spec_with(kPools, R"([{"tags": {}, "measure": {}}])", kSteps), "records[0].measure"},
        BadInput{"UnknownPoolKey", spec_with(R"([{"id": "p", "cost": 1, "costs": 2}])", kRecords, kSteps), "pools[0].costs"},
        BadInput{"UnknownPriceKey", spec_with(R"([{"id": "p", "price": {"sku": "gpu/x", "quantity": 1, "teir": "spot"}}])", kRecords, kSteps, kCatalog), "pools[0].price.teir"},
        BadInput{"UnknownCatalogKey", spec_with(kPools, kRecords, kSteps, R"(, "catalog": {"skus": [{"id": "g", "unit": "hour", "prices": [], "unti": 1}]})"), "catalog.skus[0].unti"},
        BadInput{"UnknownShareKey", spec_with(kPools, kRecords, step_with(R"("strategy": "fixed", "shares": [{"tags": {}, "share": 1, "shares": 1}])")), "steps[0].shares[0].shares"},
        BadInput{"OddKeyIsQuoted", spec_with(kPools, kRecords, kSteps, R"(, "a b": 1)"), R"(["a b"])"},
        // wrong types
        BadInput{"VersionAsString", R"({"apportion": "1", "pools": [], "records": [], "steps": []})", "apportion"},
        BadInput{"VersionTwo", R"({"apportion": 2, "pools": [], "records": [], "steps": []})", "apportion"},
        BadInput{"PoolsNotAList", spec_with("{}", kRecords, kSteps), "pools"},
        BadInput{"TagValueNotString", spec_with(kPools, R"([{"tags": {"team": 7}}])", kSteps), "records[0].tags.team"},
        BadInput{"MeasureBoolean", spec_with(kPools, R"([{"tags": {}, "measures": {"gpu_seconds": true}}])", kSteps), "records[0].measures.gpu_seconds"},
        BadInput{"MeasuresNotObject", spec_with(kPools, R"([{"tags": {}, "measures": [1]}])", kSteps), "records[0].measures"},
        BadInput{"GroupByString", spec_with(kPools, kRecords, step_with(R"("strategy": "even", "group_by": "team")")), "steps[0].group_by"},
        BadInput{"GroupByEmpty", spec_with(kPools, kRecords, step_with(R"("strategy": "even", "group_by": [])")), "steps[0].group_by"},
        BadInput{"GroupByTwice", spec_with(kPools, kRecords, step_with(R"("strategy": "even", "group_by": ["team", "env", "team"])")), "steps[0].group_by[2]"},
        BadInput{"RateByTwice", spec_with(kPools, kRecords, step_with(R"("strategy": "per_token", "rate_by": ["model", "model"])")), "steps[0].rate_by[1]"},
        BadInput{"SelectNumber", spec_with(kPools, kRecords, step_with(R"("strategy": "even", "group_by": ["team"], "select": {"team": 1})")), "steps[0].select.team"},
        BadInput{"WeightNumber", spec_with(kPools, kRecords, step_with(R"("strategy": "proportional", "group_by": ["team"], "weight": 5)")), "steps[0].weight"},
        BadInput{"CurrencyNumber", spec_with(kPools, kRecords, kSteps, R"(, "currency": 840)"), "currency"},
        BadInput{"CurrencyUnknown", spec_with(kPools, kRecords, kSteps, R"(, "currency": "XYZ")"), "currency"},
        BadInput{"TimestampBad", spec_with(kPools, R"([{"tags": {}, "start": "yesterday"}])", kSteps), "records[0].start"},
        BadInput{"CachedPolicyBad", spec_with(kPools, kRecords, step_with(R"("strategy": "per_tenant", "cached": "free")")), "steps[0].cached"},
        BadInput{"TenantWeightBad", spec_with(kPools, kRecords, step_with(R"("strategy": "per_tenant", "weight": "gpu")")), "steps[0].weight"},
        BadInput{"BasisBad", spec_with(kPools, kRecords, step_with(R"("strategy": "weighted_split", "capacity": {"gpu": 1}, "basis": "min")")), "steps[0].basis"},
        BadInput{"PolicyBad", spec_with(kPools, kRecords, step_with(R"("strategy": "per_namespace", "overhead": {"policy": "spread"})")), "steps[0].overhead.policy"},
        BadInput{"CatalogString", spec_with(kPools, kRecords, kSteps, R"(, "catalog": "mine")"), "catalog"},
        // NaN, infinities, out of range, too many digits
        BadInput{"NaNString", spec_with(kPools, R"([{"tags": {}, "measures": {"gpu_seconds": "NaN"}}])", kSteps), "records[0].measures.gpu_seconds"},
        BadInput{"InfinityString", spec_with(R"([{"id": "p", "cost": "Infinity"}])", kRecords, kSteps), "pools[0].cost"},
        BadInput{"NegativeInfinityString", spec_with(R"([{"id": "p", "cost": "-Infinity"}])", kRecords, kSteps), "pools[0].cost"},
        BadInput{"NotANumberString", spec_with(R"([{"id": "p", "cost": "12 USD"}])", kRecords, kSteps), "pools[0].cost"},
        BadInput{"HexString", spec_with(R"([{"id": "p", "cost": "0x10"}])", kRecords, kSteps), "pools[0].cost"},
        BadInput{"Overflow", spec_with(R"([{"id": "p", "cost": 1e400}])", kRecords, kSteps), "pools[0].cost"},
        BadInput{"OverflowNegative", spec_with(kPools, R"([{"tags": {}, "measures": {"gpu_seconds": -1e400}}])", kSteps), "records[0].measures.gpu_seconds"},
        BadInput{"OverflowInList", spec_with(kPools, kRecords, step_with(R"("strategy": "even", "group_by": ["team", 1E+999])")), "steps[0].group_by[1]"},
        BadInput{"OverflowString", spec_with(R"([{"id": "p", "cost": "1e30"}])", kRecords, kSteps), "pools[0].cost"},
        BadInput{"ThirteenDigitsInCost", spec_with(R"([{"id": "p", "cost": "0.1234567890123"}])", kRecords, kSteps), "pools[0].cost"},
        BadInput{"ThirteenDigitsInRate", spec_with(kPools, kRecords, kSteps, R"(, "fx": [{"from": "EUR", "to": "USD", "rate": 1.0000000000001}])"), "fx[0].rate"},
        BadInput{"ThirteenDigitsInQuantity", spec_with(R"([{"id": "p", "price": {"sku": "gpu/x", "quantity": "1.0000000000001"}}])", kRecords, kSteps, kCatalog), "pools[0].price.quantity"},
        BadInput{"ThirteenDigitsInShare", spec_with(kPools, kRecords, step_with(R"("strategy": "fixed", "shares": [{"tags": {}, "share": "0.1000000000001"}])")), "steps[0].shares[0].share"},
        // negative values where only money may be negative
        BadInput{"NegativeMeasure", spec_with(kPools, R"([{"tags": {}, "measures": {"gpu_seconds": -5}}])", kSteps), "records[0].measures.gpu_seconds"},
        BadInput{"NegativeReserved", spec_with(kPools, R"([{"tags": {}, "reserved": {"cpu": "-1"}}])", kSteps), "records[0].reserved.cpu"},
        BadInput{"NegativeCount", spec_with(kPools, R"([{"tags": {}, "count": -1}])", kSteps), "records[0].count"},
        BadInput{"NegativeQuantity", spec_with(R"([{"id": "p", "price": {"sku": "gpu/x", "quantity": -1}}])", kRecords, kSteps, kCatalog), "pools[0].price.quantity"},
        BadInput{"NegativeCoefficient", spec_with(kPools, kRecords, step_with(R"("strategy": "proportional", "group_by": ["team"], "weight": {"gpu_seconds": -1})")), "steps[0].weight.gpu_seconds"},
        BadInput{"NegativeCapacity", spec_with(kPools, kRecords, step_with(R"("strategy": "weighted_split", "capacity": {"gpu": -8})")), "steps[0].capacity.gpu"},
        BadInput{"NegativeIdleCapacity", spec_with(kPools, kRecords, step_with(R"("strategy": "per_namespace", "idle": {"capacity": -1})")), "steps[0].idle.capacity"},
        BadInput{"NegativeShare", spec_with(kPools, kRecords, step_with(R"("strategy": "fixed", "shares": [{"tags": {}, "share": -0.5}])")), "steps[0].shares[0].share"},
        BadInput{"NegativeRate", spec_with(kPools, kRecords, kSteps, R"(, "catalog": {"skus": [{"id": "g", "unit": "hour", "prices": [{"rate": -1}]}]})"), "catalog.skus[0].prices[0].rate"},
        BadInput{"NegativeFx", spec_with(kPools, kRecords, kSteps, R"(, "fx": [{"from": "EUR", "to": "USD", "rate": -1}])"), "fx[0].rate"},
        BadInput{"ZeroFx", spec_with(kPools, kRecords, kSteps, R"(, "fx": [{"from": "EUR", "to": "USD", "rate": 0}])"), "fx[0].rate"},
        BadInput{"UtilizationAboveOne", spec_with(kPools, R"([{"tags": {}, "measures": {"utilization": 1.5}}])", kSteps), "records[0].measures.utilization"},
        BadInput{"CachedAbovePrompt", spec_with(kPools, R"([{"tags": {}, "measures": {"tokens_prompt": 5, "tokens_cached": 6}}])", kSteps), "records[0].measures.tokens_cached"},
        BadInput{"CachedWithoutPrompt", spec_with(kPools, R"([{"tags": {}}, {"tags": {}, "measures": {"tokens_cached": 1}}])", kSteps), "records[1].measures.tokens_cached"},
        // duplicates
        BadInput{"DuplicatePoolId", spec_with(R"([{"id": "p", "cost": 1}, {"id": "p", "cost": 2}])", kRecords, kSteps), "pools[1].id"},
        BadInput{"DuplicateStepId", spec_with(kPools, kRecords, R"([{"id": "s", "strategy": "even", "pool": "p", "group_by": ["team"]}, {"id": "s", "strategy": "even", "pool": "p", "group_by": ["team"]}])"), "steps[1].id"},
        BadInput{"DuplicateRecordId", spec_with(kPools, R"([{"id": "r", "tags": {}}, {"id": "r", "tags": {}}])", kSteps), "records[1].id"},
        BadInput{"DuplicateTopLevelKey", R"({"apportion": 1, "apportion": 1, "pools": [], "records": [], "steps": []})", "apportion"},
        BadInput{"DuplicateNestedKey", spec_with(kPools, R"([{"tags": {"team": "a", "team": "b"}}])", kSteps), "records[0].tags.team"},
        BadInput{"DuplicateKeyInList", spec_with(kPools, kRecords, R"([{"id": "s", "id": "t"}])"), "steps[0].id"},
        BadInput{"DuplicateShareTags", spec_with(kPools, kRecords, step_with(R"("strategy": "fixed", "shares": [{"tags": {"t": "a"}, "share": 0.1}, {"tags": {"t": "a"}, "share": 0.1}])")), "steps[0].shares"},
        BadInput{"DuplicateFx", spec_with(R"([{"id": "p", "cost": 1, "currency": "EUR"}])", kRecords, kSteps, R"(, "fx": [{"from": "EUR", "to": "USD", "rate": 1}, {"from": "EUR", "to": "USD", "rate": 2}])"), "pools[0].currency"},
        // references
        BadInput{"UnknownStrategy", spec_with(kPools, kRecords, step_with(R"("strategy": "per_nemaspace")")), "steps[0].strategy"},
        BadInput{"MissingStepPool", spec_with(kPools, kRecords, R"([{"id": "s", "strategy": "even", "group_by": ["team"]}])"), "steps[0]"},
        BadInput{"UnknownStepPool", spec_with(kPools, kRecords, R"([{"id": "s", "strategy": "even", "pool": "q", "group_by": ["team"]}])"), "steps[0].pool"},
        BadInput{"UnknownRecordPool", spec_with(kPools, R"([{"tags": {}, "pool": "q"}])", kSteps), "records[0].pool"},
        BadInput{"MissingGroupBy", spec_with(kPools, kRecords, step_with(R"("strategy": "even")")), "steps[0]"},
        BadInput{"MissingWeight", spec_with(kPools, kRecords, step_with(R"("strategy": "proportional", "group_by": ["team"])")), "steps[0]"},
        BadInput{"MissingTags", spec_with(kPools, R"([{"measures": {}}])", kSteps), "records[0]"},
        BadInput{"MissingPools", R"({"apportion": 1, "records": [], "steps": []})", "pools"},
        BadInput{"FromUnknownStep", spec_with(R"([{"id": "p", "cost": 1}, {"id": "q", "from": {"step": "nope"}}])", kRecords, kSteps), "pools[1].from.step"},
        BadInput{"FromLaterStep", spec_with(R"([{"id": "p", "cost": 1}, {"id": "q", "from": {"step": "t"}}])", kRecords, R"([{"id": "s", "strategy": "even", "pool": "q", "group_by": ["team"]}, {"id": "t", "strategy": "even", "pool": "p", "group_by": ["team"]}])"), "pools[1].from.step"},
        BadInput{"FromOwnStep", spec_with(R"([{"id": "q", "from": {"step": "s"}}])", kRecords, R"([{"id": "s", "strategy": "even", "pool": "q", "group_by": ["team"]}])"), "pools[0].from.step"},
        BadInput{"PricedRunWithPool", spec_with(kPools, R"([{"tags": {}, "pool": "p", "sku": "gpu/x"}])", kSteps, kCatalog), "records[0].pool"},
        BadInput{"PerExperimentWithPool", spec_with(kPools, kRecords, step_with(R"("strategy": "per_experiment")")), "steps[0].pool"},
        BadInput{"FixedWithGroupBy", spec_with(kPools, kRecords, step_with(R"("strategy": "fixed", "group_by": ["team"], "shares": [])")), "steps[0].group_by"},
        BadInput{"FixedWithSelect", spec_with(kPools, kRecords, step_with(R"("strategy": "fixed", "select": {"team": "a"}, "shares": [])")), "steps[0].select"},
        BadInput{"AssignWrongKeys", spec_with(kPools, R"([{"tags": {"namespace": "kube-system"}, "measures": {"gpu_seconds": 1}}, {"tags": {"namespace": "a"}, "measures": {"gpu_seconds": 1}}])", step_with(R"("strategy": "per_namespace", "overhead": {"policy": {"assign": {"team": "x"}}})")), "steps[0].overhead.policy.assign"},
        BadInput{"PhasesNotSummingToOne", spec_with(kPools, kRecords, step_with(R"("strategy": "per_token", "phases": {"prompt": 0.5, "generation": 0.6})")), "steps[0].phases"},
        BadInput{"SharesAboveOne", spec_with(kPools, kRecords, step_with(R"("strategy": "fixed", "shares": [{"tags": {"t": "a"}, "share": 0.6}, {"tags": {"t": "b"}, "share": 0.6}])")), "steps[0].shares"},
        BadInput{"CapacityWeighsNothing", spec_with(kPools, kRecords, step_with(R"("strategy": "weighted_split", "capacity": {"disk": 10})")), "steps[0].capacity"},
        BadInput{"UnitPrecisionBad", spec_with(kPools, kRecords, step_with(R"("strategy": "per_token", "unit_precision": "0.05")")), "steps[0].unit_precision"},
        // time
        BadInput{"RecordEndBeforeStart", spec_with(kPools, R"([{"tags": {}, "start": "2026-06-02T10:00:00Z", "end": "2026-06-02T09:00:00Z"}])", kSteps), "records[0].end"},
        BadInput{"TermEndBeforeStart", spec_with(R"([{"id": "p", "amortized": {"amount": 1, "term": {"start": "2027-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}}}])", kRecords, kSteps), "pools[0].amortized.term.end"},
        BadInput{"PriceEndBeforeStart", spec_with(R"([{"id": "p", "price": {"sku": "gpu/x", "quantity": 1, "start": "2026-06-02T10:00:00Z", "end": "2026-06-02T09:00:00Z"}}])", kRecords, kSteps, kCatalog), "pools[0].price.end"},
        BadInput{"PriceStartWithoutEnd", spec_with(R"([{"id": "p", "price": {"sku": "gpu/x", "quantity": 1, "start": "2026-06-02T10:00:00Z"}}])", kRecords, kSteps, kCatalog), "pools[0].price.end"},
        // precision, catalog, pool sources, currencies
        BadInput{"PrecisionNotPowerOfTen", spec_with(kPools, kRecords, kSteps, R"(, "precision": "0.03")"), "precision"},
        BadInput{"PrecisionZero", spec_with(kPools, kRecords, kSteps, R"(, "precision": 0)"), "precision"},
        BadInput{"PriceWithoutCatalog", spec_with(R"([{"id": "p", "price": {"sku": "gpu/x", "quantity": 1}}])", kRecords, kSteps), "pools[0].price.sku"},
        BadInput{"PriceUnknownSku", spec_with(R"([{"id": "p", "price": {"sku": "gpu/y", "quantity": 1}}])", kRecords, kSteps, kCatalog), "pools[0].price.sku"},
        BadInput{"PriceUnknownTier", spec_with(R"([{"id": "p", "price": {"sku": "gpu/x", "tier": "spot", "quantity": 1}}])", kRecords, kSteps, kCatalog), "pools[0].price.tier"},
        BadInput{"PoolWithoutSource", spec_with(R"([{"id": "p"}])", kRecords, kSteps), "pools[0]"},
        BadInput{"PoolWithTwoSources", spec_with(R"([{"id": "p", "cost": 1, "from": {"step": "s"}}])", kRecords, kSteps), "pools[0]"},
        BadInput{"PoolCurrencyWithoutRate", spec_with(R"([{"id": "p", "cost": 1, "currency": "EUR"}])", kRecords, kSteps), "pools[0].currency"},
        BadInput{"InputUnknownFormat",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "nope", "path": "x.csv"}])"),
                 "inputs[0].format"},
        BadInput{"InputMissingFile",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "csv", "path": "no-such-file.csv"}])"),
                 "inputs[0].path"},
        // Live sources (docs/ingest.md): checked before any address is asked.
        BadInput{"InputPathAndUrl",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "dcgm", "path": "x.json", "url": "http://p:9090"}])"),
                 "inputs[0].url"},
        BadInput{"InputUrlOfAFileFormat",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "sacct", "url": "http://p:9090"}])"),
                 "inputs[0].url"},
        BadInput{"InputUrlNotHttp",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "dcgm", "url": "ftp://p"}])"),
                 "inputs[0].url"},
        BadInput{"InputUrlWithoutWindow",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "dcgm", "url": "http://p:9090"}])"),
                 "inputs[0].url"},
        BadInput{"InputUrlTwoTokens",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "dcgm", "url": "http://p:9090", "bearer_token_env": "T", "bearer_token_file": "t"}])"),
                 "inputs[0].bearer_token_env"},
        BadInput{"InputUrlTooManyPoints",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "dcgm", "url": "http://p:9090", "start": 0, "end": 60, "max_points": 11001}])"),
                 "inputs[0].max_points"},
        BadInput{"InputUrlPrometheusJsonWithoutQuery",
                 spec_with(kPools, kRecords, kSteps, R"(, "inputs": [{"format": "prometheus-json", "url": "http://p:9090", "start": 0, "end": 60}])"),
                 "inputs[0].query"},
        // text that is not JSON: line and column (1-based) of the offending character
        BadInput{"NotJsonMissingValue", R"({"apportion": })", "line 1, column 15"},
        BadInput{"NotJsonNaNLiteral", R"({"apportion": NaN})", "line 1, column 15"},
        BadInput{"NotJsonSecondLine", "{\"apportion\": 1,\n  \"pools\": [}", "line 2, column 13"},
        BadInput{"NotJsonTrailingComma", "{\"apportion\": 1,\n}", "line 2, column 1"},
        BadInput{"NotJsonEmpty", "", "line 1, column 1"},
        BadInput{"NotJsonTrailingGarbage", R"({"apportion": 1} x)", "line 1, column 18"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return std::string(info.param.name); });

TEST(SpecErrors, NegativeMeasureMessageIsExactlyAsDocumented) {
  const std::string text = spec_with(kPools, R"([{"tags": {}}, {"tags": {}}, {"tags": {}}, {"tags": {}, "measures": {"gpu_seconds": "-5"}}])", kSteps);
  EXPECT_EQ(error_of(text), R"(records[3].measures.gpu_seconds: must not be negative (got "-5"))");
}

TEST(SpecErrors, SpecErrorPathMatchesMessage) {
  try {
    run_spec(spec_with(kPools, kRecords, step_with(R"("strategy": "per_namespace", "overhead": {"polcy": "separate"})")));
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "steps[0].overhead.polcy");
    // The nearest key the strategy asked for and did not find is the hint.
    EXPECT_EQ(std::string(e.what()), "steps[0].overhead.polcy: unknown key (did you mean \"policy\"?)");
  }
}

// ---- exactness ------------------------------------------------------------------------

Allocation read(const std::string& text) { return allocation_from_spec(parse_json(text)); }

Decimal cost_of(const Allocation& a, std::size_t i) { return std::get<CostSource>(a.pools.at(i).source).cost; }

TEST(SpecNumbers, ReadExactlyNeverThroughDouble) {
  const Allocation a = read(spec_with(
      R"([{"id": "a", "cost": 0.1}, {"id": "b", "cost": 1e-7}, {"id": "c", "cost": "1.5e-07"}, {"id": "d", "cost": 12345678901234567890123},
          {"id": "e", "cost": -2.5E+3}, {"id": "f", "cost": "-0.000000000001"}, {"id": "g", "cost": 1.000000000000e2}])",
      "[]", "[]"));
  EXPECT_EQ(cost_of(a, 0).raw(), static_cast<int128>(100'000'000'000));  // exactly 0.1
  EXPECT_EQ(cost_of(a, 1).raw(), static_cast<int128>(100'000));          // exactly 0.0000001
  EXPECT_EQ(cost_of(a, 2).raw(), static_cast<int128>(150'000));
  EXPECT_EQ(cost_of(a, 3).to_string(), "12345678901234567890123");
  EXPECT_EQ(cost_of(a, 4), Decimal(-2500));
  EXPECT_EQ(cost_of(a, 5).raw(), static_cast<int128>(-1));
  EXPECT_EQ(cost_of(a, 6), Decimal(100));
}

TEST(SpecNumbers, SeventeenDigitCostIsAnErrorButMeasuresRoundHalfEven) {
  // 0.30000000000000004 (a double's 0.1 + 0.2) has 17 fractional digits: as a pool cost it
  // is an error, never silently 0.3. Only measures, reserved, used and count round.
  const std::string cost17 = spec_with(R"([{"id": "p", "cost": 0.30000000000000004}])", "[]", "[]");
  EXPECT_EQ(error_of(cost17).rfind("pools[0].cost: ", 0), 0u) << error_of(cost17);
  const Allocation a = read(spec_with(kPools,
                                      R"([{"tags": {}, "measures": {"a": "0.0000000000005", "b": "0.0000000000015", "c": 0.1234567890125},
                                          "reserved": {"cpu": "1.00000000000050"}, "count": "2.0000000000005"}])",
                                      "[]"));
  const Record& r = a.records.at(0);
  EXPECT_EQ(r.measure("a").raw(), static_cast<int128>(0));
  EXPECT_EQ(r.measure("b").raw(), static_cast<int128>(2));
  EXPECT_EQ(r.measure("c"), Decimal::parse("0.123456789012"));
  EXPECT_EQ(r.reserved.at("cpu"), Decimal(1));
  EXPECT_EQ(*r.count, Decimal(2));
}

// The result's pools as "id=cost" pairs, read back through the library's own JSON reader.
std::vector<std::string> pools_of(const std::string& result_json) {
  std::vector<std::string> out;
  const Value doc = parse_json(result_json);  // kept alive: the loop below reads into it
  for (const Value& p : doc.find("pools")->items())
    out.push_back(p.find("id")->text() + "=" + p.find("cost")->text());
  return out;
}

TEST(SpecNumbers, PoolCostsRoundOnceHalfEvenAndPrintWithPrecisionDigits) {
  const std::string out = run_spec(spec_with(R"([{"id": "a", "cost": "0.125"}, {"id": "b", "cost": "0.135"}, {"id": "c", "cost": 2.5}])",
                                             "[]", "[]"));
  EXPECT_EQ(pools_of(out), (std::vector<std::string>{"a=0.12", "b=0.14", "c=2.50"}));
  EXPECT_NE(out.find(R"("precision": "0.01")"), std::string::npos) << out;
}

TEST(SpecNumbers, ValueTextIsKept) {
  const Value v = parse_json(R"({"a": 0.1, "b": 1e-7, "c": -0, "d": 18446744073709551616, "e": "x"})");
  ASSERT_TRUE(v.is(Value::Type::object));
  EXPECT_EQ(v.find("a")->text(), "0.1");
  EXPECT_EQ(v.find("b")->text(), "1e-7");
  EXPECT_EQ(Decimal::parse(v.find("c")->text()), Decimal{});
  EXPECT_EQ(v.find("d")->text(), "18446744073709551616");
  EXPECT_TRUE(v.find("e")->is(Value::Type::string));
}

// ---- accepted inputs --------------------------------------------------------------------

TEST(SpecReading, NamesAreNotOptionsAndDefaultsApply) {
  // Any name is allowed in tags, measures, reserved/used, capacity and weights.
  const Allocation a = read(spec_with(
      kPools, R"([{"tags": {"any key": "v"}, "measures": {"my.measure": 1}, "reserved": {"fpga": 1}, "used": {"fpga": 0}}])",
      step_with(R"("strategy": "weighted_split", "capacity": {"gpu": 1, "fpga": 2}, "weights": {"gpu": 1, "fpga": 3})")));
  EXPECT_EQ(a.currency.code(), "USD");
  EXPECT_FALSE(a.precision.has_value());
  EXPECT_EQ(a.records[0].measure("my.measure"), Decimal(1));
  EXPECT_EQ(a.records[0].origin, "records[0]");
  const auto* ws = dynamic_cast<const WeightedSplit*>(a.steps[0].strategy.get());
  ASSERT_NE(ws, nullptr);
  EXPECT_EQ(ws->weights().at("fpga"), Decimal(3));
}

TEST(SpecReading, TimestampsWithOffsetsAreUtc) {
  const Allocation a = read(spec_with(kPools, R"([{"tags": {}, "start": "2026-06-02T12:00:00+02:00", "end": "2026-06-02T10:00:00Z"}])", "[]"));
  EXPECT_EQ(*a.records[0].start, *a.records[0].end);
}

TEST(SpecReading, BuiltinCatalogAndJpyPrecision) {
  const std::string out = run_spec(R"({"apportion": 1, "currency": "JPY", "catalog": "builtin", "pools": [{"id": "p", "cost": 100.5}],
    "records": [], "steps": []})");
  EXPECT_NE(out.find(R"("precision": "1")"), std::string::npos) << out;
  EXPECT_EQ(pools_of(out), (std::vector<std::string>{"p=100"}));  // half-even
}

TEST(SpecReading, SameSpecSameBytes) {
  const std::string text = spec_with(kPools, R"([{"tags": {"team": "b"}, "measures": {"gpu_seconds": 1}}, {"tags": {"team": "a"}, "measures": {"gpu_seconds": 2}}])", kSteps);
  const std::string swapped = spec_with(kPools, R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": 2}}, {"tags": {"team": "b"}, "measures": {"gpu_seconds": 1}}])", kSteps);
  EXPECT_EQ(run_spec(text), run_spec(text));
  EXPECT_EQ(run_spec(text), run_spec(swapped));
}


// ---- Fast paths: parse_json's own reader, allocation_from_json's records -------------------

bool same_tree(const Value& a, const Value& b) {
  if (a.type() != b.type() || a.text() != b.text() || a.items().size() != b.items().size() ||
      a.members().size() != b.members().size())
    return false;
  for (std::size_t i = 0; i < a.items().size(); ++i)
    if (!same_tree(a.items()[i], b.items()[i])) return false;
  for (std::size_t i = 0; i < a.members().size(); ++i)
    if (a.members()[i].first != b.members()[i].first || !same_tree(a.members()[i].second, b.members()[i].second))
      return false;
  return true;
}

TEST(FastPaths, ParseJsonGivesTheTreeNlohmannGives) {
  // A \u escape anywhere sends the whole document to nlohmann's reader.
  for (const std::string& text : std::vector<std::string>{"1.50", "1E3", "1e+05", "-0", "-0.0", "0", "-12", "123456789012345678",
                                 "1234567890123456789012", "1e400x", "0.000001e-10", "1.5E-07", "true", "false", "null",
                                 R"("a\"b\\c\/d\n\t\r\b\f")", "[]", "{}", R"([1, [2, {}], {"a": [null]}])",
                                 R"(  {"a" :1 ,"b":[ ]}  )", R"({"k": {"x": "y", "z": 3.25}})"}) {
    SCOPED_TRACE(text);
    Value slow;
    try {
      slow = parse_json("[" + text + R"(, "\u0041"])").items()[0];
    } catch (const SpecError&) {
      EXPECT_THROW(parse_json(text), SpecError);
      continue;
    }
    EXPECT_TRUE(same_tree(parse_json(text), slow));
  }
}

// run_spec reads through allocation_from_json; the plain path must agree with it on every
// result and every error message.
std::string plain_run(const std::string& text) {
  try {
    return result_to_json(run(allocation_from_spec(parse_json(text))));
  } catch (const SpecError& e) {
    return std::string("error: ") + e.what();
  }
}
std::string fast_run(const std::string& text) {
  try {
    return run_spec(text);
  } catch (const SpecError& e) {
    return std::string("error: ") + e.what();
  }
}

TEST(FastPaths, AllocationFromJsonAgreesWithThePlainPath) {
  const std::string ok = R"({"tags": {"team": "a"}, "measures": {"gpu_seconds": 5}})";
  std::string many;
  for (int i = 0; i < 500; ++i)
    many += std::string(i ? ", " : "") + R"({"id": "r)" + std::to_string(i) + R"(", "tags": {"team": "t)" +
            std::to_string(i % 7) + R"(", "namespace": "n)" + std::to_string(i % 3) + R"("}, "measures": {"gpu_seconds": )" +
            std::to_string(i) + R"(, "x": ")" + std::to_string(i) + R"(.5"}})";
  for (const std::string& records : std::vector<std::string>{
           "[]", "[" + ok + "]", "[" + many + "]", "[" + ok + ", " + ok + "]",
        R"([{"tags": {"team": "a\"b\u00e9"}, "measures": {"gpu_seconds": "7.25"}}])",
        R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": -0, "x": 1.5E+3, "y": 0.1234567890123456789}}])",
        R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": -5}}])",
        R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": "-5"}}])",
        R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": "abc"}}])",
        R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": true}}])",
        R"([{"tags": {"team": "a"}, "measures": {"gpu_seconds": 1e400}}])",
        R"([{"tags": {"team": "a"}, "measures": {"utilization": 1.5}}])",
        R"([{"tags": {"team": "a"}, "measures": {"tokens_cached": 9, "tokens_prompt": 3}}])",
        R"([{"tags": {"team": "a"}, "measure": {"gpu_seconds": 5}}])", R"([{"measures": {"gpu_seconds": 5}}])",
        R"([{}])", R"([{"tags": {}}])", R"([{"tags": {"team": 5}}])", R"([5])",
        R"([{"tags": {"team": "a"}, "tags": {"team": "b"}}])", R"([{"tags": {"team": "a", "team": "b"}}])",
        R"([{"tags": {"team": "a"}, "measures": {"x": 1, "x": 2}}])",
        R"([{"id": "r", "tags": {"team": "a"}}, {"id": "r", "tags": {"team": "b"}}])",
        R"([{"id": 5, "tags": {"team": "a"}}])", R"([{"pool": "nope", "tags": {"team": "a"}}])",
        R"([{"pool": "p", "tags": {"team": "a"}, "measures": {"gpu_seconds": 3}}])",
        R"([{"tags": {"team": "a"}, "start": "2026-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}])",
        R"([{"tags": {"team": "a"}}, ])", "{}", "[" + ok + "] x"}) {
    SCOPED_TRACE(records);
    const std::string text = spec_with(kPools, records, kSteps);
    EXPECT_EQ(fast_run(text), plain_run(text));
  }
  // An error before the records, and a document that is not JSON at all.
  const std::string bad_pool = spec_with(R"([{"id": "p", "cost": "abc"}])", R"([{"tags": {"team": 5}}])", kSteps);
  EXPECT_EQ(fast_run(bad_pool), plain_run(bad_pool));
  EXPECT_EQ(fast_run(R"({"apportion": 1, )"), plain_run(R"({"apportion": 1, )"));
  const std::string twice = spec_with(kPools, "[" + ok + "]", kSteps, R"(, "records": [])");
  EXPECT_EQ(fast_run(twice), plain_run(twice));
}

// A long records list is read in parts, one per thread (cut between items at even shares
// of the text), and the parts merged in list order: the same records (order, origins,
// sums), result and first error as one pass and as the plain path, whatever the strings
// hold (brackets, commas, quotes and backslashes, across the scan's 64-byte blocks).
TEST(FastPaths, ALongRecordsListReadInPartsAgreesWithOnePass) {
  const auto records_with = [](std::vector<int> bad) {
    std::string records = "[";
    for (int i = 0; i < 60000; ++i) {
      if (i) records += i % 5 ? ", " : ",\n  ";
      std::string team = "t";
      team += std::to_string(i % 11);
      if (i % 97 == 0) team += R"(,]}[{ \"x\\)";  // bytes the scan must see as a string's
      records += '{';
      if (i % 1013 == 0) records.append(R"("id": "r)").append(std::to_string(i)).append(R"(", )");  // kept whole
      const bool is_bad = std::find(bad.begin(), bad.end(), i) != bad.end();
      const std::string seconds = is_bad ? "-5" : std::to_string(i % 1000);
      records += R"("tags": {"team": ")" + team + R"(", "pod": "p)" + std::to_string(i) +
                 R"("}, "measures": {"gpu_seconds": )" + seconds + "}}";
    }
    return records + "]";
  };
  struct Threads {  // the reading threads, for the test's span
    explicit Threads(unsigned n) : before(ingest::set_csv_threads(n)) {}
    ~Threads() { ingest::set_csv_threads(before); }
    unsigned before;
  };
  const std::string text = spec_with(kPools, records_with({}), kSteps);
  ASSERT_GT(text.size(), std::size_t{4} << 20);  // past the size read in parts (4 MiB)
  Allocation one, parts;
  {
    Threads t(1);
    one = allocation_from_json(text);
  }
  {
    Threads t(4);
    parts = allocation_from_json(text);
    EXPECT_EQ(fast_run(text), plain_run(text));
  }
  ASSERT_EQ(parts.records.size(), one.records.size());
  EXPECT_GT(one.records.size(), 11u);  // groups, and the records with ids
  for (std::size_t i = 0; i < one.records.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(parts.records[i].origin, one.records[i].origin);
    EXPECT_EQ(parts.records[i].id, one.records[i].id);
    EXPECT_EQ(parts.records[i].tags, one.records[i].tags);
    EXPECT_EQ(parts.records[i].measures, one.records[i].measures);
  }
  // A bad record late in the list, and one early with another late: the first is named.
  for (const std::vector<int>& bad : std::vector<std::vector<int>>{{59990}, {100, 59990}}) {
    const std::string bad_text = spec_with(kPools, records_with(bad), kSteps);
    Threads t(4);
    const std::string error = fast_run(bad_text);
    EXPECT_NE(error.find("records[" + std::to_string(bad.front()) + "]"), std::string::npos) << error;
    EXPECT_EQ(error, plain_run(bad_text));
  }
}

TEST(FastPaths, ExactSumCarriesPastTheDecimalRange) {
  const Decimal big = Decimal::from_raw(Decimal::max_raw() / 2 + 1);
  ExactSum sum;
  Rational expected = 0;
  for (int i = 0; i < 5; ++i) {
    sum.add(big);
    expected += big.to_rational();
  }
  sum.add(Rational(1, 3));
  expected += Rational(1, 3);
  EXPECT_EQ(sum.value(), expected);
}

}  // namespace

// Progress reports count the bytes and line breaks of each input file as it is read, end
// with one `done` report per file, and leave the result as it is without them; a callback
// that throws cancels the run.
TEST(SpecProgress, ReportsBytesAndLinesOfEachInput) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "apportion-progress-test";
  std::filesystem::create_directories(dir);
  std::string csv = "team,gpu_seconds\n";
  for (int i = 0; i < 20000; ++i) csv += (i % 2 ? "a," : "b,") + std::to_string(i) + "\n";
  std::ofstream(dir / "usage.csv", std::ios::binary) << csv;
  const std::string spec = spec_with(kPools, "[]", kSteps,
                                     R"(, "inputs": [{"format": "csv", "path": "usage.csv", "tags": ["team"],
                                         "measures": ["gpu_seconds"]}])");
  SpecOptions options;
  options.base_dir = dir;
  const std::string quiet = run_spec(spec, options);
  std::vector<InputProgress> reports;
  options.progress = [&](const InputProgress& p) { reports.push_back(p); };
  options.progress_interval = std::chrono::steady_clock::duration::zero();
  EXPECT_EQ(run_spec(spec, options), quiet);
  ASSERT_GE(reports.size(), 2u);  // 64 KiB blocks of a ~190 KB file, then done
  const InputProgress& last = reports.back();
  EXPECT_TRUE(last.done);
  EXPECT_EQ(last.path, "usage.csv");
  EXPECT_EQ(last.bytes, csv.size());
  EXPECT_EQ(last.total_bytes, csv.size());
  EXPECT_EQ(last.lines, 20001u);
  for (std::size_t i = 1; i < reports.size(); ++i) EXPECT_LE(reports[i - 1].bytes, reports[i].bytes);

  // A callback that throws cancels the run: the file is read once, not again by a fallback.
  struct Cancelled {};
  int calls = 0;
  options.progress = [&](const InputProgress&) {
    ++calls;
    throw Cancelled{};
  };
  EXPECT_THROW(run_spec(spec, options), Cancelled);
  EXPECT_EQ(calls, 1);
  std::filesystem::remove_all(dir);
}

// ---- Records as columns (RecordBatch) -----------------------------------------------------------

TEST(RecordBatches, ColumnsGiveWhatTheSameRecordsInlineGive) {
  // Three rows as a DataFrame would hand them over: codes into a dictionary per tag column
  // (-1: no tag), integers at a scale per measure column, a row without one.
  const std::vector<std::int32_t> teams{0, 1, 0, -1};
  const std::vector<std::int32_t> pods{0, 1, 2, 3};
  const std::vector<std::int64_t> seconds{3600, 1800, 900, 125};  // scale 1: 360.0, 180.0, 90.0, 12.5
  const std::vector<std::uint8_t> present{1, 1, 1, 1};
  RecordBatch batch;
  batch.rows = 4;
  batch.tags = {{"team", {"nlp", "cv"}, teams}, {"pod", {"a", "b", "c", "d"}, pods}};
  batch.measures = {{"gpu_seconds", seconds, 1, present}};
  SpecOptions options;
  options.batches = {batch};
  const std::string steps = R"("steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}]})";
  const std::string columns = R"({"apportion": 1, "pools": [{"id": "p", "cost": "10.00"}], "records": [], )" + steps;
  const std::string inline_records = R"({"apportion": 1, "pools": [{"id": "p", "cost": "10.00"}], "records": [
    {"tags": {"team": "nlp", "pod": "a"}, "measures": {"gpu_seconds": "360.0"}},
    {"tags": {"team": "cv", "pod": "b"}, "measures": {"gpu_seconds": "180.0"}},
    {"tags": {"team": "nlp", "pod": "c"}, "measures": {"gpu_seconds": "90.0"}},
    {"tags": {"pod": "d"}, "measures": {"gpu_seconds": "12.5"}}], )" + steps;
  EXPECT_EQ(run_spec(columns, options), run_spec(inline_records));
  // Read through the plan, the rows are summed per team: nlp's two rows are one record.
  const Allocation a = allocation_from_json(columns, options);
  ASSERT_EQ(a.records.size(), 3u);
  EXPECT_EQ(a.records[0].measures.at("gpu_seconds"), Decimal(450));
  EXPECT_EQ(a.records[0].origin, "batch row 0");
  options.plan_records = false;
  EXPECT_EQ(allocation_from_json(columns, options).records.size(), 4u);
  EXPECT_EQ(run_spec(columns, options), run_spec(inline_records));
}

TEST(RecordBatches, AColumnEncodedWhenReadIsEncodedOnlyWhenThePlanReadsItsKey) {
  // `pod` given as a column encoded when read: a step by team never encodes it (and names
  // it among the dropped tags); a step by pod, or records kept whole, encode it once.
  const std::vector<std::int32_t> teams{0, 1, 0};
  const std::vector<std::int32_t> pods{0, 1, 0};
  const std::vector<std::int64_t> seconds{1, 2, 3};
  int encodings = 0;
  const RecordBatch::TagColumn pod_codes{"pod", {"a", "b"}, pods};
  RecordBatch batch;
  batch.rows = 3;
  batch.tags = {{"team", {"nlp", "cv"}, teams}, {"pod", {}, {}, [&]() -> const RecordBatch::TagColumn& {
                   ++encodings;
                   return pod_codes;
                 }}};
  batch.measures = {{"gpu_seconds", seconds, 0, {}}};
  SpecOptions options;
  options.batches = {batch};
  const auto spec = [](const char* key) {
    return std::string(R"({"apportion": 1, "pools": [{"id": "p", "cost": "6.00"}], "records": [],
      "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": [")") + key +
           R"("], "weight": "gpu_seconds"}]})";
  };
  const Allocation by_team = allocation_from_json(spec("team"), options);
  EXPECT_EQ(encodings, 0);
  EXPECT_EQ(by_team.dropped_tags, std::vector<std::string>{"pod"});
  const std::string by_pod = run_spec(spec("pod"), options);
  EXPECT_EQ(encodings, 1);
  EXPECT_NE(by_pod.find(R"("pod": "a")"), std::string::npos);
  EXPECT_NE(by_pod.find(R"("cost": "4.00")"), std::string::npos);  // a: 1 + 3 of 6 seconds
  options.plan_records = false;
  const Allocation whole = allocation_from_json(spec("team"), options);
  EXPECT_EQ(encodings, 2);
  ASSERT_EQ(whole.records.size(), 3u);
  EXPECT_EQ(whole.records[1].tags.get("pod"), std::optional<std::string_view>("b"));
}

TEST(RecordBatches, BadColumnsAreErrorsNamingTheRow) {
  const std::vector<std::int32_t> codes{0, 2};
  const std::vector<std::int64_t> values{5, -1};
  RecordBatch batch;
  batch.rows = 2;
  batch.tags = {{"team", {"nlp", "cv"}, codes}};
  batch.measures = {{"gpu_seconds", values, 0, {}}};
  batch.source = "usage";
  SpecOptions options;
  options.batches = {batch};
  const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "10"}], "records": [],
    "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}]})";
  const auto error = [&] {
    try {
      run_spec(spec, options);
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error(), "usage row 1: team: code 2 is not below the dictionary's 2 values");
  options.batches[0].tags[0].dictionary.push_back("vision");
  EXPECT_EQ(error(), "usage row 1: gpu_seconds: must not be negative (got \"-1\")");
  const std::vector<std::int64_t> short_values{5};
  options.batches[0].measures[0].values = short_values;
  EXPECT_EQ(error(), "batches[0].measures[0]: has 1 values for 2 rows");
  // Rows the plan sums count as the records they become: two teams are two records.
  const std::vector<std::int32_t> two_teams{0, 1};
  const std::vector<std::int64_t> good_values{5, 1};
  options.batches[0].tags[0].codes = two_teams;
  options.batches[0].measures[0].values = good_values;
  options.limits.max_records = 2;
  EXPECT_EQ(error(), "no error");
  options.limits.max_records = 1;
  EXPECT_EQ(error().substr(0, 31), "batches: more than 1 records (w");
}

TEST(RecordBatches, SummedByCodesOrRowByRowTheResultIsTheSame) {
  // Random batches (absent tags, a dictionary with a value twice, missing measures, a
  // column no step reads): summed by the kept columns' codes, read row by row (the plan
  // off), the result is the same bytes.
  std::mt19937 gen(5);
  for (int round = 0; round < 30; ++round) {
    const std::size_t rows = 1 + gen() % 200;
    std::vector<std::int32_t> team(rows), pod(rows);
    std::vector<std::int64_t> seconds(rows), tokens(rows);
    std::vector<std::uint8_t> present(rows);
    for (std::size_t i = 0; i < rows; ++i) {
      team[i] = static_cast<std::int32_t>(gen() % 5) - 1;  // -1: no team
      pod[i] = static_cast<std::int32_t>(gen() % 50);
      seconds[i] = static_cast<std::int64_t>(gen() % 100000);
      tokens[i] = static_cast<std::int64_t>(gen() % 1000);
      present[i] = gen() % 4 != 0;
    }
    std::vector<std::string> pods;
    for (int i = 0; i < 50; ++i) pods.push_back("pod-" + std::to_string(i));
    RecordBatch batch;
    batch.rows = rows;
    batch.tags = {{"team", {"nlp", "cv", "nlp", "ads"}, team}, {"pod", pods, pod}};
    batch.measures = {{"gpu_seconds", seconds, 2, present}, {"tokens_prompt", tokens, 0, {}}};
    batch.pool = round % 2 ? std::optional<std::string>("p") : std::nullopt;
    SpecOptions planned;
    planned.batches = {batch};
    SpecOptions whole = planned;
    whole.plan_records = false;
    const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "1000.00"}], "records": [],
      "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}]})";
    ASSERT_EQ(run_spec(spec, planned), run_spec(spec, whole)) << "round " << round;
  }
}
