// The dcgm format: GPU-seconds per pod and GPU (or MIG instance) from the NVIDIA DCGM
// exporter, a text scrape or a query_range answer.
//
// The data is written as dcgm-exporter writes it: labels in the order of its template
// (internal/pkg/rendermetrics/render_metrics.go: gpu, UUID, pci_bus_id, device, modelName,
// GPU_I_PROFILE, GPU_I_ID, Hostname, then the DCGM_FI_DRIVER_VERSION label field and the pod
// labels), doubles as "%f" ("0.912000", internal/pkg/collector/gpu_collector.go toString),
// and for MIG instances no DCGM_FI_DEV_GPU_UTIL, which DCGM does not report for them
// (NVIDIA/dcgm-exporter issues #105, #216, #430: read DCGM_FI_PROF_GR_ENGINE_ACTIVE), as
// in the MIG scrape of issue #512. Range queries are Prometheus 2.x query_range answers.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "apportion/apportion.hpp"
#include "ingest_support.hpp"

using namespace apportion;
using ingest_test::error_both_ways;
using ingest_test::read_data;

namespace {

std::string tag(const Record& r, const std::string& key) { return std::string(r.tags.get(key).value_or("<none>")); }

Decimal seconds(const Record& r) {
  const auto it = r.measures.find("gpu_seconds");
  return it != r.measures.end() ? it->second : r.measures.at("idle_gpu_seconds");
}

// One DCGM_FI_PROF_GR_ENGINE_ACTIVE line of a MIG instance, as dcgm-exporter writes it.
std::string mig_line(const std::string& uuid, const std::string& model, const std::string& profile,
                     const std::string& id, const std::string& pod) {
  return "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\",UUID=\"" + uuid + "\",pci_bus_id=\"00000000:18:00.0\",device=\"nvidia0\","
         "modelName=\"" + model + "\",GPU_I_PROFILE=\"" + profile + "\",GPU_I_ID=\"" + id +
         "\",Hostname=\"gpu-node-1\",container=\"c\",namespace=\"ns\",pod=\"" + pod + "\"} 0.500000\n";
}

// The result document of a spec whose inputs are under tests/data/dcgm.
Value run(const std::string& spec) {
  SpecOptions options;
  options.base_dir = std::string(APPORTION_TEST_DATA) + "/dcgm";
  return parse_json(run_spec(spec, options));
}

// "kind tag cost" of each line of `step`, in order.
std::vector<std::string> lines_of(const Value& result, const std::string& step, const std::string& key) {
  std::vector<std::string> out;
  for (const Value& line : result.find("lines")->items()) {
    if (line.find("step")->text() != step) continue;
    const Value* value = line.find("tags")->find(key);
    out.push_back(line.find("kind")->text() + " " + (value ? value->text() : "-") + " " + line.find("cost")->text());
  }
  return out;
}

}  // namespace

TEST(DcgmFormat, TextScrapeWithMigAndIdle) {
  // tests/data/prometheus/dcgm_scrape.prom: two whole A100s (one in use, one idle) and two
  // MIG instances of a third; every series is read (rows), the default metric
  // DCGM_FI_PROF_GR_ENGINE_ACTIVE makes the records.
  const auto r = ingest_test::ingest_both_ways("dcgm", read_data("prometheus/dcgm_scrape.prom"), R"({"interval": "30", "pool": "node-1"})", "metrics.txt");
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.rows, 10u);
  const Record& train = r.records[0];
  EXPECT_EQ(train.tags, (Tags{{"container", "trainer"}, {"gpu", "GPU-5fd4bb3c-2a1e-7f4b-9c1d-0e6b9a3c1f20"},
                              {"gpu_model", "NVIDIA A100-SXM4-80GB"}, {"namespace", "nlp"}, {"node", "gpu-node-1"},
                              {"pod", "train-0"}}));
  EXPECT_EQ(train.measures.at("gpu_seconds"), Decimal(30));
  EXPECT_EQ(train.measures.at("utilization"), Decimal::parse("0.87"));  // a ratio, as written
  EXPECT_EQ(train.pool, "node-1");
  EXPECT_EQ(train.origin, "metrics.txt line 13");
  // An empty pod label: an idle GPU, kept out of gpu_seconds.
  const Record& idle = r.records[1];
  EXPECT_FALSE(idle.tags.contains("namespace"));
  EXPECT_FALSE(idle.measures.contains("gpu_seconds"));
  EXPECT_EQ(idle.measures.at("idle_gpu_seconds"), Decimal(30));
  EXPECT_EQ(idle.measures.at("utilization"), Decimal(0));
  // MIG: 1g.10gb of an A100 is 1/7 of the GPU (30/7 = 4.2857142857142857...), 3g.40gb 3/7
  // (12.857142857142857...); rounded together, they sum to the card's 4/7 x 30 =
  // 17.142857142857 (half-even): the leftover unit goes to the larger remainder, 0.857.
  EXPECT_EQ(tag(r.records[2], "mig_profile"), "1g.10gb");
  EXPECT_EQ(tag(r.records[2], "mig_instance"), "3");
  EXPECT_EQ(r.records[2].measures.at("gpu_seconds"), Decimal::parse("4.285714285714"));
  EXPECT_EQ(r.records[2].measures.at("utilization"), Decimal::parse("0.4"));
  EXPECT_EQ(r.records[3].measures.at("gpu_seconds"), Decimal::parse("12.857142857143"));
  EXPECT_EQ(tag(r.records[3], "namespace"), "vision");

  // DCGM_FI_DEV_GPU_UTIL has no series for the MIG instances, which the SM clock series
  // show (instance 3 first, on line 5): their time would go unseen, so it is an error.
  const std::string mig_error =
      "metrics.txt line 5: GPU GPU-1b3d5f70-9e8d-4c6b-8a79-6a5b4c3d2e1f (NVIDIA A100-SXM4-80GB): MIG instances 3, 1 have "
      "no DCGM_FI_DEV_GPU_UTIL series, so their time would go unseen; set metric to DCGM_FI_PROF_GR_ENGINE_ACTIVE, "
      "which dcgm-exporter writes for MIG instances";
  EXPECT_EQ(error_both_ways("dcgm", read_data("prometheus/dcgm_scrape.prom"), R"({"interval": 30, "metric": "DCGM_FI_DEV_GPU_UTIL"})", "metrics.txt"),
            mig_error);
  // With skip_invalid the whole GPUs are read (as percentages: 87 is 0.87) and the MIG card
  // is reported.
  const auto skipped = ingest_test::ingest_both_ways("dcgm", read_data("prometheus/dcgm_scrape.prom"),
                              R"({"interval": 30, "metric": "DCGM_FI_DEV_GPU_UTIL", "skip_invalid": true})", "metrics.txt");
  ASSERT_EQ(skipped.records.size(), 2u);
  EXPECT_EQ(skipped.records[0].measures.at("utilization"), Decimal::parse("0.87"));
  EXPECT_EQ(skipped.skipped, 1u);
  EXPECT_EQ(skipped.skipped_reasons, std::vector<std::string>{mig_error});
}

