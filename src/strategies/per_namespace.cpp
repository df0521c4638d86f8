#include "apportion/strategies.hpp"

#include <algorithm>
#include <iterator>
#include <map>
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
                      const std::string& policy_path, std::span<const std::string> group_by, Absorbed as) {
  if (std::holds_alternative<SeparatePolicy>(policy)) return false;
  const auto absorb = [as](WeightedLine& l, const Rational& w) {
    (as == Absorbed::overhead ? l.absorbed_overhead : l.absorbed_idle) += w;
  };
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
    absorb(*it, weight);
    return true;
  }
  if (std::holds_alternative<EvenPolicy>(policy)) {
    const auto n = std::count_if(lines.begin(), lines.end(), [](const WeightedLine& l) { return l.kind == LineKind::allocated; });
    if (n == 0) return false;
    const Rational each = weight / static_cast<long long>(n);
    for (WeightedLine& l : lines)
      if (l.kind == LineKind::allocated) l.spread_weight += each, absorb(l, each);
    return true;
  }
  Rational allocated = 0;
  for (const WeightedLine& l : lines)
    if (l.kind == LineKind::allocated) allocated += l.weight + l.spread_weight.value();
  if (allocated == 0) return false;
  for (WeightedLine& l : lines)
    if (l.kind == LineKind::allocated) {
      const Rational w = weight * (l.weight + l.spread_weight.value()) / allocated;
      l.spread_weight += w;
      absorb(l, w);
    }
  return true;
}

// The namespace (and the overhead tags) tell overhead from the rest, whatever the step groups by.
RecordNeeds PerNamespace::record_needs() const {
  RecordNeeds needs{{"namespace"}, options_.weight.measures(), false};
  if (!options_.resource_weights.empty()) needs.measures.clear();
  for (const auto& [resource, weight] : options_.resource_weights)
    for (std::string& m : weight.measures()) needs.measures.push_back(std::move(m));
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
  if (!options_.resource_weights.empty()) return run_by_parts(input);
  GroupedSums sums(input.group_by, input.step.keep_present_keys);
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
      !settle_by_policy(lines, options_.overhead_policy, overhead_total, path + ".overhead.policy", input.group_by,
                        Absorbed::overhead)) {
    for (const auto& [tags, w] : overhead) lines.push_back({LineKind::overhead, tags, w, 0});
  }
  if (idle > 0 && !settle_by_policy(lines, options_.idle_policy, idle, path + ".idle.policy", input.group_by, Absorbed::idle))
    lines.push_back({LineKind::idle, grouping::marker_tags(input.group_by, grouping::idle_value), idle, 0});
  StepOutput out = split_by_weight(input, std::move(lines), denominator);
  out.warnings = std::move(warnings);
  return out;
}

