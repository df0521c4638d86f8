#include <stdexcept>

#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

Commitment::Commitment(Options options) : options_(std::move(options)) {
  if (options_.covers.signum() < 0) throw std::invalid_argument("covers must not be negative");
}

RecordNeeds Commitment::record_needs() const { return {{}, options_.weight.measures(), false}; }

// Reserved instances, savings plans, committed-use discounts, credits: the pool pays for
// `covers` units of usage. Consumers pay for what they used of it, pool x weight /
// max(covers, W); what nobody used is settled by the unused policy, with the same mechanics
// as per_namespace's idle capacity.
StepOutput Commitment::run(const StepInput& input) const {
  const std::string policy_path = input.step_path + ".unused";
  check_policy(options_.unused_policy, policy_path, input.group_by);  // whether or not anything is unused

  GroupedSums sums(input.group_by, input.step.keep_present_keys);
  for (const Record* r : input.records) {
    if (const auto w = options_.weight.decimal_of(*r)) sums.add(*r, *w);
    else sums.add(*r, options_.weight.of(*r));
  }
  const Rational total = sums.total();
  const Rational covers = options_.covers.to_rational();
  const Rational unused = covers > total ? covers - total : Rational(0);
  const Rational denominator = std::max(covers, total);
  if (denominator == 0) return split_by_weight(input, {}, 0);

  std::vector<WeightedLine> lines = std::move(sums).lines(input);
  // The usage of each line before the unused part is settled; settling only grows lines in
  // place or appends new ones, and split_by_weight keeps the order.
  std::vector<Rational> used;
  used.reserve(lines.size() + 1);
  for (const WeightedLine& l : lines) used.push_back(l.weight);
  if (unused > 0 && !settle_by_policy(lines, options_.unused_policy, unused, policy_path, input.group_by, Absorbed::idle))
    lines.push_back({LineKind::idle, grouping::marker_tags(input.group_by, unused_value), unused, 0});
  used.resize(lines.size(), Rational(0));

  StepOutput out = split_by_weight(input, std::move(lines), denominator);
  const Rational pool = input.pool_cost.value_or(Decimal{}).to_rational();
  for (std::size_t i = 0; i < out.lines.size(); ++i) {
    DraftLine& d = out.lines[i];
    Rational split = pool * used[i] / denominator;
    d.unused_cost = d.cost - split;
    d.split_cost = std::move(split);
  }
  return out;
}

APPORTION_END_NAMESPACE
