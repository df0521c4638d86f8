#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

Rational PerExperiment::price(const Record& r, const Catalog* catalog) {
  for (const auto& [field, present] : {std::pair{"start", r.start.has_value()}, std::pair{"end", r.end.has_value()},
                                       std::pair{"count", r.count.has_value()}})
    if (!present) throw SpecError(r.origin, std::string("missing required key \"") + field + "\" of a priced run");
  if (!catalog) throw SpecError(r.origin + ".sku", "pricing a run needs a catalog, and the spec gives none");
  if (!catalog->find(*r.sku)) throw SpecError(r.origin + ".sku", "unknown SKU \"" + *r.sku + "\"");
  const Interval interval(*r.start, *r.end);
  const std::string tier = r.tier.value_or("on_demand");
  try {
    if (r.billed_part) return r.billed_part->to_rational();
    if (r.window) return catalog->run_cost_part(*r.sku, tier, *r.count, interval, *r.window);
    return catalog->run_cost(*r.sku, tier, *r.count, interval);
  } catch (const std::invalid_argument& e) {
    throw SpecError(r.origin, e.what());
  }
}

// Prices each run from the catalog (a clipped run: its window's part of the whole run's
// cost); a line is the exact sum of its runs, the engine rounds the step's total once.
StepOutput PerExperiment::run(const StepInput& input) const {
  struct Sum {
    Rational cost, gpu_hours;
  };
  std::map<Tags, Sum> groups;
  std::map<Tags, Sum> unallocated;  // by the unallocated lines' tags
  for (const Record* r : input.records) {
    const Rational cost = price(*r, input.catalog);
    const Rational hours = r->run_hours();
    Sum& s = [&]() -> Sum& {
      if (auto key = grouping::key_of(*r, input.group_by)) return groups[*key];
      return unallocated[grouping::unallocated_tags(*r, input.group_by, input.step.keep_present_keys)];
    }();
    s.cost += cost;
    s.gpu_hours += hours;
  }
  StepOutput out;
  const auto emit = [&](LineKind kind, Tags tags, const Sum& s) {
    DraftLine d;
    d.kind = kind;
    d.tags = std::move(tags);
    d.cost = s.cost;
    d.gpu_hours = s.gpu_hours;
    out.lines.push_back(std::move(d));
  };
  for (const auto& [tags, s] : groups) emit(LineKind::allocated, tags, s);
  for (const auto& [tags, s] : unallocated) emit(LineKind::unallocated, tags, s);
  return out;
}

APPORTION_END_NAMESPACE
