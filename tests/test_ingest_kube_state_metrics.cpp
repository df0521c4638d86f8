// The kube-state-metrics ingest format: GPU requests per pod from a text scrape or a
// query_range answer: phases, pods recreated under a new uid, replicas per node, capacity.

#include <gtest/gtest.h>

#include <string>

#include "apportion/ingest.hpp"
#include "ingest_support.hpp"

using namespace apportion;
// Every input here is read whole and a series at a time (as a file or a live range is), and
// the two must agree: ingest_both_ways, error_both_ways.
using ingest_test::error_both_ways;
using ingest_test::read_data;

namespace {

const std::string format = "kube-state-metrics";

std::string scrape() { return read_data("kube-state-metrics/scrape.prom"); }

const std::string header =
    "# HELP kube_pod_container_resource_requests The number of requested request resource by a container.\n"
    "# TYPE kube_pod_container_resource_requests gauge\n";

}  // namespace

TEST(KubeStateMetrics, PodsWithLabelsMigAndUnlabelled) {
  const IngestResult r = ingest_test::ingest_both_ways(format, scrape(), R"({"interval": 60, "pool": "gpu"})", "ksm.prom");
  EXPECT_EQ(r.skipped, 0u);
  ASSERT_EQ(r.records.size(), 3u);  // coredns requests only cpu/memory: no record

  const Record& trainer = r.records[0];
  EXPECT_EQ(trainer.tags, Tags({{"namespace", "nlp"},
                                {"pod", "trainer-0"},
                                {"team", "nlp"},
                                {"project", "llm-pretrain"},
                                {"app_kubernetes_io_name", "trainer"}}));
  EXPECT_EQ(trainer.measures.at("gpus"), Decimal(5));  // 4 + 1 over two containers; limits ignored
  EXPECT_EQ(trainer.measures.at("gpu_seconds"), Decimal(300));
  EXPECT_EQ(trainer.measures.size(), 2u);
  EXPECT_EQ(trainer.pool, std::optional<std::string>("gpu"));
  EXPECT_EQ(trainer.origin, "ksm.prom line 5");

  const Record& infer = r.records[1];  // two 1g.10gb MIG slices: 2/7 of a GPU
  EXPECT_EQ(infer.tags, Tags({{"namespace", "vision"}, {"pod", "infer-7f9c"}, {"team", "vision"}, {"project", "detector"}}));
  EXPECT_EQ(infer.measures.at("gpus"), Decimal::parse("0.285714285714"));
  EXPECT_EQ(infer.measures.at("gpu_seconds"), Decimal::parse("17.142857142857"));

  const Record& notebook = r.records[2];  // no kube_pod_labels series
  EXPECT_EQ(notebook.tags, Tags({{"namespace", "batch"}, {"pod", "notebook-x"}}));
  EXPECT_EQ(notebook.measures.at("gpus"), Decimal(1));
  EXPECT_EQ(notebook.measures.at("gpu_seconds"), Decimal(60));
}

TEST(KubeStateMetrics, ReplicasAndMigSlices) {
  const IngestResult r = ingest_test::ingest_both_ways(format, scrape(), R"({"interval": "30", "replicas": 4, "mig_slices": "4"})");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].measures.at("gpus"), Decimal::parse("1.25"));
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal::parse("37.5"));
  EXPECT_EQ(r.records[1].measures.at("gpus"), Decimal::parse("0.5"));  // MIG: 2/4, not divided by replicas
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(15));
  EXPECT_EQ(r.records[2].measures.at("gpus"), Decimal::parse("0.25"));
  EXPECT_EQ(r.records[2].pool, std::nullopt);
}

TEST(KubeStateMetrics, Options) {
  EXPECT_EQ(error_both_ways(format, scrape(), "{}"), "inputs[0].interval: is required (seconds the scrape stands for)");
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 0})"),
            "inputs[0].interval: must be a positive number of seconds or a duration such as \"30s\", \"5m\" or \"1h\" "
            "(got 0)");
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 60, "replicas": 0})"),
            "inputs[0].replicas: must be a positive whole number");
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 60, "mig_slices": 1.5})"),
            "inputs[0].mig_slices: must be a positive whole number");
  EXPECT_NE(error_both_ways(format, scrape(), R"({"interval": 60, "replica": 2})").find("replica"), std::string::npos);
}

TEST(KubeStateMetrics, BadValuesNameTheLine) {
  const std::string text = header +
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} NaN\n"
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"q\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} -1\n"
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"r\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 2\n";
  EXPECT_EQ(error_both_ways(format, text, R"({"interval": 10})"), "sample.txt line 3: value is NaN");
  const IngestResult r = ingest_test::ingest_both_ways(format, text, R"({"interval": 10, "skip_invalid": true})");
  EXPECT_EQ(r.skipped, 2u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].tags, Tags({{"namespace", "a"}, {"pod", "r"}}));
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(20));
  const std::string negative = header +
                               "kube_pod_container_resource_requests{namespace=\"a\",pod=\"q\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} -1\n";
  EXPECT_EQ(error_both_ways(format, negative, R"({"interval": 10})"), "sample.txt line 3: value -1 is negative");
}