// Each part is split on its own: a line's cost before idle is the sum over the parts of
// cost x its use / max(capacity, use of all); the rest of each part is idle, spread by each
// line's use of that part (policy proportional) or settled as a whole. Overhead (its lines'
// cost and idle, and the overhead resources) is spread by the lines' cost before idle, as
// OpenCost shares by cost before idle.
StepOutput PerNamespace::run_by_parts(const StepInput& input) const {
  const std::string& path = input.step_path;
  const std::string pool = input.step.pool.value_or("");
  if (input.parts.empty())
    throw SpecError(path + ".resources", "splits a pool broken down into \"parts\", and pool \"" + pool + "\" is not");
  const std::size_t n = input.parts.size();
  std::vector<const WeightExpression*> weight_of(n, nullptr);
  Rational total = 0, shared = 0;
  const auto& overhead_resources = options_.overhead_resources;
  for (std::size_t k = 0; k < n; ++k) {
    const PartInput& p = input.parts[k];
    total += p.cost;
    if (std::find(overhead_resources.begin(), overhead_resources.end(), p.part->resource) != overhead_resources.end()) {
      shared += p.cost;
      continue;
    }
    const auto it = options_.resource_weights.find(p.part->resource);
    if (it == options_.resource_weights.end())
      throw SpecError(path + ".resources", "gives no weight for resource \"" + p.part->resource + "\" of pool \"" + pool +
                                               "\" (give one, or list it in overhead.resources)");
    weight_of[k] = &it->second;
  }
  if (total == 0) return split_by_weight(input, {}, 0);

  struct PartLine {
    LineKind kind;
    Tags tags;
    std::vector<Rational> use;             // per part
    std::set<std::string_view> unplaced;   // resources its records use in none of their parts
  };
  std::vector<PartLine> lines;
  std::map<std::pair<LineKind, Tags>, std::size_t> index;
  // Per resource the pool has parts of, whether a record used it in a part.
  std::map<std::string_view, bool> placed;
  for (std::size_t k = 0; k < n; ++k)
    if (weight_of[k]) placed.try_emplace(input.parts[k].part->resource);
  for (const Record* r : input.records) {
    LineKind kind = kind_of(*r);
    Tags tags;
    if (kind == LineKind::overhead) {
      tags = grouping::key_or_marker(*r, input.group_by, grouping::unallocated_value);
    } else if (auto key = grouping::key_of(*r, input.group_by)) {
      tags = std::move(*key);
    } else {
      kind = LineKind::unallocated;
      tags = grouping::unallocated_tags(*r, input.group_by, input.step.keep_present_keys);
    }
    const auto [it, inserted] = index.try_emplace({kind, std::move(tags)}, lines.size());
    if (inserted) lines.push_back({kind, it->first.second, std::vector<Rational>(n)});
    std::vector<Rational>& use = lines[it->second].use;
    for (auto& [resource, yes] : placed) yes = false;
    for (std::size_t k = 0; k < n; ++k)
      if (weight_of[k] && r->tags.contains_all(input.parts[k].part->tags)) {
        use[k] += weight_of[k]->of(*r);
        placed[input.parts[k].part->resource] = true;
      }
    // Use of a resource in none of its parts (a tag spelt otherwise) weighs nothing: told below.
    for (const auto& [resource, yes] : placed)
      if (!yes && options_.resource_weights.at(std::string(resource)).of(*r) > 0)
        lines[it->second].unplaced.insert(resource);
  }

  const bool spread_idle_by_use = std::holds_alternative<ProportionalPolicy>(options_.idle_policy);
  std::vector<Rational> before(lines.size()), idle_share(lines.size());
  Rational idle_left = 0;  // idle not spread by use: settled as a whole
  StepOutput out;
  for (std::size_t k = 0; k < n; ++k) {
    if (!weight_of[k]) continue;
    const PartInput& p = input.parts[k];
    Rational used = 0;
    for (const PartLine& l : lines) used += l.use[k];
    const Rational capacity = p.part->capacity ? p.part->capacity->to_rational() : used;
    if (used > capacity)
      out.warnings.push_back(p.path + " (resource \"" + p.part->resource + "\") is used " +
                             Decimal::from_rational(used, Decimal::from_raw(1)).to_string() + ", more than its capacity " +
                             p.part->capacity->to_string() + ", so it has no idle");
    if (used == 0 && p.cost != 0)
      out.warnings.push_back(p.path + " (resource \"" + p.part->resource + "\") is used by no record taking part, so all of it "
                             "is idle: is a tag of its records or the measure of its weight spelt otherwise?");
    const Rational room = std::max(capacity, used);
    if (room == 0) {  // nothing could use it
      idle_left += p.cost;
      continue;
    }
    const Rational idle = p.cost * (room - used) / room;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].use[k] == 0) continue;
      before[i] += p.cost * lines[i].use[k] / room;
      if (spread_idle_by_use && idle != 0) idle_share[i] += idle * lines[i].use[k] / used;
    }
    if (!spread_idle_by_use || used == 0) idle_left += idle;
  }

  // Named by line, in line order, whatever the records' order.
  for (const auto& [resource, yes] : placed) {
    std::string which;
    std::size_t count = 0;
    for (const auto& [key, i] : index)
      if (lines[i].unplaced.contains(resource) && count++ < 5) which += (which.empty() ? "" : ", ") + braced(key.second);
    if (count == 0) continue;
    if (count > 5) which += " and " + std::to_string(count - 5) + " more";
    out.warnings.push_back("records of " + which + " use resource \"" + std::string(resource) +
                           "\" but hold none of the tags of pool \"" + pool + "\"'s " + std::string(resource) +
                           " parts, so that use weighs nothing");
  }

  std::vector<WeightedLine> weighted, overhead;
  std::vector<Rational> weighted_idle;
  Rational overhead_total = shared;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].kind == LineKind::overhead) {
      overhead_total += before[i] + idle_share[i];
      overhead.push_back({LineKind::overhead, std::move(lines[i].tags), std::move(before[i]), idle_share[i], 0, idle_share[i]});
    } else {
      weighted.push_back({lines[i].kind, std::move(lines[i].tags), std::move(before[i]), 0});
      weighted_idle.push_back(std::move(idle_share[i]));
    }
  }
  if (shared != 0) overhead.push_back({LineKind::overhead, grouping::marker_tags(input.group_by, shared_value), shared, 0});
  // Overhead first, by the lines' cost before idle; then each line's idle.
  const bool settled = !overhead.empty() && settle_by_policy(weighted, options_.overhead_policy, overhead_total,
                                                             path + ".overhead.policy", input.group_by, Absorbed::overhead);
  for (std::size_t i = 0; i < weighted_idle.size(); ++i) {
    weighted[i].spread_weight += weighted_idle[i];
    weighted[i].absorbed_idle += weighted_idle[i];
  }
  if (!settled) std::move(overhead.begin(), overhead.end(), std::back_inserter(weighted));
  if (idle_left > 0 && (spread_idle_by_use || !settle_by_policy(weighted, options_.idle_policy, idle_left, path + ".idle.policy",
                                                                input.group_by, Absorbed::idle)))
    weighted.push_back({LineKind::idle, grouping::marker_tags(input.group_by, grouping::idle_value), idle_left, 0});
  std::vector<std::string> warnings = std::move(out.warnings);
  out = split_by_weight(input, std::move(weighted), total);
  out.warnings = std::move(warnings);
  return out;
}

APPORTION_END_NAMESPACE