TEST(DcgmFormat, TimeSlicingAndLabelSpellings) {
  const std::string text =
      "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-a\",modelName=\"NVIDIA H100 80GB HBM3\",namespace=\"gpu-operator\","
      "pod=\"nvidia-dcgm-exporter-x7k2p\",exported_namespace=\"nlp\",exported_pod=\"a-0\",exported_container=\"c\"} 50\n"
      "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-a\",modelName=\"NVIDIA H100 80GB HBM3\",namespace=\"gpu-operator\","
      "pod=\"nvidia-dcgm-exporter-x7k2p\",exported_namespace=\"vision\",exported_pod=\"b-0\",exported_container=\"c\"} 50\n"
      "DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-b\",modelName=\"NVIDIA H100 80GB HBM3\",namespace=\"gpu-operator\","
      "pod=\"nvidia-dcgm-exporter-x7k2p\",exported_namespace=\"\",exported_pod=\"\",exported_container=\"\"} 0\n"
      // --use-old-namespace writes uuid; dcgm-exporter since #655 writes hostname.
      "DCGM_FI_DEV_GPU_UTIL{gpu=\"2\",uuid=\"GPU-c\",hostname=\"gpu-node-9\",pod_namespace=\"old\",pod_name=\"p-0\"} 100\n";
  const auto r = ingest_test::ingest_both_ways("dcgm", text, R"({"interval": 60, "metric": "DCGM_FI_DEV_GPU_UTIL"})");
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.rows, 4u);
  EXPECT_EQ(tag(r.records[0], "namespace"), "nlp");
  EXPECT_EQ(tag(r.records[0], "pod"), "a-0");
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(30));  // two pods on one GPU
  EXPECT_EQ(tag(r.records[1], "namespace"), "vision");
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(30));
  EXPECT_EQ(r.records[2].measures.at("idle_gpu_seconds"), Decimal(60));  // exported_pod="" wins over pod
  EXPECT_EQ(tag(r.records[3], "namespace"), "old");
  EXPECT_EQ(tag(r.records[3], "gpu"), "GPU-c");
  EXPECT_EQ(tag(r.records[3], "node"), "gpu-node-9");
  EXPECT_EQ(tag(r.records[3], "container"), "<none>");  // an empty or missing label is no tag
  EXPECT_EQ(r.records[3].measures.at("gpu_seconds"), Decimal(60));
  EXPECT_EQ(r.records[3].measures.at("utilization"), Decimal(1));  // 100 %
}

TEST(DcgmFormat, RangeQuery) {
  const auto r = ingest_test::ingest_both_ways("dcgm", read_data("prometheus/query_range.json"),
                        R"({"max_gap": 120, "skip_invalid": true, "metric": "DCGM_FI_DEV_GPU_UTIL"})");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.rows, 2u);
  // 30 + 30 + (300 s gap: nothing) + 30 + (last sample: nothing) seconds.
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(90));
  EXPECT_EQ(r.records[0].measures.at("utilization"), Decimal::parse("0.76"));
  EXPECT_EQ(r.records[1].measures.at("idle_gpu_seconds"), Decimal(60));  // the NaN sample skipped
  EXPECT_EQ(r.records[1].measures.at("utilization"), Decimal::parse("0.075"));
  EXPECT_EQ(r.skipped, 1u);
}