TEST(KubeStateMetrics, DuplicateSeriesAndBadMig) {
  const std::string line =
      "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 1\n";
  const std::string duplicate = header + line + line;
  const std::string message = error_both_ways(format, duplicate, R"({"interval": 10})");
  EXPECT_EQ(message.rfind("sample.txt line 4: ", 0), 0u) << message;
  const IngestResult r = ingest_test::ingest_both_ways(format, duplicate, R"({"interval": 10, "skip_invalid": true})");
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].measures.at("gpus"), Decimal(1));

  const std::string labels =
      header + line +
      "kube_pod_labels{namespace=\"a\",pod=\"p\",label_team=\"x\"} 1\n"
      "kube_pod_labels{namespace=\"a\",pod=\"p\",label_team=\"y\"} 1\n";
  EXPECT_EQ(error_both_ways(format, labels, R"({"interval": 10})"),
            "sample.txt line 5: pod a/p has kube_pod_labels twice (first at sample.txt line 4)");

  const std::string mig =
      header +
      "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",container=\"c\",resource=\"nvidia_com_mig_8g_80gb\",unit=\"integer\"} 1\n";
  EXPECT_EQ(error_both_ways(format, mig, R"({"interval": 10})"),
            "sample.txt line 3: MIG resource \"nvidia_com_mig_8g_80gb\" has more slices than mig_slices (7)");
  const std::string no_pod =
      header + "kube_pod_container_resource_requests{namespace=\"a\",container=\"c\",resource=\"nvidia_com_gpu\"} 1\n";
  EXPECT_EQ(error_both_ways(format, no_pod, R"({"interval": 10})"), "sample.txt line 3: series has no pod label");
}

// ---- Range queries -------------------------------------------------------------------

TEST(KubeStateMetrics, RangeQueryIntegratesRequestsOverTime) {
  // trainer-0: 2 GPUs for 300 + 300 s, a 1,200 s gap (beyond max_gap: no data), then 2 GPUs
  // for 300 s and 4 GPUs for 300 s; the last sample closes the range.
  const IngestResult r = ingest_test::ingest_both_ways(format, read_data("kube-state-metrics/query_range.json"),
                                             R"({"max_gap": 450})", "ksm.json");
  EXPECT_EQ(r.skipped, 0u);
  ASSERT_EQ(r.records.size(), 2u);
  const Record& trainer = r.records[0];
  // The pod was relabelled during the window: the latest kube_pod_labels series wins.
  EXPECT_EQ(trainer.tags, Tags({{"namespace", "nlp"}, {"pod", "trainer-0"}, {"team", "nlp"}, {"project", "llm-pretrain"}}));
  EXPECT_EQ(trainer.measures.at("gpu_seconds"), Decimal(2 * 300 + 2 * 300 + 2 * 300 + 4 * 300));
  EXPECT_EQ(trainer.measures.at("gpus"), Decimal(4));  // the largest request seen
  EXPECT_EQ(trainer.origin, "ksm.json data.result[0]");

  const Record& vllm = r.records[1];  // one 3g.40gb MIG slice, 600 s
  EXPECT_EQ(vllm.tags, Tags({{"namespace", "serving"}, {"pod", "vllm-0"}, {"team", "platform"}}));
  EXPECT_EQ(vllm.measures.at("gpu_seconds"), Decimal::parse("257.142857142857"));
  EXPECT_EQ(vllm.measures.at("gpus"), Decimal::parse("0.428571428571"));
}

TEST(KubeStateMetrics, MaxGapBelowTheQueryStep) {
  // A trial user's "max_gap": "60s" on this 300 s query step: no sample holds its request, so
  // every pod reads 0 GPU-seconds (a step then shows all idle). Before, silently; now one
  // warning counting the requests' series (trainer-0's GPUs and vllm-0's MIG slice).
  const IngestResult r = ingest_test::ingest_both_ways(format, read_data("kube-state-metrics/query_range.json"),
                                             R"({"max_gap": "60s"})", "ksm.json");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(0));
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(0));
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "ksm.json: all 2 series with two or more samples hold nothing: every gap between samples is "
                            "longer than max_gap (60 s; the shortest is 300 s), so all usage is 0; set max_gap a little "
                            "above the query step (e.g. 450 for a 300 s step)"});
  // At 450 the 1,200 s gap of trainer-0 holds nothing too, but that is a gap in the data.
  EXPECT_TRUE(ingest_test::ingest_both_ways(format, read_data("kube-state-metrics/query_range.json"), R"({"max_gap": 450})")
                  .warnings.empty());
}

