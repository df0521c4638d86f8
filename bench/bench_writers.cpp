// The text writers on 1M-line results: JSON, CSV, the table, Markdown and Prometheus text.
// The result is built in memory (no run), so only the writing is timed. Build with
// -DAPPORTION_BENCH=ON and run build/bench/bench_writers (see bench/README.md).

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include <apportion/apportion.hpp>

namespace {

using apportion::Decimal;
using apportion::Rational;

// `lines` proportional lines of one pool, each with a namespace, a pod and a team, a cost
// of up to seven digits, a weight in GPU-seconds and a share; under `daily`, spread over
// 30 daily buckets (each line then also writes its bucket's two timestamps).
apportion::Result make_result(long long lines, bool daily) {
  apportion::Result r;
  r.currency = apportion::Currency("USD");
  r.precision = Decimal::parse("0.01");
  r.steps = {"by-pod"};
  r.pools = {{"gpu-nodes", Decimal::parse("1234567.89")}};
  const auto day0 = apportion::Instant::parse("2026-11-01T00:00:00Z");
  const long long total_weight = lines * 1000 + lines * (lines - 1) / 2 % 1'000'003;
  r.lines.reserve(static_cast<std::size_t>(lines));
  for (long long i = 0; i < lines; ++i) {
    apportion::Line l;
    l.step = "by-pod";
    l.pool = "gpu-nodes";
    if (daily) {
      const auto start = day0 + std::chrono::hours(24 * (i % 30));
      l.bucket = apportion::Interval(start, start + std::chrono::hours(24));
    }
    l.tags = apportion::Tags({{"namespace", "ns-" + std::to_string(i % 200)},
                              {"pod", "pod-" + std::to_string(i)},
                              {"team", "team-" + std::to_string(i % 20)}});
    const long long weight = 1000 + i % 1'000'003;
    l.cost = Decimal::parse(std::to_string(i % 100'000) + "." + std::to_string(10 + i % 90));
    l.exact_cost = l.cost.to_rational();
    l.weight = Rational(weight);
    l.share = Rational(weight, total_weight);
    r.lines.push_back(std::move(l));
  }
  return r;
}

template <std::string (*write)(const apportion::Result&)>
void BM_Write(benchmark::State& state) {
  const apportion::Result result = make_result(state.range(0), state.range(1) != 0);
  std::size_t bytes = 0;
  for (auto _ : state) {
    const std::string text = write(result);
    bytes = text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.SetBytesProcessed(state.iterations() * static_cast<long long>(bytes));
}

// Arguments: lines, and 1 for daily buckets.
#define APPORTION_WRITER_BENCH(name, fn)                                                               \
  BENCHMARK(BM_Write<fn>)->Name(name)->Args({1'000'000, 0})->Args({1'000'000, 1})->Unit(benchmark::kMillisecond) \
      ->Iterations(3)

APPORTION_WRITER_BENCH("BM_WriteJson", apportion::result_to_json);
APPORTION_WRITER_BENCH("BM_WriteCsv", apportion::result_to_csv);
APPORTION_WRITER_BENCH("BM_WriteTable", apportion::result_to_table);
APPORTION_WRITER_BENCH("BM_WriteMarkdown", apportion::result_to_markdown);
APPORTION_WRITER_BENCH("BM_WritePrometheus", apportion::result_to_prometheus);

}  // namespace
