// Micro-benchmarks of the hot paths: decimal parsing, the exact split, spec parsing (JSON
// to Value, and JSON to a checked Allocation) and a whole spec run. Build with
// -DAPPORTION_BENCH=ON and run build/bench/bench_core (see bench/README.md).

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

// A spec of `records` inline records, {"tags": {"namespace", "team"}, "measures":
// {"gpu_seconds"}}, with one per_namespace step.
std::string make_spec(long long records) {
  std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "98.32"}], "records": [)";
  for (long long i = 0; i < records; ++i) {
    if (i) spec += ",\n";
    spec += R"({"tags": {"namespace": "ns-)" + std::to_string(i % 200) + R"(", "team": "team-)" +
            std::to_string(i % 20) + R"("}, "measures": {"gpu_seconds": )" + std::to_string(1000 + i) + "}}";
  }
  spec += R"(], "steps": [{"id": "s", "strategy": "per_namespace", "pool": "p"}]})";
  return spec;
}

// JSON text to the generic Value tree (parse_json): what every JSON entry point starts with.
void BM_ParseJson(benchmark::State& state) {
  const std::string spec = make_spec(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(apportion::parse_json(spec));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<long long>(spec.size()));
}
BENCHMARK(BM_ParseJson)->Arg(100'000)->Unit(benchmark::kMillisecond);

// Spec text to a checked Allocation (allocation_from_json, as run_spec and the command line
// read a spec): the parse without the run.
void BM_ParseSpec(benchmark::State& state) {
  const std::string spec = make_spec(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(apportion::allocation_from_json(spec));
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<long long>(spec.size()));
}
BENCHMARK(BM_ParseSpec)->Arg(100'000)->Unit(benchmark::kMillisecond);

// The same through the Value tree (allocation_from_spec(parse_json(...))), the path a
// caller holding a Value takes.
void BM_ParseSpecViaValue(benchmark::State& state) {
  const std::string spec = make_spec(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(apportion::allocation_from_spec(apportion::parse_json(spec)));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParseSpecViaValue)->Arg(100'000)->Unit(benchmark::kMillisecond);

// Parse, run and render the result document.
void BM_RunSpec(benchmark::State& state) {
  const std::string spec = make_spec(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(apportion::run_spec(spec));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_RunSpec)->Arg(1'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

}  // namespace