// Scraped without honor_labels (the default of a Prometheus scrape job, and of a ServiceMonitor
// without honorLabels), the target's own labels (the kube-state-metrics pod's namespace, pod and
// container, plus service, endpoint) clash with the pods' and Prometheus renames the pods' to
// exported_namespace, exported_pod and exported_container (Prometheus configuration docs,
// honor_labels; a kube_pod_info answer of that shape in kubernetes-sigs/kubernetes-mixin#523,
// exported_container in bitnami/charts#7690). tests/data/kube-state-metrics/exported.json, 0 to
// 1,800 s at a 300 s step: trainer-0 requests 2 + 1 GPUs in containers trainer and loader,
// Running throughout: 3 x 1,800 = 5,400; infer-0 2 GPUs, Running to 900 s, then Succeeded: its
// samples at 0, 300, 600 and 900 s hold, 2 x 1,200 = 2,400. gpu-node-1 holds 7,800 of 8 x 1,800.
TEST(KubeStateMetrics, ExportedLabelsOfAScrapeWithoutHonorLabels) {
  const IngestResult r = ingest_test::ingest_both_ways(format, read_data("kube-state-metrics/exported.json"),
                                             R"({"max_gap": 450})", "ksm.json");
  // Before: every series was the exporter's pod monitoring/kube-state-metrics-7d9c5b8f6-qx2lm,
  // an error for its kube_pod_labels given twice (and without them one record of 2 GPUs).
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.rows, 17u);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].tags, Tags({{"namespace", "nlp"}, {"pod", "trainer-0"}, {"team", "nlp"}}));
  EXPECT_EQ(r.records[0].measures.at("gpus"), Decimal(3));  // two containers, told apart
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(5400));
  EXPECT_EQ(r.records[1].tags, Tags({{"namespace", "vision"}, {"pod", "infer-0"}, {"team", "vision"}}));
  EXPECT_EQ(r.records[1].measures.at("gpus"), Decimal(2));
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(2400));  // its phase series were read
  EXPECT_TRUE(r.warnings.empty());

  // With the target's labels dropped after the scrape (metric_relabel_configs labeldrop of
  // pod|namespace|container) only the exported_ ones are left. Before: "series has no
  // namespace label".
  const std::string dropped = header +
      "kube_pod_container_resource_requests{endpoint=\"http\",exported_container=\"c\",exported_namespace=\"a\","
      "exported_pod=\"p\",instance=\"10.244.1.17:8080\",job=\"kube-state-metrics\",node=\"n1\","
      "resource=\"nvidia_com_gpu\",service=\"kube-state-metrics\",uid=\"u1\",unit=\"integer\"} 2\n";
  const IngestResult d = ingest_test::ingest_both_ways(format, dropped, R"({"interval": 10})");
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].tags, Tags({{"namespace", "a"}, {"pod", "p"}}));
  EXPECT_EQ(d.records[0].measures.at("gpu_seconds"), Decimal(20));
}

TEST(KubeStateMetrics, RangeQueryOptionsAndErrors) {
  const std::string range = read_data("kube-state-metrics/query_range.json");
  EXPECT_EQ(error_both_ways(format, range, "{}"),
            "inputs[0].max_gap: is required for a range query (seconds between samples beyond which a gap counts as no data)");
  EXPECT_EQ(error_both_ways(format, range, R"({"max_gap": 450, "interval": 60})"),
            "inputs[0].interval: applies only to a text scrape");
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 60, "max_gap": 450})"),
            "inputs[0].max_gap: applies only to a range query");
  EXPECT_EQ(error_both_ways(format, R"({"status":"success","data":{"resultType":"vector","result":[]}})", R"({"max_gap": 450})",
                     "q.json"),
            "q.json: kube-state-metrics needs a range query (resultType matrix) or a text scrape, got \"vector\"");
  // Two label series for one pod ending at the same time cannot be told apart.
  const std::string twice =
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"kube_pod_labels","namespace":"a","pod":"p","label_team":"x"},"values":[[1,"1"]]},)"
      R"({"metric":{"__name__":"kube_pod_labels","namespace":"a","pod":"p","label_team":"y"},"values":[[1,"1"]]}]}})";
  EXPECT_EQ(error_both_ways(format, twice, R"({"max_gap": 450})", "q.json"),
            "q.json data.result[1]: pod a/p has kube_pod_labels twice (first at q.json data.result[0])");
}

TEST(KubeStateMetrics, SecondsAreNumbersOrPrometheusDurations) {
  // The query's step as Prometheus writes it: "7m30s" is the 450 s of the test above.
  const std::string range = read_data("kube-state-metrics/query_range.json");
  EXPECT_EQ(ingest_test::ingest_both_ways(format, range, R"({"max_gap": "7m30s"})").records.at(0).measures,
            ingest_test::ingest_both_ways(format, range, R"({"max_gap": 450})").records.at(0).measures);
  EXPECT_EQ(error_both_ways(format, range, R"({"max_gap": "30x"})"),
            "inputs[0].max_gap: must be a positive number of seconds or a duration such as \"30s\", \"5m\" or \"1h\" "
            "(got \"30x\")");
  const auto seconds = [](const char* json) { return ingest::read_seconds(parse_json(json), "x").to_string(); };
  EXPECT_EQ(seconds("90"), "90");
  EXPECT_EQ(seconds(R"("1.5")"), "1.5");
  EXPECT_EQ(seconds(R"("1h30m")"), "5400");
  EXPECT_EQ(seconds(R"("2d")"), "172800");
  EXPECT_EQ(seconds(R"("1w1d")"), "691200");
  EXPECT_EQ(seconds(R"("1y")"), "31536000");
  EXPECT_EQ(seconds(R"("250ms")"), "0.25");
  EXPECT_EQ(seconds(R"("1m5ms")"), "60.005");
  for (const char* bad : {R"("30m1h")", R"("h")", R"("1.5m")", R"("0s")", "0", "-1", R"("")", "true", R"("1mm")"})
    EXPECT_THROW(ingest::read_seconds(parse_json(bad), "x"), SpecError) << bad;
}

