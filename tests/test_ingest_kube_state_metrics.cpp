// The kube-state-metrics ingest format: GPU requests per pod from a text scrape.

#include <gtest/gtest.h>

#include <string>

#include "apportion/ingest.hpp"
#include "ingest_support.hpp"

using namespace apportion;
using ingest_test::error_of;
using ingest_test::read_data;

namespace {

const std::string format = "kube-state-metrics";

std::string scrape() { return read_data("kube-state-metrics/scrape.prom"); }

const std::string header =
    "# HELP kube_pod_container_resource_requests The number of requested request resource by a container.\n"
    "# TYPE kube_pod_container_resource_requests gauge\n";

}  // namespace

TEST(KubeStateMetrics, PodsWithLabelsMigAndUnlabelled) {
  const IngestResult r = ingest_test::ingest(format, scrape(), R"({"interval": 60, "pool": "gpu"})", "ksm.prom");
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
  const IngestResult r = ingest_test::ingest(format, scrape(), R"({"interval": "30", "replicas": 4, "mig_slices": "4"})");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].measures.at("gpus"), Decimal::parse("1.25"));
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal::parse("37.5"));
  EXPECT_EQ(r.records[1].measures.at("gpus"), Decimal::parse("0.5"));  // MIG: 2/4, not divided by replicas
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(15));
  EXPECT_EQ(r.records[2].measures.at("gpus"), Decimal::parse("0.25"));
  EXPECT_EQ(r.records[2].pool, std::nullopt);
}

TEST(KubeStateMetrics, Options) {
  EXPECT_EQ(error_of(format, scrape(), "{}"), "inputs[0].interval: is required (seconds the scrape stands for)");
  EXPECT_EQ(error_of(format, scrape(), R"({"interval": 0})"), "inputs[0].interval: must be positive");
  EXPECT_EQ(error_of(format, scrape(), R"({"interval": 60, "replicas": 0})"),
            "inputs[0].replicas: must be a positive whole number");
  EXPECT_EQ(error_of(format, scrape(), R"({"interval": 60, "mig_slices": 1.5})"),
            "inputs[0].mig_slices: must be a positive whole number");
  EXPECT_NE(error_of(format, scrape(), R"({"interval": 60, "replica": 2})").find("replica"), std::string::npos);
}

TEST(KubeStateMetrics, BadValuesNameTheLine) {
  const std::string text = header +
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} NaN\n"
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"q\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} -1\n"
                           "kube_pod_container_resource_requests{namespace=\"a\",pod=\"r\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 2\n";
  EXPECT_EQ(error_of(format, text, R"({"interval": 10})"), "sample.txt line 3: value is NaN");
  const IngestResult r = ingest_test::ingest(format, text, R"({"interval": 10, "skip_invalid": true})");
  EXPECT_EQ(r.skipped, 2u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].tags, Tags({{"namespace", "a"}, {"pod", "r"}}));
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(20));
  const std::string negative = header +
                               "kube_pod_container_resource_requests{namespace=\"a\",pod=\"q\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} -1\n";
  EXPECT_EQ(error_of(format, negative, R"({"interval": 10})"), "sample.txt line 3: value -1 is negative");
}

TEST(KubeStateMetrics, DuplicateSeriesAndBadMig) {
  const std::string line =
      "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",container=\"c\",resource=\"nvidia_com_gpu\",unit=\"integer\"} 1\n";
  const std::string duplicate = header + line + line;
  const std::string message = error_of(format, duplicate, R"({"interval": 10})");
  EXPECT_EQ(message.rfind("sample.txt line 4: ", 0), 0u) << message;
  const IngestResult r = ingest_test::ingest(format, duplicate, R"({"interval": 10, "skip_invalid": true})");
  EXPECT_EQ(r.skipped, 1u);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].measures.at("gpus"), Decimal(1));

  const std::string labels =
      header + line +
      "kube_pod_labels{namespace=\"a\",pod=\"p\",label_team=\"x\"} 1\n"
      "kube_pod_labels{namespace=\"a\",pod=\"p\",label_team=\"y\"} 1\n";
  EXPECT_EQ(error_of(format, labels, R"({"interval": 10})"),
            "sample.txt line 5: pod a/p has kube_pod_labels twice (first at sample.txt line 4)");

  const std::string mig =
      header +
      "kube_pod_container_resource_requests{namespace=\"a\",pod=\"p\",container=\"c\",resource=\"nvidia_com_mig_8g_80gb\",unit=\"integer\"} 1\n";
  EXPECT_EQ(error_of(format, mig, R"({"interval": 10})"),
            "sample.txt line 3: MIG resource \"nvidia_com_mig_8g_80gb\" has more slices than mig_slices (7)");
  const std::string no_pod =
      header + "kube_pod_container_resource_requests{namespace=\"a\",container=\"c\",resource=\"nvidia_com_gpu\"} 1\n";
  EXPECT_EQ(error_of(format, no_pod, R"({"interval": 10})"), "sample.txt line 3: series has no pod label");
}

// ---- Range queries -------------------------------------------------------------------

TEST(KubeStateMetrics, RangeQueryIntegratesRequestsOverTime) {
  // trainer-0: 2 GPUs for 300 + 300 s, a 1,200 s gap (beyond max_gap: no data), then 2 GPUs
  // for 300 s and 4 GPUs for 300 s; the last sample closes the range.
  const IngestResult r = ingest_test::ingest(format, read_data("kube-state-metrics/query_range.json"),
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

TEST(KubeStateMetrics, RangeQueryOptionsAndErrors) {
  const std::string range = read_data("kube-state-metrics/query_range.json");
  EXPECT_EQ(error_of(format, range, "{}"),
            "inputs[0].max_gap: is required for a range query (seconds between samples beyond which a gap counts as no data)");
  EXPECT_EQ(error_of(format, range, R"({"max_gap": 450, "interval": 60})"),
            "inputs[0].interval: applies only to a text scrape");
  EXPECT_EQ(error_of(format, scrape(), R"({"interval": 60, "max_gap": 450})"),
            "inputs[0].max_gap: applies only to a range query");
  EXPECT_EQ(error_of(format, R"({"status":"success","data":{"resultType":"vector","result":[]}})", R"({"max_gap": 450})",
                     "q.json"),
            "q.json: kube-state-metrics needs a range query (resultType matrix) or a text scrape, got \"vector\"");
  // Two label series for one pod ending at the same time cannot be told apart.
  const std::string twice =
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"kube_pod_labels","namespace":"a","pod":"p","label_team":"x"},"values":[[1,"1"]]},)"
      R"({"metric":{"__name__":"kube_pod_labels","namespace":"a","pod":"p","label_team":"y"},"values":[[1,"1"]]}]}})";
  EXPECT_EQ(error_of(format, twice, R"({"max_gap": 450})", "q.json"),
            "q.json data.result[1]: pod a/p has kube_pod_labels twice (first at q.json data.result[0])");
}