TEST(DcgmFormat, SharersHoldExactlyWhatTheyHold) {
  // tests/data/dcgm/time-sliced.json, 30 s steps from 2026-06-01T00:00:00Z (offsets below),
  // max_gap 45. GPU 0 is time-sliced: a-0 holds [0, 300); b-0 [60, 240); c-0 [120, 150) and,
  // after a missed scrape at 180 (150 -> 210 is 60 s, past max_gap), [210, 360); then an idle
  // series [360, 420). A series' last sample holds nothing. Cut at every boundary:
  //   [0,60) a 60 | [60,120) a,b 30 each | [120,150) a,b,c 10 each | [150,210) a,b 30 each
  //   [210,240) a,b,c 10 each | [240,300) a,c 30 each | [300,360) c 60 | [360,420) idle 60
  // a 170, b 80, c 110, idle 60: 420, the GPU's observed seconds. GPU 1 (d-0) is dedicated
  // and misses six scrapes: [0, 120) and [300, 420), 240.
  const auto r = ingest_test::ingest_both_ways("dcgm", read_data("dcgm/time-sliced.json"), R"({"max_gap": 45})");
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.rows, 5u);
  EXPECT_EQ(tag(r.records[0], "pod"), "a-0");
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(170));
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(80));
  EXPECT_EQ(r.records[2].measures.at("gpu_seconds"), Decimal(110));
  EXPECT_EQ(r.records[3].measures.at("idle_gpu_seconds"), Decimal(60));
  EXPECT_EQ(tag(r.records[4], "pod"), "d-0");
  EXPECT_EQ(r.records[4].measures.at("gpu_seconds"), Decimal(240));
  // Utilization is the mean of each series' samples: a-0's eleven sum to 6.70.
  EXPECT_EQ(r.records[0].measures.at("utilization"), Decimal::parse("0.609090909091"));
  EXPECT_EQ(r.records[4].measures.at("utilization"), Decimal::parse("0.9"));
  // c-0's 60 s and d-0's 180 s gaps beyond max_gap are real (a missed scrape, an outage):
  // the other gaps are within it, so no warning.
  EXPECT_TRUE(r.warnings.empty());
}

TEST(DcgmFormat, MaxGapBelowTheQueryStep) {
  // The same answer (30 s step) with max_gap 20 s, a trial user's mistake: no gap between any
  // two samples is within it, so no sample holds its GPU and every pod reads 0 s. Before,
  // silently (every team 0.00, all idle); now the input warns once, counting the series.
  const auto r = ingest_test::ingest_both_ways("dcgm", read_data("dcgm/time-sliced.json"), R"({"max_gap": "20s"})", "q.json");
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(0));
  EXPECT_EQ(r.records[4].measures.at("gpu_seconds"), Decimal(0));
  EXPECT_EQ(r.warnings, std::vector<std::string>{
                            "q.json: all 5 series with two or more samples hold nothing: every gap between samples is "
                            "longer than max_gap (20 s; the shortest is 30 s), so all usage is 0; set max_gap a little "
                            "above the query step (e.g. 45 for a 30 s step)"});
  // One gap within max_gap anywhere in the answer (the 30 s ones at max_gap 30) and it is data.
  EXPECT_TRUE(ingest_test::ingest_both_ways("dcgm", read_data("dcgm/time-sliced.json"), R"({"max_gap": 30})").warnings.empty());
}

TEST(DcgmFormat, SevenSharersSumExactlyToTheGpu) {
  // tests/data/dcgm/seven-sharers.json: seven pods time-slicing one H100 for an hour (61
  // samples a minute apart): 3600 s, 3600/7 = 514.285714285714285... each. The card's parts
  // are rounded together by largest remainder: all remainders tie, so the two leftover
  // 1e-12 go to the first two by tags (team-a, team-b), and the seven sum to 3600 exactly.
  const auto r = ingest_test::ingest_both_ways("dcgm", read_data("dcgm/seven-sharers.json"), R"({"max_gap": 90})");
  ASSERT_EQ(r.records.size(), 7u);
  Decimal total;
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(tag(r.records[i], "namespace"), std::string("team-") + static_cast<char>('a' + i));
    EXPECT_EQ(r.records[i].measures.at("gpu_seconds"), Decimal::parse(i < 2 ? "514.285714285715" : "514.285714285714"));
    total += r.records[i].measures.at("gpu_seconds");
  }
  EXPECT_EQ(total, Decimal(3600));

  // A step with the card's capacity has no idle line: 3.50 over seven namespaces.
  const Value result = run(R"({"apportion": 1, "currency": "USD", "pools": [{"id": "h100", "cost": "3.50"}], "records": [],
    "inputs": [{"format": "dcgm", "path": "seven-sharers.json", "max_gap": 90}],
    "steps": [{"id": "teams", "strategy": "per_namespace", "pool": "h100",
               "idle": {"capacity": "3600", "policy": "separate"}}]})");
  EXPECT_EQ(lines_of(result, "teams", "namespace"),
            (std::vector<std::string>{"allocated team-a 0.50", "allocated team-b 0.50", "allocated team-c 0.50",
                                      "allocated team-d 0.50", "allocated team-e 0.50", "allocated team-f 0.50",
                                      "allocated team-g 0.50"}));
}

TEST(DcgmFormat, SevenMigSlicesSumExactlyToTheGpu) {
  // tests/data/dcgm/mig-7x1g.prom: an A100 split into seven 1g.10gb instances (IDs 7 to 13),
  // one pod each, scraped once for an hour: 3600/7 each. Remainders tie; by tags the
  // instances "10" and "11" (records 3 and 4) come first and take the two leftover units.
  const auto r = ingest_test::ingest_both_ways("dcgm", read_data("dcgm/mig-7x1g.prom"), R"({"interval": 3600})");
  ASSERT_EQ(r.records.size(), 7u);
  EXPECT_EQ(r.rows, 21u);  // temperature, memory and engine activity of seven instances
  Decimal total;
  for (std::size_t i = 0; i < 7; ++i) {
    EXPECT_EQ(tag(r.records[i], "mig_instance"), std::to_string(7 + i));
    EXPECT_EQ(r.records[i].measures.at("gpu_seconds"),
              Decimal::parse(i == 3 || i == 4 ? "514.285714285715" : "514.285714285714"));
    total += r.records[i].measures.at("gpu_seconds");
  }
  EXPECT_EQ(total, Decimal(3600));
  EXPECT_EQ(r.records[0].measures.at("utilization"), Decimal::parse("0.412"));

  // Four instances are in namespace search, three in ranking: 2.00 and 1.50 of 3.50, and no
  // idle line at the card's capacity.
  const Value result = run(R"({"apportion": 1, "currency": "USD", "pools": [{"id": "a100", "cost": "3.50"}], "records": [],
    "inputs": [{"format": "dcgm", "path": "mig-7x1g.prom", "interval": 3600}],
    "steps": [{"id": "teams", "strategy": "per_namespace", "pool": "a100",
               "idle": {"capacity": "3600", "policy": "separate"}}]})");
  EXPECT_EQ(lines_of(result, "teams", "namespace"),
            (std::vector<std::string>{"allocated ranking 1.50", "allocated search 2.00"}));
}

