#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

Rational WeightExpression::of(const Record& record) const {
  Rational w = 0;
  for (const auto& [measure, coefficient] : terms) w += record.exact_measure(measure) * coefficient.to_rational();
  return w;
}

std::optional<Decimal> WeightExpression::decimal_of(const Record& record) const {
  if (record.portioned()) return std::nullopt;  // a part of a record in a bucket: a Rational
  int128 sum = 0;
  for (const auto& [measure, coefficient] : terms) {
    const int128 amount = record.measure(measure).raw();
    int128 term = amount;
    if (coefficient.raw() != Decimal::one_raw) {
      if (coefficient.raw() % Decimal::one_raw != 0) return std::nullopt;
      if (__builtin_mul_overflow(amount, coefficient.raw() / Decimal::one_raw, &term)) return std::nullopt;
    }
    if (__builtin_add_overflow(sum, term, &sum)) return std::nullopt;
  }
  return Decimal::from_raw(sum);
}

std::vector<std::string> WeightExpression::measures() const {
  std::vector<std::string> out;
  for (const auto& [measure, coefficient] : terms) out.push_back(measure);
  return out;
}

RecordNeeds Proportional::record_needs() const { return {{}, weight_.measures(), false}; }

StepOutput Proportional::run(const StepInput& input) const {
  GroupedSums sums(input.group_by, input.step.keep_present_keys);
  for (const Record* r : input.records) {
    if (const auto w = weight_.decimal_of(*r)) sums.add(*r, *w);
    else sums.add(*r, weight_.of(*r));
  }
  const Rational total = sums.total();
  return split_by_weight(input, std::move(sums).lines(input), total);
}

APPORTION_END_NAMESPACE
