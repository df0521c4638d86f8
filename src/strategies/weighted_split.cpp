#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

WeightedSplit::WeightedSplit(Options options) : options_(std::move(options)) {
  const auto gpus = options_.capacity.find("gpu");
  const bool has_gpus = gpus != options_.capacity.end() && gpus->second.signum() > 0;
  if (options_.weights) {
    weights_ = *options_.weights;
  } else if (has_gpus) {
    weights_ = {{"gpu", Decimal(9)}, {"cpu", Decimal::parse("0.9")}, {"memory_gb", Decimal::parse("0.1")}};
  } else {
    weights_ = {{"cpu", Decimal(9)}, {"memory_gb", Decimal(1)}};
  }
  bool any = false;
  for (const auto& [resource, capacity] : options_.capacity) {
    if (capacity.signum() < 0 || (weights_.contains(resource) && weights_.at(resource).signum() < 0))
      throw std::invalid_argument("capacities and weights must not be negative");
    if (capacity.signum() > 0 && weights_.contains(resource) && weights_.at(resource).signum() > 0) any = true;
  }
  if (!any) throw std::invalid_argument("capacity must give at least one weighted resource a positive amount");
}

// AWS split cost allocation: each resource's cost is weight x capacity x unit; a record
// pays for what it holds (by basis) of each, and unused capacity is shared or kept idle.
StepOutput WeightedSplit::run(const StepInput& input) const {
  struct Resource {
    std::string name;
    Rational capacity, weight, allocated;
  };
  std::vector<Resource> resources;
  Rational weighted_capacity = 0;
  for (const auto& [name, capacity] : options_.capacity) {
    const auto w = weights_.find(name);
    if (w == weights_.end() || w->second.is_zero() || capacity.is_zero()) continue;
    resources.push_back({name, capacity.to_rational(), w->second.to_rational(), 0});
    weighted_capacity += capacity.to_rational() * w->second.to_rational();
  }
  const auto alloc = [&](const Record& r, const std::string& name) -> Rational {
    const Rational reserved = r.reserved.contains(name) ? r.reserved.at(name).to_rational() : Rational(0);
    const Rational used = r.used.contains(name) ? r.used.at(name).to_rational() : reserved;
    switch (options_.basis) {
      case Basis::reserved: return reserved;
      case Basis::used: return used;
      case Basis::max: return std::max(reserved, used);
    }
    return reserved;
  };
  for (const Record* r : input.records)
    for (Resource& res : resources) res.allocated += alloc(*r, res.name);

  const Rational unit = input.pool_cost->to_rational() / weighted_capacity;
  struct Sum {
    Rational split, unused;
  };
  std::map<Tags, Sum> groups;
  std::map<Tags, Sum> unallocated;  // by the unallocated lines' tags
  Rational idle = 0;
  bool has_idle = false;  // decided by capacity, not by the cost's sign: a credit has idle too
  for (const Resource& res : resources) {
    if (res.capacity > res.allocated && (options_.unused == Unused::separate || res.allocated == 0)) {
      idle += (res.capacity - res.allocated) * res.weight * unit;
      has_idle = true;
    }
  }
  for (const Record* r : input.records) {
    Sum s;
    for (const Resource& res : resources) {
      const Rational a = alloc(*r, res.name);
      if (a == 0) continue;
      s.split += a / std::max(res.capacity, res.allocated) * res.capacity * res.weight * unit;
      if (options_.unused == Unused::proportional && res.capacity > res.allocated)
        s.unused += a / res.allocated * (res.capacity - res.allocated) * res.weight * unit;
    }
    Sum& target = [&]() -> Sum& {
      if (auto key = grouping::key_of(*r, input.group_by)) return groups[*key];
      return unallocated[grouping::unallocated_tags(*r, input.group_by, input.step.keep_present_keys)];
    }();
    target.split += s.split;
    target.unused += s.unused;
  }
  StepOutput out;
  const auto emit = [&](LineKind kind, Tags tags, const Sum& s) {
    DraftLine d;
    d.kind = kind;
    d.tags = std::move(tags);
    d.cost = s.split + s.unused;
    d.split_cost = s.split;
    d.unused_cost = s.unused;
    if (kind != LineKind::idle && s.unused != 0) d.absorbed_idle = s.unused;
    out.lines.push_back(std::move(d));
  };
  for (const auto& [tags, s] : groups) emit(LineKind::allocated, tags, s);
  if (has_idle) emit(LineKind::idle, grouping::marker_tags(input.group_by, grouping::idle_value), Sum{0, idle});
  for (const auto& [tags, s] : unallocated) emit(LineKind::unallocated, tags, s);
  return out;
}

APPORTION_END_NAMESPACE