TEST(DcgmFormat, MigCardWithoutTheMetric) {
  // tests/data/dcgm/mig-node.prom: a whole H100 and one split 3g + 2g + 1g + 1g (instance 10
  // free). By default (DCGM_FI_PROF_GR_ENGINE_ACTIVE) every instance is read: 60 s x 3/7,
  // 2/7, 1/7, 1/7, rounded together to 60: 25.714285714285714 (remainder .714, gets a unit),
  // 17.142857142857142 (.142), 8.571428571428571 twice (.571: the tie goes to the first by
  // tags, embedder-0, whose tags begin with container).
  const auto r = ingest_test::ingest_both_ways("dcgm", read_data("dcgm/mig-node.prom"), R"({"interval": 60})");
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.rows, 16u);
  EXPECT_EQ(tag(r.records[0], "pod"), "trainer-0");
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal(60));
  EXPECT_EQ(r.records[0].measures.at("utilization"), Decimal::parse("0.912"));
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal::parse("25.714285714286"));
  EXPECT_EQ(r.records[2].measures.at("gpu_seconds"), Decimal::parse("17.142857142857"));
  EXPECT_EQ(r.records[3].measures.at("gpu_seconds"), Decimal::parse("8.571428571429"));
  EXPECT_EQ(tag(r.records[4], "mig_instance"), "10");
  EXPECT_EQ(r.records[4].measures.at("idle_gpu_seconds"), Decimal::parse("8.571428571428"));
  EXPECT_EQ(seconds(r.records[1]) + seconds(r.records[2]) + seconds(r.records[3]) + seconds(r.records[4]), Decimal(60));

  // DCGM_FI_DEV_GPU_UTIL, which only the whole GPU has: the MIG card, shown by its
  // temperature series from line 4 on, is an error naming it and the metric to read.
  const std::string mig_error =
      "mig-node.prom line 4: GPU GPU-58e8f5ea-13cc-4a3a-d88f-2bcf5ae8bc77 (NVIDIA H100 80GB HBM3): MIG instances 1, 5, 9, "
      "10 have no DCGM_FI_DEV_GPU_UTIL series, so their time would go unseen; set metric to "
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE, which dcgm-exporter writes for MIG instances";
  EXPECT_EQ(error_both_ways("dcgm", read_data("dcgm/mig-node.prom"), R"({"interval": 60, "metric": "DCGM_FI_DEV_GPU_UTIL"})",
                     "mig-node.prom"),
            mig_error);
  const auto util = ingest_test::ingest_both_ways("dcgm", read_data("dcgm/mig-node.prom"),
                           R"({"interval": 60, "metric": "DCGM_FI_DEV_GPU_UTIL", "skip_invalid": true})", "mig-node.prom");
  ASSERT_EQ(util.records.size(), 1u);
  EXPECT_EQ(util.records[0].measures.at("utilization"), Decimal::parse("0.93"));
  EXPECT_EQ(util.skipped_reasons, std::vector<std::string>{mig_error});

  // One instance left out of the metric (a scrape that lost it) is an error too.
  std::string partial = read_data("dcgm/mig-node.prom");
  const std::size_t cut = partial.rfind("DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"1\"");
  partial.erase(cut, partial.find('\n', cut) + 1 - cut);  // instance 10
  EXPECT_EQ(error_both_ways("dcgm", partial, R"({"interval": 60})", "mig-node.prom"),
            "mig-node.prom line 7: GPU GPU-58e8f5ea-13cc-4a3a-d88f-2bcf5ae8bc77 (NVIDIA H100 80GB HBM3): MIG "
            "instance 10 has no DCGM_FI_PROF_GR_ENGINE_ACTIVE series, so its time would go unseen; check that "
            "dcgm-exporter collects DCGM_FI_PROF_GR_ENGINE_ACTIVE (a profiling metric) for every instance");

  // A MIG card's series without GPU_I_ID (dcgm-exporter -d g monitors the GPU itself) would
  // count the whole GPU beside its instances.
  const std::string both =
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\",UUID=\"GPU-m\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"n\"} 0.300000\n" +
      mig_line("GPU-m", "NVIDIA H100 80GB HBM3", "7g.80gb", "0", "p-0");
  EXPECT_EQ(error_both_ways("dcgm", both, R"({"interval": 60})"),
            "sample.txt line 1: GPU GPU-m is in MIG mode (instance 0 at sample.txt line 2) but this "
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE series has no GPU_I_ID: it would count the whole GPU beside its instances");
  const auto kept = ingest_test::ingest_both_ways("dcgm", both, R"({"interval": 60, "skip_invalid": true})");
  ASSERT_EQ(kept.records.size(), 1u);
  EXPECT_EQ(kept.records[0].measures.at("gpu_seconds"), Decimal(60));  // 7g: the whole GPU, once
}

