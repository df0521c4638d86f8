// result_to_focus: a result as FOCUS 1.3 allocated charges. Each step that split a pool is a
// split cost allocation of one origin charge, the pool; each of its lines is one allocated
// charge. Which columns are filled, and how, is in docs/output-formats.md.

#include <algorithm>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apportion/allocate.hpp"
#include "apportion/render.hpp"
#include "apportion/strategy.hpp"
#include "render_util.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

using render_detail::csv_field;

// Tags as a JSON object in canonical (key) order; empty text for no pairs (a null cell).
std::string tags_json(const std::vector<Tags::Pair>& pairs) {
  if (pairs.empty()) return "";
  std::string out = "{";
  for (const auto& [k, v] : pairs) {
    if (out.size() > 1) out += ',';
    out += nlohmann::json(k).dump();
    out += ':';
    out += nlohmann::json(v).dump();
  }
  return out + "}";
}

// The AllocatedRatio of each line: the parts of 1, in units of 10^-6, in proportion to the
// lines' costs as a share of the pool, split by the largest-remainder rule so that they sum
// to exactly 1. A pool of zero (or, defensively, lines on both sides of zero) has no cost
// ratio; its lines' weights are used then, or equal parts when they have none.
std::vector<Decimal> allocated_ratios(std::span<const Line* const> lines, const Decimal& pool) {
  const Decimal unit = Decimal::parse("0.000001");
  std::vector<Rational> parts;
  bool usable = !pool.is_zero();
  for (const Line* l : lines) {
    if (!usable) break;
    const Rational r = l->cost.to_rational() / pool.to_rational();
    if (r < 0) usable = false;
    parts.push_back(r);
  }
  if (!usable || std::all_of(parts.begin(), parts.end(), [](const Rational& r) { return r == 0; })) {
    parts.clear();
    Rational total = 0;
    for (const Line* l : lines) {
      const Rational w = l->weight && *l->weight > 0 ? *l->weight : Rational(0);
      parts.push_back(w);
      total += w;
    }
    if (total == 0) std::fill(parts.begin(), parts.end(), Rational(1));
  }
  // Ties (equal parts) go to the earlier line in result order.
  return allocate_by_weights(Decimal(1), parts, unit);
}

// AllocatedResourceId: the group's tags "k=v,k=v" in canonical order; AllocatedResourceName:
// their values joined by " / ". A line with no tags (a whole-pool group) is "all".
std::string resource_id(const Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out.empty() ? "all" : out;
}
std::string resource_name(const Tags& tags) {
  std::string out;
  for (const auto& [k, v] : tags) out += (out.empty() ? "" : " / ") + v;
  return out.empty() ? "all" : out;
}

}  // namespace

std::string result_to_focus(const Result& result, const Allocation& allocation) {
  const Decimal unit = result.precision;
  const std::string currency(result.currency.code());
  std::ostringstream out;
  out << "BillingCurrency,ChargeCategory,ResourceId,Tags,BilledCost,EffectiveCost,AllocatedMethodId,"
         "AllocatedMethodDetails,AllocatedResourceId,AllocatedResourceName,AllocatedTags,x_StepId,x_LineKind\r\n";

  std::vector<std::string> steps = result.steps;
  if (steps.empty())
    for (const Line& l : result.lines)
      if (std::find(steps.begin(), steps.end(), l.step) == steps.end()) steps.push_back(l.step);

  for (const std::string& step_id : steps) {
    const std::vector<const Line*> all = result.lines_of(step_id);
    // Steps that split a pool: their lines name it. Lines that price runs have no origin charge.
    std::vector<const Line*> lines;
    for (const Line* l : all)
      if (l->pool) lines.push_back(l);
    if (lines.empty()) continue;
    const std::string& pool_id = *lines.front()->pool;

    const auto step_it = std::find_if(allocation.steps.begin(), allocation.steps.end(),
                                      [&](const Step& s) { return s.id == step_id; });
    const std::string strategy(step_it == allocation.steps.end() || !step_it->strategy ? "custom"
                                                                                       : step_it->strategy->name());
    const std::string method = strategy + ":" + step_id;
    const auto pool_it = std::find_if(allocation.pools.begin(), allocation.pools.end(),
                                      [&](const Pool& p) { return p.id == pool_id; });
    const Tags pool_tags = pool_it == allocation.pools.end() ? Tags{} : pool_it->tags;
    const std::string pool_tags_json = tags_json(std::vector<Tags::Pair>(pool_tags.begin(), pool_tags.end()));

    // The origin charge: the pool's rounded cost (the lines' sum, should the pool be missing).
    Decimal pool_cost;
    const auto cost_it = std::find_if(result.pools.begin(), result.pools.end(),
                                      [&](const PoolCost& p) { return p.id == pool_id; });
    if (cost_it != result.pools.end()) {
      pool_cost = cost_it->cost;
    } else {
      for (const Line* l : lines) pool_cost += l->cost;
    }
    const std::string category = pool_cost.signum() < 0 ? "Credit" : "Usage";

    // The step's denominator, where a line shows it: weight / share.
    std::optional<Rational> denominator;
    for (const Line* l : lines)
      if (l->weight && l->share && *l->share != 0) {
        denominator = *l->weight / *l->share;
        break;
      }

    const std::vector<Decimal> ratios = allocated_ratios(lines, pool_cost);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Line& l = *lines[i];
      const bool unallocated = l.kind == LineKind::unallocated;
      std::string element = "{\"AllocatedRatio\":" + format_weight(ratios[i].to_rational());
      if (l.weight) element += ",\"UsageUnit\":\"weight\",\"UsageQuantity\":" + format_weight(*l.weight);
      if (l.share) element += ",\"x_Share\":" + format_places(*l.share, 6);
      if (l.split_cost) element += ",\"x_SplitCost\":" + format_amount(*l.split_cost, unit);
      if (l.unused_cost) element += ",\"x_UnusedCost\":" + format_amount(*l.unused_cost, unit);
      element += "}";
      std::string details = "{\"Elements\":[" + element + "],\"x_OriginCost\":" + format_amount(pool_cost, unit);
      if (denominator) details += ",\"x_Denominator\":" + format_weight(*denominator);
      details += "}";

      // AllocatedTags leaves out pairs the origin's Tags already hold.
      std::vector<Tags::Pair> allocated_tags;
      if (!unallocated)
        for (const auto& pair : l.tags)
          if (pool_tags.get(pair.first) != std::string_view(pair.second)) allocated_tags.push_back(pair);

      out << csv_field(currency) << "," << category << "," << csv_field(pool_id) << "," << csv_field(pool_tags_json)
          << "," << format_amount(l.cost, unit) << "," << format_amount(l.cost, unit) << "," << csv_field(method) << ","
          << csv_field(details) << "," << (unallocated ? "" : csv_field(resource_id(l.tags))) << ","
          << (unallocated ? "" : csv_field(resource_name(l.tags))) << "," << csv_field(tags_json(allocated_tags)) << ","
          << csv_field(step_id) << "," << to_string(l.kind) << "\r\n";
    }
  }
  return out.str();
}

APPORTION_END_NAMESPACE
