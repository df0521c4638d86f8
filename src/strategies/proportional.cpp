#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

Rational WeightExpression::of(const Record& record) const {
  Rational w = 0;
  for (const auto& [measure, coefficient] : terms) w += record.measure(measure).to_rational() * coefficient.to_rational();
  return w;
}

StepOutput Proportional::run(const StepInput& input) const {
  GroupedWeights g;
  for (const Record* r : input.records) g.add(input, *r, weight_.of(*r));
  return split_by_weight(input, g.lines(input), g.total);
}

APPORTION_END_NAMESPACE
