#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

// Every group present weighs 1, the unallocated group (records lacking a key) included.
StepOutput Even::run(const StepInput& input) const {
  GroupedWeights g;
  for (const Record* r : input.records) g.add(input, *r, 0);
  std::vector<WeightedLine> lines = g.lines(input);
  for (WeightedLine& l : lines) l.weight = 1;
  const Rational groups(static_cast<long long>(lines.size()));
  return split_by_weight(input, std::move(lines), groups);
}

APPORTION_END_NAMESPACE
