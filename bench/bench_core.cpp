// Micro-benchmarks of the hot paths: decimal parsing, the exact split and a whole spec run.
// Build with -DAPPORTION_BENCH=ON and run build/bench/bench_core.

#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include <apportion/apportion.hpp>

namespace {

void BM_DecimalParse(benchmark::State& state) {
  const std::vector<std::string> texts{"31.36", "0.0000000375", "1.5e-07", "-12345678.901234", "8294400"};
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(apportion::Decimal::parse(texts[i++ % texts.size()]));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecimalParse);

void BM_AllocateByWeights(benchmark::State& state) {
  std::mt19937_64 rng(42);
  std::vector<apportion::Rational> weights;
  for (int i = 0; i < state.range(0); ++i) weights.emplace_back(static_cast<long long>(rng() % 1'000'000));
  const auto total = apportion::Decimal::parse("1234567.89");
  const auto unit = apportion::Decimal::parse("0.01");
  for (auto _ : state) benchmark::DoNotOptimize(apportion::allocate_by_weights(total, weights, unit));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AllocateByWeights)->Arg(10)->Arg(200)->Arg(10'000);

void BM_RunSpec(benchmark::State& state) {
  std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "98.32"}], "records": [)";
  for (int i = 0; i < state.range(0); ++i) {
    if (i) spec += ",";
    spec += R"({"tags": {"namespace": "ns-)" + std::to_string(i % 200) + R"("}, "measures": {"gpu_seconds": )" +
            std::to_string(1000 + i) + "}}";
  }
  spec += R"(], "steps": [{"id": "s", "strategy": "per_namespace", "pool": "p"}]})";
  for (auto _ : state) benchmark::DoNotOptimize(apportion::run_spec(spec));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RunSpec)->Arg(1'000)->Arg(100'000);

}  // namespace
