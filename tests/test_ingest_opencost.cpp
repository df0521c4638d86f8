// The `opencost` ingest format: OpenCost /allocation responses as records.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "apportion/apportion.hpp"
#include "apportion/json.hpp"
#include "ingest_support.hpp"

namespace {

using namespace apportion;

std::string read_file(const std::string& path) { return ingest_test::read_data(path); }

IngestResult ingest(const std::string& text, const std::string& options_json) {
  return ingest_test::ingest("opencost", text, options_json);
}
std::string error_of(const std::string& text, const std::string& options_json) {
  return ingest_test::error_of("opencost", text, options_json);
}

TEST(IngestOpenCost, AllocationsBecomeRecords) {
  const IngestResult r =
      ingest(read_file("opencost/allocation.json"), R"({"pool": "cluster-one"})");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.rows, 3u);  // allocations read
  const Record& a = r.records[0];
  EXPECT_EQ(a.id, "kubecost/cost-analyzer-7d9f8b6c5-x2x4z/cost-model");
  EXPECT_EQ(a.origin, "sample.txt data[0].kubecost/cost-analyzer-7d9f8b6c5-x2x4z/cost-model");
  EXPECT_EQ(a.tags, (Tags{{"cluster", "cluster-one"},
                          {"node", "gke-gpu-pool-1a2b"},
                          {"namespace", "kubecost"},
                          {"controller_kind", "deployment"},
                          {"controller", "cost-analyzer"},
                          {"pod", "cost-analyzer-7d9f8b6c5-x2x4z"},
                          {"container", "cost-model"},
                          {"app", "cost-analyzer"},
                          {"team", "platform"}}));
  EXPECT_EQ(a.pool, "cluster-one");
  EXPECT_EQ(a.measures.at("gpu_seconds"), Decimal(7200));
  EXPECT_EQ(a.measures.at("cpu_core_seconds"), Decimal(8640));
  EXPECT_EQ(a.measures.at("memory_gib_seconds"), Decimal(18000));  // 5 GiB-hours
  EXPECT_EQ(a.measures.at("opencost_total_cost"), Decimal::parse("3.217312"));
  // Each resource's cost, what OpenCost's idle sharing weighs by (zero ones are kept).
  EXPECT_EQ(a.measures.at("opencost_cpu_cost"), Decimal::parse("0.075984"));
  EXPECT_EQ(a.measures.at("opencost_gpu_cost"), Decimal::parse("3.1"));
  EXPECT_EQ(a.measures.at("opencost_ram_cost"), Decimal::parse("0.041328"));
  EXPECT_EQ(a.measures.at("opencost_pv_cost"), Decimal(0));
  EXPECT_EQ(a.measures.at("opencost_network_cost"), Decimal(0));
  EXPECT_EQ(a.measures.at("opencost_load_balancer_cost"), Decimal(0));
  EXPECT_EQ(a.start->to_string(), "2024-01-01T00:00:00Z");
  EXPECT_EQ(a.end->to_string(), "2024-01-02T00:00:00Z");

  const Record& b = r.records[1];
  // 0.016666666666666666 h x 3600 = 59.9999999999999976 s, rounded half-even once to 12 digits.
  EXPECT_EQ(b.measures.at("gpu_seconds"), Decimal(60));
  EXPECT_EQ(b.measures.at("cpu_core_seconds"), Decimal(1800));
  // 1000 byte-hours = 3600000 / 2^30 GiB-seconds = 0.0033527612686157...
  EXPECT_EQ(b.measures.at("memory_gib_seconds"), Decimal::parse("0.003352761269"));
  EXPECT_EQ(b.start->to_string(), "2024-01-01T10:00:00Z");
  EXPECT_EQ(b.tags.get("app_kubernetes_io_name"), "trainer");

  // Idle cost stays a record, tagged idle: it lands unallocated in steps grouping by namespace.
  const Record& idle = r.records[2];
  EXPECT_EQ(idle.id, "__idle__");
  EXPECT_EQ(idle.tags, (Tags{{"cluster", "cluster-one"}, {"idle", "true"}}));
  EXPECT_EQ(idle.measures.at("gpu_seconds"), Decimal(3600));
  EXPECT_EQ(idle.measures.at("memory_gib_seconds"), Decimal(0));
}