// A GPU without a series of the metric would go unseen: DCGM_FI_PROF_* needs a Volta or newer
// GPU (NVIDIA/dcgm-exporter#395: two M60s write DCGM_FI_DEV_GPU_UTIL only) and DCGM's profiling
// module serving it (NVIDIA/DCGM#226: none on H100 and H200 nodes; #218: DCGM 4.1.1 skips a
// Hopper GPU for profiling beside Ampere ones). tests/data/dcgm/no-profiling.prom: an A100 with
// the profiling field and an H100 without it, both with DCGM_FI_DEV_GPU_UTIL and FB_USED.
TEST(DcgmFormat, GpuWithoutTheMetric) {
  const std::string text = read_data("dcgm/no-profiling.prom");
  // Before: one record (train-0, 3600 s), no error; infer-0's 3600 GPU-seconds were gone.
  const std::string error =
      "no-profiling.prom line 4: GPU GPU-2e8f4a61-9c3b-4d7e-a5f0-6b1c8d2e4f93 (NVIDIA H100 PCIe) has no "
      "DCGM_FI_PROF_GR_ENGINE_ACTIVE series, so its time would go unseen; set metric to DCGM_FI_DEV_GPU_UTIL, which "
      "the file has for it (profiling metrics need a Volta or newer GPU and DCGM's profiling module)";
  EXPECT_EQ(error_both_ways("dcgm", text, R"({"interval": "1h"})", "no-profiling.prom"), error);
  const auto skipped = ingest_test::ingest_both_ways("dcgm", text, R"({"interval": "1h", "skip_invalid": true})", "no-profiling.prom");
  ASSERT_EQ(skipped.records.size(), 1u);
  EXPECT_EQ(tag(skipped.records[0], "pod"), "train-0");
  EXPECT_EQ(skipped.records[0].measures.at("gpu_seconds"), Decimal(3600));
  EXPECT_EQ(skipped.skipped, 1u);
  EXPECT_EQ(skipped.skipped_reasons, std::vector<std::string>{error});
  // The metric both GPUs have: 3600 s each, utilisation 88 % and 64 %.
  const auto util = ingest_test::ingest_both_ways("dcgm", text, R"({"interval": "1h", "metric": "DCGM_FI_DEV_GPU_UTIL"})");
  ASSERT_EQ(util.records.size(), 2u);
  EXPECT_EQ(util.records[1].measures.at("gpu_seconds"), Decimal(3600));
  EXPECT_EQ(util.records[1].measures.at("utilization"), Decimal::parse("0.64"));
  EXPECT_EQ(util.skipped, 0u);
  // A range query can read each GPU through the metric it has: `DCGM_FI_PROF_GR_ENGINE_ACTIVE
  // or DCGM_FI_DEV_GPU_UTIL / 100` keeps the A100's ratio and adds the H100's utilisation as a
  // ratio, a series without __name__ (PromQL's `or` matches label sets without it; the
  // division drops it), which dcgm reads as the metric. Two samples 30 s apart: 30 s each.
  const std::string either =
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","UUID":"GPU-a","gpu":"0","modelName":"NVIDIA A100 80GB PCIe","namespace":"nlp","pod":"train-0"},"values":[[1780272000,"0.85"],[1780272030,"0.85"]]},)"
      R"({"metric":{"UUID":"GPU-b","gpu":"1","modelName":"NVIDIA H100 PCIe","namespace":"vision","pod":"infer-0"},"values":[[1780272000,"0.64"],[1780272030,"0.64"]]}]}})";
  const auto mixed = ingest_test::ingest_both_ways("dcgm", either, R"({"max_gap": 45})");
  ASSERT_EQ(mixed.records.size(), 2u);
  EXPECT_EQ(mixed.records[0].measures.at("gpu_seconds"), Decimal(30));
  EXPECT_EQ(mixed.records[1].measures.at("gpu_seconds"), Decimal(30));
  EXPECT_EQ(mixed.records[1].measures.at("utilization"), Decimal::parse("0.64"));

  // One mechanism for whole GPUs and MIG instances: tests/data/dcgm/mig-node.prom without the
  // whole H100's series of the metric and MIG instance 10's gives two errors, each GPU first
  // seen in the temperatures (lines 3 and 7); with skip_invalid both are counted.
  std::string partial = read_data("dcgm/mig-node.prom");
  for (const char* cut : {"DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"0\"", "DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"1\""}) {
    const std::size_t at = partial.rfind(cut);  // gpu 1: instance 10, the last line
    partial.erase(at, partial.find('\n', at) + 1 - at);
  }
  const auto both = ingest_test::ingest_both_ways("dcgm", partial, R"({"interval": 60, "skip_invalid": true})", "mig-node.prom");
  EXPECT_EQ(both.skipped_reasons,
            (std::vector<std::string>{
                "mig-node.prom line 3: GPU GPU-1c5e7a93-4d2f-4b68-9e0a-3f5b7d9c1e24 (NVIDIA H100 80GB HBM3) has no "
                "DCGM_FI_PROF_GR_ENGINE_ACTIVE series, so its time would go unseen; set metric to DCGM_FI_DEV_GPU_UTIL, "
                "which the file has for it (profiling metrics need a Volta or newer GPU and DCGM's profiling module)",
                "mig-node.prom line 7: GPU GPU-58e8f5ea-13cc-4a3a-d88f-2bcf5ae8bc77 (NVIDIA H100 80GB HBM3): MIG "
                "instance 10 has no DCGM_FI_PROF_GR_ENGINE_ACTIVE series, so its time would go unseen; check that "
                "dcgm-exporter collects DCGM_FI_PROF_GR_ENGINE_ACTIVE (a profiling metric) for every instance"}));
  EXPECT_EQ(both.records.size(), 3u);  // MIG instances 1, 5 and 9

  // A GPU with no other utilisation metric either: the exporter must collect the metric for it.
  const std::string only_memory =
      "DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-q\",modelName=\"Tesla P100-PCIE-16GB\",Hostname=\"n\"} 1024\n" +
      mig_line("GPU-m", "NVIDIA A100-SXM4-40GB", "7g.40gb", "0", "p-0");
  EXPECT_EQ(error_both_ways("dcgm", only_memory, R"({"interval": 60})"),
            "sample.txt line 1: GPU GPU-q (Tesla P100-PCIE-16GB) has no DCGM_FI_PROF_GR_ENGINE_ACTIVE series, so its "
            "time would go unseen; check that dcgm-exporter collects DCGM_FI_PROF_GR_ENGINE_ACTIVE for it (profiling "
            "metrics need a Volta or newer GPU and DCGM's profiling module)");
  // Series of other exporters (no DCGM_ name) show no card, even with a UUID label.
  const auto other = ingest_test::ingest_both_ways(
      "dcgm", "nvidia_smi_utilization_gpu_ratio{uuid=\"GPU-q\"} 0.5\n" + mig_line("GPU-m", "NVIDIA A100-SXM4-40GB", "7g.40gb", "0", "p-0"),
      R"({"interval": 60})");
  EXPECT_EQ(other.records.size(), 1u);
}

