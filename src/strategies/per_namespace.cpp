#include "apportion/strategies.hpp"

#include <algorithm>
#include <set>

APPORTION_BEGIN_NAMESPACE

void check_policy(const CostPolicy& policy, const std::string& policy_path, std::span<const std::string> group_by) {
  const auto* assign = std::get_if<AssignPolicy>(&policy);
  if (!assign) return;
  std::set<std::string> keys;
  for (const auto& [k, v] : assign->tags) keys.insert(k);
  if (keys != std::set<std::string>(group_by.begin(), group_by.end()))
    throw SpecError(policy_path + ".assign", "tags must have exactly the step's group_by keys");
}

bool settle_by_policy(std::vector<WeightedLine>& lines, const CostPolicy& policy, const Rational& weight,
                      const std::string& policy_path, std::span<const std::string> group_by) {
  if (std::holds_alternative<SeparatePolicy>(policy)) return false;
  if (const auto* assign = std::get_if<AssignPolicy>(&policy)) {
    check_policy(policy, policy_path, group_by);
    auto it = std::find_if(lines.begin(), lines.end(), [&](const WeightedLine& l) {
      return l.kind == LineKind::allocated && l.tags == assign->tags;
    });
    if (it == lines.end()) {
      lines.push_back({LineKind::allocated, assign->tags, 0, 0});
      it = std::prev(lines.end());
    }
    it->weight += weight;  // assigned weight is reported on the line that absorbs it
    return true;
  }
  if (std::holds_alternative<EvenPolicy>(policy)) {
    const auto n = std::count_if(lines.begin(), lines.end(), [](const WeightedLine& l) { return l.kind == LineKind::allocated; });
    if (n == 0) return false;
    for (WeightedLine& l : lines)
      if (l.kind == LineKind::allocated) l.spread_weight += weight / static_cast<long long>(n);
    return true;
  }
  Rational allocated = 0;
  for (const WeightedLine& l : lines)
    if (l.kind == LineKind::allocated) allocated += l.weight + l.spread_weight;
  if (allocated == 0) return false;
  for (WeightedLine& l : lines)
    if (l.kind == LineKind::allocated) l.spread_weight += weight * (l.weight + l.spread_weight) / allocated;
  return true;
}

// The namespace (and the overhead tags) tell overhead from the rest, whatever the step groups by.
RecordNeeds PerNamespace::record_needs() const {
  RecordNeeds needs{{"namespace"}, options_.weight.measures(), false};
  for (const auto& [key, values] : options_.overhead_tags) needs.keys.push_back(key);
  return needs;
}

LineKind PerNamespace::kind_of(const Record& record) const {
  const auto ns = record.tags.get("namespace");
  const auto& list = options_.overhead_namespaces;
  if (ns && std::find(list.begin(), list.end(), *ns) != list.end()) return LineKind::overhead;
  for (const auto& [key, values] : options_.overhead_tags) {
    const auto v = record.tags.get(key);
    if (v && std::find(values.begin(), values.end(), *v) != values.end()) return LineKind::overhead;
  }
  return LineKind::allocated;
}

StepOutput PerNamespace::run(const StepInput& input) const {
  GroupedSums sums(input.group_by);
  std::map<Tags, Rational> overhead;
  Rational overhead_total = 0;
  for (const Record* r : input.records) {
    if (kind_of(*r) == LineKind::overhead) {
      const Rational w = options_.weight.of(*r);
      overhead[grouping::key_or_marker(*r, input.group_by, grouping::unallocated_value)] += w;
      overhead_total += w;
    } else if (const auto w = options_.weight.decimal_of(*r)) {
      sums.add(*r, *w);
    } else {
      sums.add(*r, options_.weight.of(*r));
    }
  }
  const Rational total = sums.total() + overhead_total;
  const Rational capacity = options_.idle_capacity ? options_.idle_capacity->to_rational() : Rational(0);
  const Rational idle = capacity > total ? capacity - total : Rational(0);
  const Rational denominator = std::max(capacity, total);
  if (denominator == 0) return split_by_weight(input, {}, 0);

  std::vector<WeightedLine> lines = std::move(sums).lines(input);
  const std::string path = input.step_path;
  // Usage beyond the capacity leaves no idle and is always a mistake somewhere: another
  // node's records in this step (a select missing), or a capacity too small.
  std::vector<std::string> warnings;
  if (options_.idle_capacity && total > capacity)
    warnings.push_back("the records weigh " + Decimal::from_rational(total, Decimal::from_raw(1)).to_string() +
                       ", more than the idle capacity " +
                       options_.idle_capacity->to_string() +
                       ", so no idle is left: do records of another node or period take part (a select missing)?");
  if (!overhead.empty() &&
      !settle_by_policy(lines, options_.overhead_policy, overhead_total, path + ".overhead.policy", input.group_by)) {
    for (const auto& [tags, w] : overhead) lines.push_back({LineKind::overhead, tags, w, 0});
  }
  if (idle > 0 && !settle_by_policy(lines, options_.idle_policy, idle, path + ".idle.policy", input.group_by))
    lines.push_back({LineKind::idle, grouping::marker_tags(input.group_by, grouping::idle_value), idle, 0});
  StepOutput out = split_by_weight(input, std::move(lines), denominator);
  out.warnings = std::move(warnings);
  return out;
}

APPORTION_END_NAMESPACE
