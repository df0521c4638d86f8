// Splits one GPU node's monthly cost across namespaces from C++, without any JSON:
// build pools, records and a step, run them, and iterate the lines.

#include <iostream>

#include <apportion/apportion.hpp>

int main() {
  using namespace apportion;

  Allocation month;
  Pool node;
  node.id = "node-1";
  node.source = CostSource{Decimal::parse("23520.00")};
  month.pools.push_back(node);
  const auto usage = [&](const char* ns, long long gpu_seconds) {
    Record r;
    r.tags = Tags{{"namespace", ns}};
    r.measures["gpu_seconds"] = Decimal(gpu_seconds);
    month.records.push_back(r);
  };
  usage("nlp", 9'000'000);
  usage("vision", 6'000'000);
  usage("kube-system", 300'000);

  PerNamespace::Options options;
  options.overhead_policy = ProportionalPolicy{};  // spread kube-system over the teams
  options.idle_capacity = Decimal(8 * 30 * 86'400);  // 8 GPUs for 30 days, in GPU-seconds
  month.steps.push_back({"teams", std::make_shared<PerNamespace>(options), "node-1", {}, {}});

  const Result result = run(month);
  for (const Line& line : result.lines)
    std::cout << to_string(line.kind) << "  " << line.tags.get("namespace").value_or("") << "  "
              << line.cost.to_fixed(2) << " " << result.currency.code() << "\n";
}