TEST(DcgmFormat, MigModels) {
  // Slices per model (NVIDIA MIG User Guide, "Supported GPUs"): each 1g instance of a 7-slice
  // card holds 70/7 = 10 s of a 70 s scrape, of a 4-slice card 17.5, of a 2-slice card 35.
  const std::pair<const char*, const char*> models[] = {
      {"NVIDIA B200", "10"},          {"NVIDIA GB200", "10"},
      {"NVIDIA H20", "10"},           {"NVIDIA H200", "10"},
      {"NVIDIA H200 NVL", "10"},      {"NVIDIA GH200 480GB", "10"},
      {"NVIDIA H800", "10"},          {"NVIDIA A800-SXM4-80GB", "10"},
      {"NVIDIA-H100-80GB-HBM3", "10"}, {"NVIDIA B300 SXM6 AC", "10"},
      {"NVIDIA A30", "17.5"},         {"NVIDIA RTX PRO 6000 Blackwell Server Edition", "17.5"},
      {"NVIDIA RTX PRO 5000 Blackwell", "35"}};
  for (const auto& [model, want] : models) {
    const auto r = ingest_test::ingest_both_ways("dcgm", mig_line("GPU-x", model, "1g.24gb", "1", "p"), R"({"interval": 70})");
    ASSERT_EQ(r.records.size(), 1u) << model;
    EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal::parse(want)) << model;
  }
  // A model the table does not know needs mig_slices; the table still counts the ones it knows.
  const std::string text = mig_line("GPU-x", "NVIDIA R200", "1g.30gb", "1", "p") +
                           mig_line("GPU-y", "NVIDIA B200", "1g.23gb", "1", "q");
  EXPECT_EQ(error_both_ways("dcgm", text, R"({"interval": 70})"),
            "sample.txt line 1: MIG slices of GPU model \"NVIDIA R200\" are not known: give mig_slices, the "
            "slices in a whole GPU");
  const auto r = ingest_test::ingest_both_ways("dcgm", text, R"({"interval": 70, "mig_slices": "8"})");
  EXPECT_EQ(r.records[0].measures.at("gpu_seconds"), Decimal::parse("8.75"));  // 70 / 8
  EXPECT_EQ(r.records[1].measures.at("gpu_seconds"), Decimal(10));            // a B200: 70 / 7
  EXPECT_EQ(error_both_ways("dcgm", text, R"({"interval": 70, "mig_slices": 7.5})"),
            "inputs[0].mig_slices: must be a positive whole number");
  EXPECT_EQ(error_both_ways("dcgm", text, R"({"interval": 70, "mig_slices": 0})"),
            "inputs[0].mig_slices: must be a positive whole number");
  EXPECT_EQ(error_both_ways("dcgm", mig_line("GPU-x", "NVIDIA A30", "7g.80gb", "0", "p"), R"({"interval": 70})"),
            "sample.txt line 1: MIG profile \"7g.80gb\" has more slices than a NVIDIA A30 (4)");
}