// A cost adjustment (OpenCost's reconciliation with the bill) adds to its resource's cost,
// and may be negative. A resource cost that is null (NaN in OpenCost), or that its adjustment
// makes negative, leaves that measure out, told once per field: it fails no allocation.
TEST(IngestOpenCost, ResourceCostsCarryTheirAdjustments) {
  const IngestResult r = ingest(R"({"code": 200, "data": [{"ns/p/c": {"name": "ns/p/c", "properties": {"namespace": "ns"},
      "cpuCost": 1.5, "cpuCostAdjustment": -0.25, "ramCost": 2, "gpuCost": 0.1, "gpuCostAdjustment": 0.2}}]})", "{}");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].measures.at("opencost_cpu_cost"), Decimal::parse("1.25"));
  EXPECT_EQ(r.records[0].measures.at("opencost_ram_cost"), Decimal(2));
  EXPECT_EQ(r.records[0].measures.at("opencost_gpu_cost"), Decimal::parse("0.3"));
  EXPECT_FALSE(r.records[0].measures.contains("opencost_pv_cost"));
  EXPECT_TRUE(r.warnings.empty());

  const IngestResult bad = ingest(R"({"code": 200, "data": [{
      "a": {"name": "a", "gpuHours": 1, "cpuCost": null, "ramCost": 1, "ramCostAdjustment": -2},
      "b": {"name": "b", "gpuHours": 2, "cpuCost": null, "gpuCost": 1, "gpuCostAdjustment": null}}]})", "{}");
  ASSERT_EQ(bad.records.size(), 2u);
  EXPECT_EQ(bad.records[0].measures.at("gpu_seconds"), Decimal(3600));
  EXPECT_FALSE(bad.records[0].measures.contains("opencost_cpu_cost"));
  EXPECT_FALSE(bad.records[0].measures.contains("opencost_ram_cost"));
  EXPECT_FALSE(bad.records[1].measures.contains("opencost_gpu_cost"));
  EXPECT_EQ(bad.warnings,
            (std::vector<std::string>{
                "2 allocations have a cpuCost that is null (NaN or infinity in OpenCost), not a number, or makes a negative "
                "cost: their resource cost measure is left out",
                "1 allocation has a gpuCostAdjustment that is null (NaN or infinity in OpenCost), not a number, or makes a "
                "negative cost: its resource cost measure is left out",
                "1 allocation has a ramCostAdjustment that is null (NaN or infinity in OpenCost), not a number, or makes a "
                "negative cost: its resource cost measure is left out"}));
}

// Idle is named "__idle__", or "<cluster>/__idle__" when OpenCost splits it by cluster or
// node: tagged idle, with no resource costs (idle is no resource's use).
TEST(IngestOpenCost, IdleByClusterIsIdleAndUsesNoResource) {
  const IngestResult r = ingest(R"({"code": 200, "data": [{"cluster1/__idle__": {"name": "cluster1/__idle__",
      "properties": {"cluster": "cluster1"}, "cpuCoreHours": 2, "cpuCost": 5, "ramCost": 15, "totalCost": 20}}]})", "{}");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].tags, (Tags{{"cluster", "cluster1"}, {"idle", "true"}}));
  EXPECT_EQ(r.records[0].measures.at("opencost_total_cost"), Decimal(20));
  EXPECT_FALSE(r.records[0].measures.contains("opencost_cpu_cost"));
  EXPECT_FALSE(r.records[0].measures.contains("opencost_ram_cost"));
}

TEST(IngestOpenCost, SeveralWindowsGetDistinctIds) {
  const std::string text = R"({"code": 200, "data": [
    {"ns/p/c": {"name": "ns/p/c", "properties": {"namespace": "ns"}, "start": "2024-01-01T00:00:00Z",
                "end": "2024-01-01T01:00:00Z", "gpuHours": 1}},
    {"ns/p/c": {"name": "ns/p/c", "properties": {"namespace": "ns"}, "start": "2024-01-01T01:00:00Z",
                "end": "2024-01-01T02:00:00Z", "gpuHours": 0.5}},
    null]})";
  const IngestResult r = ingest(text, "{}");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].id, "ns/p/c@2024-01-01T00:00:00Z");
  EXPECT_EQ(r.records[1].id, "ns/p/c@2024-01-01T01:00:00Z");
  EXPECT_EQ(r.records[1].origin, "sample.txt data[1].ns/p/c");
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(1800));
  EXPECT_FALSE(r.records[1].pool.has_value());
}

TEST(IngestOpenCost, BadValuesAreErrorsOrSkipped) {
  const std::string text = R"({"code": 200, "data": [{
    "a": {"properties": {"namespace": "a"}, "gpuHours": 1},
    "b": {"properties": {"namespace": "b"}, "gpuHours": null},
    "c": {"properties": {"namespace": "c"}, "gpuHours": "NaN"},
    "d": {"properties": {"namespace": "d"}, "cpuCoreHours": -1},
    "e": {"properties": {"namespace": 5}},
    "f": {"start": "yesterday"}}]})";
  EXPECT_EQ(error_of(text, "{}"), "sample.txt data[0].b.gpuHours: is null (NaN or infinity in OpenCost), not a number");
  const IngestResult r = ingest(text, R"({"skip_invalid": true})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].id, "a");
  EXPECT_EQ(r.skipped, 5u);
  EXPECT_EQ(r.rows, 6u);  // skipped allocations were read too
  EXPECT_EQ(r.skipped_reasons[1], "sample.txt data[0].c.gpuHours: not a number (got \"NaN\")");
  EXPECT_EQ(r.skipped_reasons[2], "sample.txt data[0].d.cpuCoreHours: must not be negative (got \"-1\")");
  EXPECT_EQ(r.skipped_reasons[3], "sample.txt data[0].e.properties.namespace: must be a string");
  EXPECT_EQ(r.skipped_reasons[4].rfind("sample.txt data[0].f.start: ", 0), 0u) << r.skipped_reasons[4];
}