// ---- Finished pods: kube_pod_status_phase -------------------------------------------------

namespace {

// The text without its kube_pod_status_phase samples: what a scrape with that metric
// denied (--metric-denylist) or a query that left it out gives.
std::string without_phases(const std::string& text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = std::min(text.find('\n', pos), text.size() - 1);
    const std::string line = text.substr(pos, nl + 1 - pos);
    if (line.rfind("kube_pod_status_phase{", 0) != 0) out += line;
    pos = nl + 1;
  }
  return out;
}

std::string seconds_of(const IngestResult& r, const std::string& pod) {
  for (const Record& rec : r.records)
    if (rec.tags.get("pod") == pod) return rec.measures.at("gpu_seconds").to_string();
  return "no record";
}

const std::string likely =
    "; likely finished (Succeeded or Failed) pods exported without kube_pod_status_phase, or node series covering "
    "less time than the pods'";

}  // namespace

// kube-state-metrics exports the requests of every pod the API still holds, Succeeded and
// Failed ones included (kubernetes/kube-state-metrics#1051, closed as intended: "exclude the
// states you are not interested in"), and one kube_pod_status_phase series per phase, 1 for
// the current one (docs/metrics/workload/pod-metrics.md; internal/store/pod.go writes them
// Pending, Succeeded, Failed, Unknown, Running).
TEST(KubeStateMetrics, FinishedPodsHoldNothing) {
  const std::string text = read_data("kube-state-metrics/finished.prom");
  const IngestResult r = ingest_test::ingest_both_ways(format, text, R"({"interval": 60})", "ksm.prom");
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.rows, 46u);  // 8 requests, 30 phases, 4 capacity and 4 allocatable series
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(seconds_of(r, "train-a"), "240");          // Running: 4 GPUs x 60 s
  EXPECT_EQ(seconds_of(r, "eval-28419240-x7q2k"), "no record");  // Succeeded
  EXPECT_EQ(seconds_of(r, "eval-28419180-m4n8d"), "no record");  // Failed
  EXPECT_EQ(seconds_of(r, "sweep-17"), "no record");   // Pending, not scheduled (node ""): holds no GPU
  EXPECT_EQ(seconds_of(r, "train-b"), "60");           // Pending on gpu-node-1: its GPU is reserved
  EXPECT_EQ(seconds_of(r, "infer-0"), "120");          // Unknown: the node stopped reporting, GPUs not free
  EXPECT_EQ(seconds_of(r, "infer-1"), "60");           // no phase series: held, as before
  // gpu-node-1 holds 4 + 1 of its 8 GPUs; gpu-node-2 2 + 1 GPUs x 60 s = 180 of its 2 x 60.
  ASSERT_EQ(r.warnings.size(), 2u);
  EXPECT_EQ(r.warnings[0],
            "ksm.prom: node gpu-node-2: pods request 180 GPU-seconds, more than its capacity of 120 "
            "(kube_node_status_capacity)" + likely);
  EXPECT_EQ(r.warnings[1],
            "ksm.prom: 1 of 4 pods with GPU requests have no kube_pod_status_phase series: their requests count "
            "for every sample, finished or not");

  // Without the phase series every request counts, as before; the warning tells.
  const IngestResult all = ingest_test::ingest_both_ways(format, without_phases(text), R"({"interval": 60})", "ksm.prom");
  ASSERT_EQ(all.records.size(), 7u);
  EXPECT_EQ(seconds_of(all, "eval-28419240-x7q2k"), "240");
  EXPECT_EQ(seconds_of(all, "sweep-17"), "480");
  // gpu-node-1: (4 + 4 + 2 + 1) GPUs x 60 s = 660 of 8 x 60 = 480; sweep-17 is on no node.
  ASSERT_EQ(all.warnings.size(), 2u);
  EXPECT_EQ(all.warnings[0],
            "ksm.prom: node gpu-node-1: pods request 660 GPU-seconds, more than its capacity of 480 "
            "(kube_node_status_capacity)" + likely);
  EXPECT_EQ(all.warnings[1].rfind("ksm.prom: node gpu-node-2: pods request 180 GPU-seconds", 0), 0u);
}

TEST(KubeStateMetrics, AllocatableWhenNoCapacity) {
  const std::string text = header +
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",uid=\"u1\",container=\"c\",node=\"n1\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 3\n"
                           "# TYPE kube_node_status_allocatable gauge\n"
                           "kube_node_status_allocatable{node=\"n1\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 2\n";
  const IngestResult r = ingest_test::ingest_both_ways(format, text, R"({"interval": 10})");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0],
            "sample.txt: node n1: pods request 30 GPU-seconds, more than its allocatable of 20 "
            "(kube_node_status_allocatable)" + likely);
}