TEST(DcgmFormat, Scales) {
  const auto line = [](const std::string& metric, const std::string& value) {
    return metric + "{gpu=\"0\",UUID=\"GPU-a\",modelName=\"NVIDIA H100 80GB HBM3\",pod=\"p\",namespace=\"n\"} " + value + "\n";
  };
  // A ratio is read as it is; a percentage is divided by 100.
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", line("DCGM_FI_PROF_SM_ACTIVE", "0.250000"), R"({"interval": 1, "metric": "DCGM_FI_PROF_SM_ACTIVE"})")
                .records[0].measures.at("utilization"),
            Decimal::parse("0.25"));
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", line("DCGM_FI_DEV_MEM_COPY_UTIL", "25"), R"({"interval": 1, "metric": "DCGM_FI_DEV_MEM_COPY_UTIL"})")
                .records[0].measures.at("utilization"),
            Decimal::parse("0.25"));
  EXPECT_EQ(error_both_ways("dcgm", line("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "1.5"), R"({"interval": 1})"),
            "sample.txt line 1: DCGM_FI_PROF_GR_ENGINE_ACTIVE 1.5 is above 1 (a ratio)");
  EXPECT_EQ(error_both_ways("dcgm", line("DCGM_FI_DEV_GPU_UTIL", "101"), R"({"interval": 1, "metric": "DCGM_FI_DEV_GPU_UTIL"})"),
            "sample.txt line 1: DCGM_FI_DEV_GPU_UTIL 101 is above 100 (a percentage)");
  // A metric of unknown scale needs scale; bytes per second are no utilisation.
  EXPECT_EQ(error_both_ways("dcgm", line("DCGM_FI_PROF_PCIE_TX_BYTES", "1048576"), R"({"interval": 1, "metric": "DCGM_FI_PROF_PCIE_TX_BYTES"})"),
            "inputs[0].metric: the scale of DCGM_FI_PROF_PCIE_TX_BYTES is not known: give scale \"percent\" (0 to 100) or "
            "\"ratio\" (0 to 1) if it is a utilisation");
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", line("dcgm_gpu_utilization", "40"), R"({"interval": 1, "metric": "dcgm_gpu_utilization", "scale": "percent"})")
                .records[0].measures.at("utilization"),
            Decimal::parse("0.4"));
  EXPECT_EQ(error_both_ways("dcgm", line("DCGM_FI_DEV_GPU_UTIL", "40"), R"({"interval": 1, "metric": "DCGM_FI_DEV_GPU_UTIL", "scale": "ratio"})"),
            "inputs[0].scale: DCGM_FI_DEV_GPU_UTIL is a percentage (0 to 100), not a ratio (0 to 1)");
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", line("DCGM_FI_DEV_GPU_UTIL", "40"), R"({"interval": 1, "metric": "DCGM_FI_DEV_GPU_UTIL", "scale": "percent"})")
                .records.size(),
            1u);
  EXPECT_EQ(error_both_ways("dcgm", line("x", "1"), R"({"interval": 1, "metric": "x", "scale": "fraction"})"),
            "inputs[0].scale: must be \"percent\" (0 to 100) or \"ratio\" (0 to 1) (got \"fraction\")");
}

TEST(DcgmFormat, Errors) {
  EXPECT_EQ(error_both_ways("dcgm", read_data("prometheus/dcgm_scrape.prom"), "{}").rfind("inputs[0].interval: is required for a text scrape", 0), 0u);
  const std::string range = read_data("prometheus/query_range.json");
  EXPECT_EQ(error_both_ways("dcgm", range, R"({"max_gap": 60, "metric": "DCGM_FI_DEV_GPU_UTIL"})"),
            "sample.txt data.result[1].values[1]: value is NaN");
  EXPECT_EQ(error_both_ways("dcgm", range, "{}").rfind("inputs[0].max_gap: is required for a range query", 0), 0u);
  EXPECT_EQ(error_both_ways("dcgm", range, R"({"max_gap": 60, "interval": 30})"), "inputs[0].interval: applies only to a text scrape");
  // The default metric is not in this answer, which holds DCGM_FI_DEV_GPU_UTIL only.
  EXPECT_EQ(error_both_ways("dcgm", range, R"({"max_gap": 60})"),
            "sample.txt: no DCGM_FI_PROF_GR_ENGINE_ACTIVE series; the file has DCGM_FI_DEV_GPU_UTIL: set metric to "
            "the one to read");
  EXPECT_EQ(error_both_ways("dcgm", "node_load1 0.5\n", R"({"interval": 30})"),
            "sample.txt: no DCGM_FI_PROF_GR_ENGINE_ACTIVE series, nor any other DCGM utilisation metric");
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", R"({"status":"success","data":{"resultType":"matrix","result":[]}})", R"({"max_gap": 60})").records.size(),
            0u);  // an empty window
  EXPECT_EQ(error_both_ways("dcgm", mig_line("GPU-a", "Tesla T4", "1g.5gb", "1", "p"), R"({"interval": 30})"),
            "sample.txt line 1: MIG slices of GPU model \"Tesla T4\" are not known: give mig_slices, the slices "
            "in a whole GPU");
  EXPECT_EQ(error_both_ways("dcgm", "DCGM_FI_PROF_GR_ENGINE_ACTIVE{pod=\"p\"} 0.5\n", R"({"interval": 30})"),
            "sample.txt line 1: series has no UUID label");
}

namespace {

// A query_range answer of two GPUs, in Prometheus' layout, with `extra` members after data.
std::string two_gpus(const std::string& extra = "", const std::string& label_b = "b-0") {
  return R"({"status":"success","data":{"resultType":"matrix","result":[)"
         R"({"metric":{"__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","gpu":"0","UUID":"GPU-a","Hostname":"n1","pod":"a-0","namespace":"x"},)"
         R"("values":[[1780272000,"0.5"],[1780272030,"0.5"],[1780272060,"0.5"]]},)"
         R"({"metric":{"__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","gpu":"1","UUID":"GPU-b","Hostname":"n1","pod":")" +
         label_b + R"(","namespace":"y"},"values":[[1780272000,"1"],[1780272030,"1"]]}]})" + extra + "}";
}

}  // namespace