TEST(IngestOpenCost, ResponseErrors) {
  EXPECT_EQ(error_of(R"({"code": 500, "message": "boom", "data": null})", "{}"),
            "sample.txt code: the response is an error (code 500: boom)");
  EXPECT_EQ(error_of(R"({"code": 200})", "{}"), "sample.txt: no \"data\"");
  EXPECT_EQ(error_of(R"({"code": 200, "data": 3})", "{}"), "sample.txt data: must be a list of allocation sets");
  EXPECT_EQ(error_of("{", "{}").rfind("sample.txt: line 1", 0), 0u);
  EXPECT_EQ(error_of(R"({"data": [{"x": 1}]})", "{}"), "sample.txt data[0].x: must be an object");
}

// Labels are tags under their own names, as OpenCost writes them (it strips the label_ of
// kube-state-metrics' kube_pod_labels and kube_namespace_labels: opencost/opencost
// pkg/prom/result.go GetLabels), so `group_by: ["team"]` finds them. OpenCost keeps a
// namespace's labels in properties.namespaceLabels (core/pkg/opencost/allocationprops.go);
// when it aggregates (aggregate=namespace) it keeps only the labels all pods share, while
// namespaceLabels survive, so a namespace-only team is the common case.
TEST(IngestOpenCost, PodAndNamespaceLabelsAreTags) {
  const IngestResult r = ingest(read_file("opencost/aggregated.json"), "{}");
  ASSERT_EQ(r.records.size(), 3u);
  // The pod label wins over the namespace's (OpenCost applies them in that order too:
  // pkg/costmodel/allocation_helpers.go applyLabels).
  EXPECT_EQ(r.records[0].tags, (Tags{{"cluster", "cluster-one"},
                                     {"namespace", "kubecost"},
                                     {"app", "cost-analyzer"},
                                     {"team", "platform"},
                                     {"kubernetes_io_metadata_name", "kubecost"}}));
  EXPECT_EQ(r.records[1].tags, (Tags{{"cluster", "cluster-one"},
                                     {"namespace", "ml"},
                                     {"team", "research"},
                                     {"kubernetes_io_metadata_name", "ml"}}));
  EXPECT_EQ(r.records[2].tags, (Tags{{"cluster", "cluster-one"}, {"idle", "true"}}));

  // A label named like a property tag keeps its prefix rather than clash with it.
  const IngestResult clash = ingest(R"({"code": 200, "data": [{"a": {"properties": {"namespace": "ml",
      "labels": {"namespace": "team-a", "pod": ""}, "namespaceLabels": {"idle": "no", "namespace": "x"}}}}]})",
                                    "{}");
  ASSERT_EQ(clash.records.size(), 1u);
  EXPECT_EQ(clash.records[0].tags,
            (Tags{{"namespace", "ml"}, {"label_namespace", "team-a"}, {"label_idle", "no"}}));
  EXPECT_EQ(error_of(R"({"data": [{"a": {"properties": {"namespaceLabels": ["team"]}}}]})", "{}"),
            "sample.txt data[0].a.properties.namespaceLabels: must be an object");
}

// Through a spec run: before, the tags were label_team and every line was unallocated.
TEST(IngestOpenCost, GroupByTeamInASpec) {
  SpecOptions options;
  options.base_dir = APPORTION_TEST_DATA;
  const Result r = run(allocation_from_spec(parse_json(R"({"apportion": 1,
      "pools": [{"id": "cluster", "cost": "100.00"}], "records": [],
      "inputs": [{"format": "opencost", "path": "opencost/aggregated.json", "pool": "cluster"}],
      "steps": [{"id": "teams", "strategy": "proportional", "pool": "cluster", "group_by": ["team"],
                 "weight": "gpu_seconds"}]})"),
                                            options));
  // gpuHours 12 (kubecost, team platform from its pods), 36 (ml, team research from its
  // namespace only) and 12 (__idle__, no team) of 60: 20.00, 60.00 and 20.00 unallocated.
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0].tags, (Tags{{"team", "platform"}}));
  EXPECT_EQ(r.lines[0].cost, Decimal(20));
  EXPECT_EQ(r.lines[1].tags, (Tags{{"team", "research"}}));
  EXPECT_EQ(r.lines[1].cost, Decimal(60));
  EXPECT_EQ(r.lines[2].kind, LineKind::unallocated);
  EXPECT_EQ(r.lines[2].cost, Decimal(20));
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_EQ(r.inputs[0].rows, 3u);
  EXPECT_EQ(r.inputs[0].records, 3u);
}

}  // namespace