TEST(KubeStateMetrics, PhaseErrors) {
  const std::string request =
      header +
      "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",uid=\"u1\",container=\"c\",node=\"n1\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 1\n"
      "# TYPE kube_pod_status_phase gauge\n";
  EXPECT_EQ(error_both_ways(format, request + "kube_pod_status_phase{namespace=\"a\",pod=\"p\",uid=\"u1\",phase=\"Completed\"} 1\n",
                     R"({"interval": 10})"),
            "sample.txt line 5: unknown pod phase \"Completed\" (expected Pending, Running, Succeeded, Failed or Unknown)");
  const std::string twice = request +
                            "kube_pod_status_phase{namespace=\"a\",pod=\"p\",uid=\"u1\",phase=\"Running\"} 1\n"
                            "kube_pod_status_phase{namespace=\"a\",pod=\"p\",uid=\"u1\",phase=\"Succeeded\"} 1\n";
  EXPECT_EQ(error_both_ways(format, twice, R"({"interval": 10})"), "sample.txt line 6: pod a/p is Running and Succeeded at once");
}

// ---- Range queries: phases per sample, pods recreated under a new uid ----------------------

// A query_range answer (as Prometheus 2.x writes one) over 1,800 s at a 300 s step:
//   trainer-0 (StatefulSet): uid ...0a Running 0-900 s, deleted; recreated as uid ...0b,
//     Pending (scheduled) at 1,200 s, Running 1,500-1,800 s; 2 GPUs all along.
//   db-0: uid ...0c at 0-900 s and uid ...0d at 600-1,800 s, both reporting at 600 and 900 s.
//   job-x: 4 GPUs, Running 0-600 s, then Succeeded while its requests are still exported.
//   job-y: 4 GPUs, Running 900-1,800 s, on gpu-node-2 (capacity 4) after job-x.
TEST(KubeStateMetrics, RangeQueryPhasesAndRecreatedPods) {
  const std::string range = read_data("kube-state-metrics/recreated.json");
  const IngestResult r = ingest_test::ingest_both_ways(format, range, R"({"max_gap": 450})", "ksm.json");
  EXPECT_EQ(r.skipped, 0u);
  EXPECT_EQ(r.rows, 50u);  // 6 uids x (2 requests, 1 labels, 5 phases) and 2 capacity series
  ASSERT_EQ(r.records.size(), 4u);
  // One pod name, one timeline: 2 GPUs x 1,800 s, the 900-1,200 s hand-over included (the
  // old uid's last sample holds until the new uid's first, 300 s <= max_gap). Before: each
  // uid alone, 2 x 900 + 2 x 600 = 3,000 s, and gpus 2 + 2 = 4.
  const Record& trainer = r.records[0];
  EXPECT_EQ(trainer.tags, Tags({{"namespace", "nlp"}, {"pod", "trainer-0"}, {"team", "nlp"}}));
  EXPECT_EQ(trainer.measures.at("gpu_seconds"), Decimal(3600));
  EXPECT_EQ(trainer.measures.at("gpus"), Decimal(2));
  // Both uids at 600 and 900 s: one request, held once: 1 GPU x 1,800 s (before: 900 + 1,200).
  EXPECT_EQ(r.records[1].tags.get("pod"), "db-0");
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(1800));
  EXPECT_EQ(r.records[1].measures.at("gpus"), Decimal(1));
  // Running at 0, 300 and 600 s, each holding 300 s: 4 x 900 (before: 4 x 1,800).
  EXPECT_EQ(r.records[2].tags.get("pod"), "job-x-7k2lp");
  EXPECT_EQ(r.records[2].measures.at("gpu_seconds"), Decimal(3600));
  EXPECT_EQ(r.records[2].measures.at("gpus"), Decimal(4));
  EXPECT_EQ(r.records[3].measures.at("gpu_seconds"), Decimal(3600));  // job-y: 4 x 900
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];  // gpu-node-2: 3,600 + 3,600 of 4 x 1,800

  // Without the phase series (they come last in the answer), job-x holds its request to the
  // end: gpu-node-2 then has 4 x 1,800 + 4 x 900 = 10,800 GPU-seconds of 7,200.
  const std::string cut = range.substr(0, range.find(R"(,{"metric":{"__name__":"kube_pod_status_phase")")) + "]}}";
  const IngestResult all = ingest_test::ingest_both_ways(format, cut, R"({"max_gap": 450})", "ksm.json");
  EXPECT_EQ(all.rows, 20u);
  EXPECT_EQ(seconds_of(all, "job-x-7k2lp"), "7200");
  EXPECT_EQ(seconds_of(all, "trainer-0"), "3600");  // the uids still merge
  ASSERT_EQ(all.warnings.size(), 1u);
  EXPECT_EQ(all.warnings[0],
            "ksm.json: node gpu-node-2: pods request 10800 GPU-seconds, more than its capacity of 7200 "
            "(kube_node_status_capacity)" + likely);
}