TEST(IngestDcgm, ARangeAnswerStreamedGivesWhatItGivesReadWhole) {
  // ingest_both_ways reads each input whole and streamed a series at a time, and throws
  // when they differ in records, skipped rows, warnings or error.
  const auto plain = ingest_test::ingest_both_ways("dcgm", two_gpus(), R"({"max_gap": 45})");
  ASSERT_EQ(plain.records.size(), 2u);
  EXPECT_EQ(seconds(plain.records[0]).to_string(), "60");
  EXPECT_EQ(seconds(plain.records[1]).to_string(), "30");
  // Warnings after data, pretty-printed, escapes in a label: read as the answer says.
  const auto warned = ingest_test::ingest_both_ways(
      "dcgm", two_gpus(R"(,"warnings":["remote store 2 did not answer"])", R"(b\"0)"), R"({"max_gap": 45})", "q.json");
  EXPECT_EQ(warned.warnings, std::vector<std::string>{"q.json: Prometheus warned: remote store 2 did not answer"});
  EXPECT_EQ(tag(warned.records[1], "pod"), "b\"0");
  std::string pretty = two_gpus();
  for (std::size_t at = 0; (at = pretty.find(",\"", at)) != std::string::npos; at += 4) pretty.replace(at, 1, ",\n  ");
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", pretty, R"({"max_gap": 45})").records.size(), 2u);
  // data before status: read whole, the same.
  const std::string data_first = R"({"data":{"result":[],"resultType":"matrix"},"status":"success"})";
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", data_first, R"({"max_gap": 45})").records.size(), 0u);
  // What is wrong is told the same either way: a truncated body, an error answer, a vector,
  // a bad sample (told at once, or skipped).
  const std::string truncated = two_gpus().substr(0, 300);
  EXPECT_EQ(error_both_ways("dcgm", truncated, R"({"max_gap": 45})", "q.json").substr(0, 39),
            "q.json: not a Prometheus API response: ");
  EXPECT_EQ(error_both_ways("dcgm", R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})",
                            R"({"max_gap": 45})", "q.json"),
            "q.json: Prometheus returned an error (bad_data): parse error at char 5");
  EXPECT_EQ(error_both_ways("dcgm",
                            R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","UUID":"GPU-a"},"value":[1780272000,"0.5"]}]}})",
                            R"({"max_gap": 45})", "q.json"),
            "q.json: dcgm needs a range query (resultType matrix) or a text scrape, got \"vector\"");
  std::string bad = two_gpus();
  bad.replace(bad.find("\"1\"]]"), 3, "\"x\"");
  EXPECT_EQ(error_both_ways("dcgm", bad, R"({"max_gap": 45})", "q.json"),
            "q.json data.result[1].values[1]: bad value \"x\"");
  EXPECT_EQ(ingest_test::ingest_both_ways("dcgm", bad, R"({"max_gap": 45, "skip_invalid": true})").skipped, 1u);
  // A bad series before a syntax error: the syntax error is told, as read whole (a fuzz
  // finding: streamed, the series' error was thrown before the rest was read).
  std::string bad_then_broken = two_gpus();
  bad_then_broken.replace(bad_then_broken.find("\"metric\":{"), 10, "\"metric\":1,\"m\":{");
  bad_then_broken.replace(bad_then_broken.rfind("]]}"), 3, "]],}");
  EXPECT_EQ(error_both_ways("dcgm", bad_then_broken, R"({"max_gap": 45})", "q.json").substr(0, 39),
            "q.json: not a Prometheus API response: ");
}

TEST(IngestDcgm, AMigCardsWholeGpuSeriesIsLeftOutWhenStreamedToo) {
  // The whole-GPU series comes first; only the instances' series after it show the card is
  // in MIG mode. Streamed, its records are read and then dropped: the same as read whole.
  const std::string text =
      R"({"status":"success","data":{"resultType":"matrix","result":[)"
      R"({"metric":{"__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","UUID":"GPU-m","pod":"whole-0"},"values":[[1780272000,"1"],[1780272060,"1"]]},)"
      R"({"metric":{"__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","UUID":"GPU-m","GPU_I_ID":"1","GPU_I_PROFILE":"3g.40gb","modelName":"NVIDIA A100-SXM4-80GB","pod":"p-1"},"values":[[1780272000,"1"],[1780272060,"1"]]},)"
      R"({"metric":{"__name__":"DCGM_FI_PROF_GR_ENGINE_ACTIVE","UUID":"GPU-m","GPU_I_ID":"2","GPU_I_PROFILE":"4g.40gb","modelName":"NVIDIA A100-SXM4-80GB","pod":"p-2"},"values":[[1780272000,"1"],[1780272060,"1"]]}]}})";
  const auto r = ingest_test::ingest_both_ways("dcgm", text, R"({"max_gap": 90, "skip_invalid": true})", "q.json");
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(tag(r.records[0], "pod"), "p-1");
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(error_both_ways("dcgm", text, R"({"max_gap": 90})", "q.json").substr(0, 59),
            "q.json data.result[0]: GPU GPU-m is in MIG mode (instance 1");
}

TEST(IngestDcgm, AMonthAnswerStreamedIsReadTheSameUnderASeries) {
  // examples/data/june/dcgm.json: a month at an hourly step, into 30 daily buckets.
  const std::vector<Interval> days =
      buckets_between(Instant::parse("2026-06-01T00:00:00Z"), Instant::parse("2026-07-01T00:00:00Z"), BucketStep::day);
  const ingest::BucketScope scope(&days);
  std::ifstream in(std::string(APPORTION_TEST_DATA) + "/../../examples/data/june/dcgm.json", std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto r = ingest_test::ingest_both_ways("dcgm", text, R"({"max_gap": 5400})", "dcgm.json");
  // Every day, the eight GPUs observed for 24 hours each: 691,200 GPU-seconds, idle included.
  std::map<std::string, Decimal> per_day;
  for (const Record& rec : r.records) per_day[rec.start->to_string()] += seconds(rec);
  ASSERT_EQ(per_day.size(), 30u);
  for (const auto& [day, total] : per_day) EXPECT_EQ(total.to_string(), "691200") << day;
}
