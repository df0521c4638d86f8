// Micro-benchmarks of the columnar core: group sums over integer columns, the exact split
// over group sums, PartialAggregate rows, and CSV scanning with and without `aggregate`.
// Build with -DAPPORTION_BENCH=ON and run build/bench/bench_columnar.

#include <benchmark/benchmark.h>

#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <apportion/apportion.hpp>

namespace {

struct Columns {
  std::vector<std::uint32_t> ids;
  std::vector<std::int64_t> weights;
};

Columns make_columns(std::size_t rows, std::size_t groups) {
  std::mt19937_64 rng(42);
  Columns c;
  c.ids.resize(rows);
  c.weights.resize(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    c.ids[i] = static_cast<std::uint32_t>(rng() % groups);
    c.weights[i] = static_cast<std::int64_t>(rng() % 1'000'000'000'000);
  }
  return c;
}

// Rows per second of group_sums: range(0) rows over range(1) groups.
void BM_GroupSums(benchmark::State& state) {
  const Columns c = make_columns(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
  for (auto _ : state)
    benchmark::DoNotOptimize(apportion::group_sums(c.ids, c.weights, static_cast<std::size_t>(state.range(1))));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_GroupSums)->Args({10'000'000, 4000})->Args({10'000'000, 16})->Args({10'000'000, 1'000'000})
    ->Unit(benchmark::kMillisecond);

// The whole columnar split (group sums, then the split) as apn_split_columnar and
// apportion.split_columnar run it.
void BM_ColumnarSplit(benchmark::State& state) {
  const std::size_t groups = static_cast<std::size_t>(state.range(1));
  const Columns c = make_columns(static_cast<std::size_t>(state.range(0)), groups);
  const auto pool = apportion::Decimal::parse("1234567.89");
  const auto unit = apportion::Decimal::parse("0.01");
  for (auto _ : state)
    benchmark::DoNotOptimize(apportion::split_pool(pool, unit, apportion::group_sums(c.ids, c.weights, groups)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ColumnarSplit)->Args({10'000'000, 4000})->Unit(benchmark::kMillisecond);

// The split alone, over range(0) group sums.
void BM_SplitUnits(benchmark::State& state) {
  std::mt19937_64 rng(7);
  std::vector<apportion::int128> sums(static_cast<std::size_t>(state.range(0)));
  for (auto& s : sums) s = static_cast<apportion::int128>(rng() % 1'000'000'000'000);
  for (auto _ : state) benchmark::DoNotOptimize(apportion::split_units(123'456'789, sums));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SplitUnits)->Arg(200)->Arg(10'000)->Arg(1'000'000);

// A CSV like the streaming benchmark's: namespace (200), team (20), pod, gpu_seconds.
std::string make_csv(std::size_t rows) {
  std::mt19937_64 rng(1);
  std::string text = "namespace,team,pod,gpu_seconds\n";
  for (std::size_t i = 0; i < rows; ++i) {
    text += "ns-" + std::to_string(rng() % 200) + ",team-" + std::to_string(rng() % 20) + ",pod-" +
            std::to_string(rng() % 1'000'000) + "," + std::to_string(rng() % 86'400) + "\n";
  }
  return text;
}

// Bytes and rows per second of the csv format over an in-memory stream; range(0) is 1 for
// `aggregate`, 0 for one record per row.
void BM_CsvScan(benchmark::State& state) {
  const std::size_t rows = 1'000'000;
  const std::string text = make_csv(rows);
  const bool aggregate = state.range(0) != 0;
  const apportion::Value options = apportion::parse_json(
      std::string(R"({"tags": "namespace,team", "measures": "gpu_seconds", "aggregate": )") +
      (aggregate ? "true}" : "false}"));
  for (auto _ : state) {
    std::istringstream in(text);
    apportion::ObjectReader reader(options, "inputs[0]");
    benchmark::DoNotOptimize(apportion::IngestRegistry::global().parse_stream("csv", in, reader, "usage.csv"));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(rows));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_CsvScan)->Arg(1)->Arg(0)->Unit(benchmark::kMillisecond);

}  // namespace