// Two kube-state-metrics replicas scraped side by side (instance 10.0.0.5 and 10.0.0.6): every
// series twice, at the same times. One request is held once and equal labels are no conflict:
// the same records as from one replica (before: an error for the pods' labels given twice,
// and without them every request summed twice).
TEST(KubeStateMetrics, RangeQueryFromTwoReplicas) {
  const std::string range = read_data("kube-state-metrics/recreated.json");
  const std::size_t from = range.find(R"("result":[)") + 10, to = range.rfind("]}}");
  std::string inner = range.substr(from, to - from), other = inner;
  for (std::size_t at = other.find("10.0.0.5:8080"); at != std::string::npos; at = other.find("10.0.0.5:8080", at))
    other.replace(at, 13, "10.0.0.6:8080");
  const IngestResult one = ingest_test::ingest_both_ways(format, range, R"({"max_gap": 450})");
  const IngestResult two = ingest_test::ingest_both_ways(format, range.substr(0, from) + inner + "," + other + "]}}", R"({"max_gap": 450})");
  EXPECT_EQ(two.rows, 100u);
  ASSERT_EQ(two.records.size(), one.records.size());
  for (std::size_t i = 0; i < one.records.size(); ++i) {
    EXPECT_EQ(two.records[i].tags, one.records[i].tags);
    EXPECT_EQ(two.records[i].measures, one.records[i].measures) << i;
  }
  EXPECT_EQ(seconds_of(two, "trainer-0"), "3600");
  EXPECT_TRUE(two.warnings.empty());
}

// ---- Time-slicing replicas per node -------------------------------------------------------

// NVIDIA's device plugin advertises replicas x GPUs of nvidia.com/gpu on a time-sliced node
// (NVIDIA/k8s-device-plugin README.md, "Shared Access to GPUs": 8 GPUs with replicas 10 show
// capacity 80) and its GPU feature discovery labels the node nvidia.com/gpu.replicas
// (internal/lm/resource.go: the configured replicas, 1 when not shared, 0 when sharing is
// off), which kube-state-metrics exports as label_nvidia_com_gpu_replicas on
// kube_node_labels when allowlisted (--metric-labels-allowlist=nodes=[nvidia.com/gpu.replicas];
// internal/store/utils.go turns . and / into _). gpu-node-1: 2 T4s x 4 replicas; gpu-node-2:
// a dedicated 8-GPU node; gpu-node-3: no labels exported.
TEST(KubeStateMetrics, ReplicasPerNode) {
  const std::string text = read_data("kube-state-metrics/replicas.prom");
  const auto gpus = [](const IngestResult& r) {
    std::string out;
    for (const Record& rec : r.records)
      out += std::string(*rec.tags.get("pod")) + "=" + rec.measures.at("gpus").to_string() + "/" +
             rec.measures.at("gpu_seconds").to_string() + " ";
    return out;
  };
  // The labels alone: 1/4 of a T4 per replica, the H100 node's 8 GPUs as 8.
  const IngestResult labelled = ingest_test::ingest_both_ways(format, text, R"({"interval": 60})");
  EXPECT_EQ(labelled.rows, 11u);
  EXPECT_EQ(gpus(labelled), "nb-1=0.25/15 nb-2=0.25/15 nb-3=0.5/30 pretrain-0=8/480 infer-0=2/120 ");
  EXPECT_TRUE(labelled.warnings.empty());
  // A version-1 scalar: nodes without a label of their own (gpu-node-3). Before, 2 applied to
  // every request: the dedicated node's 8 GPUs were billed as 4 and the T4 replicas as 1/2.
  // Among requests on three nodes it may divide a dedicated node's GPUs: told, with the node.
  const IngestResult scalar = ingest_test::ingest_both_ways(format, text, R"({"interval": 60, "replicas": 2})");
  EXPECT_EQ(gpus(scalar), "nb-1=0.25/15 nb-2=0.25/15 nb-3=0.5/30 pretrain-0=8/480 infer-0=1/60 ");
  EXPECT_EQ(scalar.warnings,
            std::vector<std::string>{
                "sample.txt: replicas 2 applied to node gpu-node-3, which has no nvidia.com/gpu.replicas label or "
                "replicas entry of its own, among GPU requests on 3 nodes: on a node that is not time-sliced each GPU "
                "is billed as 1/2; give replicas per node for the ones that are, e.g. {\"gpu-node-3\": 2} (on the "
                "command line gpu-node-3=2)"});
  // Per node, as an object or (the command line) NODE=REPLICAS: an entry wins over the
  // node's label, and the difference is told.
  for (const char* options : {R"({"interval": 60, "replicas": {"gpu-node-1": 2, "gpu-node-3": 2}})",
                              R"({"interval": 60, "replicas": "gpu-node-1=2,gpu-node-3=2"})"}) {
    const IngestResult mapped = ingest_test::ingest_both_ways(format, text, options);
    EXPECT_EQ(gpus(mapped), "nb-1=0.5/30 nb-2=0.5/30 nb-3=1/60 pretrain-0=8/480 infer-0=1/60 ") << options;
    ASSERT_EQ(mapped.warnings.size(), 1u) << options;
    EXPECT_EQ(mapped.warnings[0], "sample.txt: node gpu-node-1: replicas 2 differs from its label nvidia.com/gpu.replicas=4; 2 used");
  }
  // kube-state-metrics' default: no node labels at all (--metric-labels-allowlist names none).
  // `--replicas 4` then divides every node's GPUs, the dedicated gpu-node-2's 8 H100s too:
  // 8 / 4 = 2 GPUs x 60 s = 120 (before, with no warning). Told, naming all three nodes.
  std::string unlabelled;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t nl = text.find('\n', pos) + 1;
    if (text.compare(pos, 17, "kube_node_labels{") != 0) unlabelled += text.substr(pos, nl - pos);
    pos = nl;
  }
  const IngestResult everywhere = ingest_test::ingest_both_ways(format, unlabelled, R"({"interval": 60, "replicas": "4"})");
  EXPECT_EQ(gpus(everywhere), "nb-1=0.25/15 nb-2=0.25/15 nb-3=0.5/30 pretrain-0=2/120 infer-0=0.5/30 ");
  EXPECT_EQ(everywhere.warnings,
            std::vector<std::string>{
                "sample.txt: replicas 4 applied to nodes gpu-node-1, gpu-node-2, gpu-node-3, which have no "
                "nvidia.com/gpu.replicas label or replicas entry of their own, among GPU requests on 3 nodes: on a node "
                "that is not time-sliced each GPU is billed as 1/4; give replicas per node for the ones that are, e.g. "
                "{\"gpu-node-1\": 4, \"gpu-node-2\": 4, \"gpu-node-3\": 4} (on the command line "
                "gpu-node-1=4,gpu-node-2=4,gpu-node-3=4)"});
  // The map it suggests, for the time-sliced node only, leaves the others whole; one node
  // taken alone (nodes) has no other node to be wrong about.
  EXPECT_EQ(gpus(ingest_test::ingest_both_ways(format, unlabelled, R"({"interval": 60, "replicas": "gpu-node-1=4"})")),
            "nb-1=0.25/15 nb-2=0.25/15 nb-3=0.5/30 pretrain-0=8/480 infer-0=2/120 ");
  const IngestResult alone =
      ingest_test::ingest_both_ways(format, unlabelled, R"({"interval": 60, "replicas": 4, "nodes": "gpu-node-1"})");
  EXPECT_EQ(gpus(alone), "nb-1=0.25/15 nb-2=0.25/15 nb-3=0.5/30 ");
  EXPECT_TRUE(alone.warnings.empty());

  const IngestResult typo = ingest_test::ingest_both_ways(format, text, R"({"interval": 60, "replicas": {"gpu-node-9": 2}})");
  EXPECT_EQ(gpus(typo), gpus(labelled));
  ASSERT_EQ(typo.warnings.size(), 1u);
  EXPECT_EQ(typo.warnings[0], "sample.txt: node gpu-node-9: named by replicas but holds no GPU requests in the file");
  // An input can take some nodes only.
  EXPECT_EQ(gpus(ingest_test::ingest_both_ways(format, text, R"({"interval": 60, "nodes": ["gpu-node-2"]})")), "pretrain-0=8/480 ");
  EXPECT_EQ(gpus(ingest_test::ingest_both_ways(format, text, R"({"interval": 60, "nodes": "gpu-node-1,gpu-node-3"})")),
            "nb-1=0.25/15 nb-2=0.25/15 nb-3=0.5/30 infer-0=2/120 ");
}

TEST(KubeStateMetrics, SharedAndMigReplicas) {
  // The renamed time-sliced resource (renameByDefault: nvidia.com/gpu.shared) with no
  // replicas known: each counted as a whole GPU, and told.
  const std::string shared = header + "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",uid=\"u1\",container=\"c\",node=\"n4\",resource=\"nvidia_com_gpu_shared\",unit=\"integer\"} 1\n";
  const IngestResult unknown = ingest_test::ingest_both_ways(format, shared, R"({"interval": 10})");
  EXPECT_EQ(unknown.records[0].measures.at("gpus"), Decimal(1));
  ASSERT_EQ(unknown.warnings.size(), 1u);
  EXPECT_EQ(unknown.warnings[0],
            "sample.txt: node n4: time-sliced requests (nvidia_com_gpu_shared) with no replicas known for the node, each "
            "counted as a whole GPU; give replicas, or allowlist nvidia.com/gpu.replicas in kube-state-metrics' node labels");
  const IngestResult given = ingest_test::ingest_both_ways(format, shared, R"({"interval": 10, "replicas": {"n4": 4}})");
  EXPECT_EQ(given.records[0].measures.at("gpus"), Decimal::parse("0.25"));
  EXPECT_TRUE(given.warnings.empty());
  // A time-sliced MIG slice takes its replicas from nvidia.com/mig-1g.10gb.replicas:
  // 1/7 / 2 = 1/14 of a GPU, 60/14 s; `replicas` is for whole GPUs only.
  const std::string mig =
      "# TYPE kube_node_labels gauge\n"
      "kube_node_labels{node=\"n5\",label_nvidia_com_mig_1g_10gb_replicas=\"2\",label_nvidia_com_gpu_replicas=\"0\"} 1\n" +
      header +
      "kube_pod_container_resource_requests{namespace=\"a\",pod=\"m\",uid=\"u2\",container=\"c\",node=\"n5\",resource=\"nvidia_com_mig_1g_10gb\",unit=\"integer\"} 1\n"
      "kube_pod_container_resource_requests{namespace=\"a\",pod=\"g\",uid=\"u3\",container=\"c\",node=\"n5\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 1\n";
  const IngestResult sliced = ingest_test::ingest_both_ways(format, mig, R"({"interval": 60, "replicas": 3})");
  ASSERT_EQ(sliced.records.size(), 2u);
  EXPECT_EQ(sliced.records[0].measures.at("gpus"), Decimal::parse("0.071428571429"));
  EXPECT_EQ(sliced.records[0].measures.at("gpu_seconds"), Decimal::parse("4.285714285714"));
  EXPECT_EQ(sliced.records[1].measures.at("gpus"), Decimal(1));  // label 0: sharing off, wins over 3
  EXPECT_EQ(error_both_ways(format, "kube_node_labels{node=\"n5\",label_nvidia_com_gpu_replicas=\"four\"} 1\n" + header +
                                 "kube_pod_container_resource_requests{namespace=\"a\",pod=\"g\",node=\"n5\",resource=\"nvidia_com_gpu\"} 1\n",
                     R"({"interval": 60})"),
            "sample.txt line 1: label_nvidia_com_gpu_replicas \"four\" is not a whole number");
}

TEST(KubeStateMetrics, ReplicasAndNodesOptions) {
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 60, "replicas": {"gpu-node-1": 0}})"),
            "inputs[0].replicas.gpu-node-1: must be a positive whole number");
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 60, "replicas": "gpu-node-1=2,=3"})"),
            "inputs[0].replicas: \"=3\" is not NODE=REPLICAS");
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 60, "replicas": "gpu-node-1=two"})").rfind("inputs[0].replicas.gpu-node-1: ", 0),
            0u);
  EXPECT_EQ(error_both_ways(format, scrape(), R"({"interval": 60, "nodes": []})"), "inputs[0].nodes: must name at least one node");
}

// ---- Pod labels ---------------------------------------------------------------------------

TEST(KubeStateMetrics, PodLabelNamedLikeATag) {
  // A Kubernetes label `namespace` (label_namespace) keeps its prefix rather than clash with
  // the namespace tag; before, the pod was an error.
  const std::string text = header +
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",uid=\"u1\",container=\"c\",node=\"n1\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 1\n"
                           "kube_pod_labels{namespace=\"a\",pod=\"p\",uid=\"u1\",label_namespace=\"team-a\",label_team=\"x\"} 1\n";
  const IngestResult r = ingest_test::ingest_both_ways(format, text, R"({"interval": 10})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].tags, Tags({{"namespace", "a"}, {"pod", "p"}, {"label_namespace", "team-a"}, {"team", "x"}}));
}

TEST(KubeStateMetrics, ARangeAnswerStreamedKeepsOnlyWhatCountsAndGivesWhatItGivesReadWhole) {
  // Streamed, requests of cpu and memory, a node not selected and a phase series of zeros
  // are left out or emptied as they come; read whole, they are read and passed over: the
  // same records, rows, skips and warnings (ingest_both_ways throws if they differ).
  const auto item = [](const std::string& metric, const std::string& values) {
    return R"({"metric":{"__name__":")" + metric.substr(0, metric.find('{')) + "\"," + metric.substr(metric.find('{') + 1) +
           R"(,"values":[)" + values + "]}";
  };
  const std::string held = R"([0,"1"],[60,"1"],[120,"1"])", zero = R"([0,"0"],[60,"0"],[120,"0"])";
  const std::string answer =
      R"({"status":"success","data":{"resultType":"matrix","result":[)" +
      item(R"(kube_node_status_capacity{"node":"n1","resource":"cpu","unit":"core"})", R"([0,"64"],[120,"64"])") + "," +
      item(R"(kube_node_status_capacity{"node":"n1","resource":"nvidia_com_gpu","unit":"integer"})", R"([0,"8"],[120,"8"])") +
      "," + item(R"(kube_pod_container_resource_requests{"container":"c","namespace":"ml","node":"n1","pod":"a","resource":"cpu","unit":"core"})", held) +
      "," + item(R"(kube_pod_container_resource_requests{"container":"c","namespace":"ml","node":"n1","pod":"a","resource":"nvidia_com_gpu","unit":"integer"})", held) +
      "," + item(R"(kube_pod_container_resource_requests{"container":"c","namespace":"ml","node":"n2","pod":"b","resource":"nvidia_com_gpu","unit":"integer"})", held) +
      "," + item(R"(kube_pod_container_resource_requests{"container":"c","node":"n1","pod":"c","resource":"memory","unit":"byte"})", held) +
      "," + item(R"(kube_pod_status_phase{"namespace":"ml","pod":"a","phase":"Pending","uid":"u"})", zero) +
      "," + item(R"(kube_pod_status_phase{"namespace":"ml","pod":"a","phase":"Running","uid":"u"})", held) +
      "," + item(R"(kube_pod_status_phase{"namespace":"ml","pod":"a","phase":"Failed","uid":"u"})", R"([0,"0"],[60,"NaN"])") +
      "," + item(R"(up{"job":"ksm"})", held) + "]}}";
  const auto r = ingest_test::ingest_both_ways(format, answer, R"({"max_gap": 60, "nodes": ["n1"], "skip_invalid": true})");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds").to_string(), "120");
  EXPECT_EQ(r.rows, 10u);
  // The memory request without a namespace is an error either way; the NaN phase sample too.
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(error_both_ways(format, answer, R"({"max_gap": 60, "nodes": ["n1"]})", "q.json"),
            "q.json data.result[8].values[1]: value is NaN");
}
