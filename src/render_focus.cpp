// result_to_focus: a result as FOCUS 1.3 allocated charges. Each step that split a pool is a
// split cost allocation of one origin charge, the pool; each of its lines is one allocated
// charge. Which columns are filled, and how, is in docs/output-formats.md.

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apportion/allocate.hpp"
#include "apportion/render.hpp"
#include "apportion/strategy.hpp"
#include "text.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

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

// The weights a step's lines take of their origin charge: their costs as a share of the
// pool. A pool of zero (or, defensively, lines on both sides of zero) has no cost ratio; the
// lines' weights are used then, or equal parts when they have none.
std::vector<Rational> origin_weights(std::span<const Line* const> lines, const Decimal& pool) {
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
  return parts;
}

// 10^-digits, the unit an origin metric is split in: its own digits, and at least `digits`.
Decimal split_unit(const Decimal& amount, int digits) {
  return Decimal::from_raw(detail::pow10_128(Decimal::scale - std::max(amount.fractional_digits(), digits)));
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

// One step that split a pool, as FOCUS sees it: the origin charge and its allocated rows.
struct FocusStep {
  std::string id;
  std::string pool_id;
  std::optional<Interval> bucket;  // under a series: the rows' charge period
  std::vector<const Line*> lines;
  std::string method;
  Tags origin_tags;   // the Tags column: the pool's, or for a drill-down of a bill's charge, the charge's too
  Tags drilled_from;  // the tags of the earlier lines a drill-down of a bill's charge took its pool from
  Decimal pool_cost;
  std::vector<Decimal> ratios;  // AllocatedRatio per line
  // The bill columns the rows repeat, when the pool was read from one (directly, or drilled
  // down from a line of a step whose pool was), and per line, per column, the line's part of
  // each summable metric (none: null).
  const OriginCharge* origin = nullptr;
  std::vector<std::vector<std::optional<Decimal>>> metric_parts;
  std::vector<Decimal> metric_units;  // per column, the unit its parts are written in
};

// The origin's summable metrics in the result's terms: the pool's cost column is the pool's
// cost (converted, rounded) itself; another cost in a currency other than the result's has
// no value here (nor has a price), as apportion converts only the pool's cost.
std::vector<std::optional<Decimal>> origin_metrics(const OriginCharge& origin, const Decimal& pool_cost,
                                                   const Currency& currency) {
  const OriginSchema& schema = *origin.schema;
  std::vector<std::optional<Decimal>> out;
  for (std::size_t c = 0; c < schema.names.size(); ++c) {
    if (schema.names[c] == schema.cost_column)
      out.push_back(pool_cost);
    else if (schema.kinds[c] == OriginSchema::Kind::cost && !(origin.currency == currency))
      out.push_back(std::nullopt);
    else
      out.push_back(origin.amount(c));
  }
  return out;
}

// A drilled-down pool's metrics: the parts of the earlier step's lines it was taken from.
std::vector<std::optional<Decimal>> drilled_metrics(const FocusStep& from, const Tags& tags) {
  std::vector<std::optional<Decimal>> out(from.origin->schema->names.size(), Decimal{});
  for (std::size_t i = 0; i < from.lines.size(); ++i) {
    if (!from.lines[i]->tags.contains_all(tags)) continue;
    for (std::size_t c = 0; c < out.size(); ++c) {
      const auto& part = from.metric_parts[i][c];
      if (out[c] && part)
        *out[c] += *part;
      else
        out[c].reset();
    }
  }
  return out;
}

// Each line's part of each metric, by the same weights as its AllocatedRatio, rounded by
// the largest-remainder rule so the parts sum exactly to the origin's value. The cost
// column's parts are the lines' costs themselves.
void split_metrics(FocusStep& step, const std::vector<std::optional<Decimal>>& metrics,
                   std::span<const Rational> weights, const Decimal& precision) {
  const int cost_digits = precision.fractional_digits();
  step.metric_parts.assign(step.lines.size(), std::vector<std::optional<Decimal>>(metrics.size()));
  step.metric_units.assign(metrics.size(), precision);
  const OriginSchema& schema = *step.origin->schema;
  for (std::size_t c = 0; c < metrics.size(); ++c) {
    if (schema.names[c] == schema.cost_column) {
      for (std::size_t i = 0; i < step.lines.size(); ++i) step.metric_parts[i][c] = step.lines[i]->cost;
      continue;
    }
    if (!metrics[c]) continue;
    const Decimal unit = split_unit(*metrics[c], schema.kinds[c] == OriginSchema::Kind::cost ? cost_digits : 6);
    step.metric_units[c] = unit;
    const std::vector<Decimal> parts = allocate_by_weights(*metrics[c], weights, unit);
    for (std::size_t i = 0; i < step.lines.size(); ++i) step.metric_parts[i][c] = parts[i];
  }
}

// Columns apportion writes itself, after the origin's; the origin's value of ChargeCategory,
// ResourceId, BilledCost and EffectiveCost is taken where it has one.
constexpr std::string_view kGenerated[] = {
    "BillingCurrency", "ChargeCategory", "ResourceId", "Tags", "BilledCost", "EffectiveCost",
    "AllocatedMethodId", "AllocatedMethodDetails", "AllocatedResourceId", "AllocatedResourceName",
    "AllocatedTags", "x_StepId", "x_LineKind", "x_PoolId"};
bool origin_overrides(std::string_view column) {
  return column == "ChargeCategory" || column == "ResourceId" || column == "BilledCost" || column == "EffectiveCost";
}

// Where a row's cell in one header column comes from: the origin's column `index`, apportion's
// own (kGenerated[index]), or nowhere (null: a column of another bill).
struct ColumnSource {
  enum { origin, generated, bucket_start, bucket_end, none } from = none;
  std::size_t index = 0;
};

ColumnSource source_of(std::string_view name, const OriginCharge* origin, bool bucketed) {
  if (bucketed && name == "ChargePeriodStart") return {ColumnSource::bucket_start};
  if (bucketed && name == "ChargePeriodEnd") return {ColumnSource::bucket_end};
  const auto own = std::find(std::begin(kGenerated), std::end(kGenerated), name);
  if (origin && (own == std::end(kGenerated) || origin_overrides(name))) {
    const std::vector<std::string>& names = origin->schema->names;
    const auto it = std::find(names.begin(), names.end(), name);
    if (it != names.end()) return {ColumnSource::origin, static_cast<std::size_t>(it - names.begin())};
  }
  if (own != std::end(kGenerated)) return {ColumnSource::generated, static_cast<std::size_t>(own - std::begin(kGenerated))};
  return {};
}

// Under a series, what a pool read from a bill charged in each bucket: its cost column the
// pool's amount there; each other summable metric by the bucket's share of the bill's cost
// (what the bill charged outside the series is in no bucket), rounded so the buckets sum to
// the metric's part in the series. None where shares cannot be had: credits, a zero cost.
class BucketMetrics {
 public:
  explicit BucketMetrics(const Result& result) : result_(result) {}

  std::vector<std::optional<Decimal>> of(const OriginCharge& origin, const std::string& pool_id, const Interval& bucket) {
    auto [it, fresh] = split_.try_emplace(pool_id);
    if (fresh) it->second = split(origin, pool_id);
    std::size_t b = 0;
    while (b < result_.series.size() && result_.series[b].bucket.start() != bucket.start()) ++b;
    return b < it->second.size() ? it->second[b] : std::vector<std::optional<Decimal>>(origin.schema->names.size());
  }

 private:
  std::vector<std::vector<std::optional<Decimal>>> split(const OriginCharge& origin, const std::string& pool_id) const {
    const OriginSchema& schema = *origin.schema;
    std::vector<Decimal> amounts;
    Rational inside = 0;
    for (const BucketPools& b : result_.series) {
      const auto p = std::find_if(b.pools.begin(), b.pools.end(), [&](const PoolCost& c) { return c.id == pool_id; });
      amounts.push_back(p == b.pools.end() ? Decimal{} : p->cost);
      inside += amounts.back().to_rational();
    }
    // The bill's cost in the result's currency.
    std::optional<Rational> billed;
    const auto cost_column = std::find(schema.names.begin(), schema.names.end(), schema.cost_column);
    if (const auto cost = origin.amount(static_cast<std::size_t>(cost_column - schema.names.begin()))) {
      if (origin.currency == result_.currency) billed = cost->to_rational();
      for (const FxRate& fx : result_.fx_used)
        if (fx.from == origin.currency && fx.to == result_.currency) billed = cost->to_rational() * fx.rate.to_rational();
    }
    std::vector<Rational> weights;
    for (const Decimal& a : amounts) weights.push_back(a.to_rational());
    const bool weighable = billed && *billed > 0 && inside > 0 &&
                           std::none_of(amounts.begin(), amounts.end(), [](const Decimal& a) { return a.signum() < 0; });
    std::vector<std::vector<std::optional<Decimal>>> out(amounts.size(), std::vector<std::optional<Decimal>>(schema.names.size()));
    for (std::size_t c = 0; c < schema.names.size(); ++c) {
      if (schema.names[c] == schema.cost_column) {
        for (std::size_t b = 0; b < amounts.size(); ++b) out[b][c] = amounts[b];
        continue;
      }
      const bool summed = schema.kinds[c] == OriginSchema::Kind::cost || schema.kinds[c] == OriginSchema::Kind::summable;
      if (!summed || !weighable || (schema.kinds[c] == OriginSchema::Kind::cost && !(origin.currency == result_.currency)))
        continue;
      const std::optional<Decimal> whole = origin.amount(c);
      if (!whole) continue;
      const int digits = schema.kinds[c] == OriginSchema::Kind::cost ? result_.precision.fractional_digits() : 6;
      const Decimal unit = split_unit(*whole, digits);
      const Decimal in_series = Decimal::from_rational(whole->to_rational() * inside / *billed, unit, RoundingMode::half_even);
      const std::vector<Decimal> parts = allocate_by_weights(in_series, weights, unit);
      for (std::size_t b = 0; b < amounts.size(); ++b) out[b][c] = parts[b];
    }
    return out;
  }

  const Result& result_;
  std::map<std::string, std::vector<std::vector<std::optional<Decimal>>>> split_;
};

}  // namespace

std::string result_to_focus(const Result& result, const Allocation& allocation) {
  const Decimal unit = result.precision;
  const std::string currency(result.currency.code());

  std::vector<std::string> step_ids = result.steps;
  if (step_ids.empty())
    for (const Line& l : result.lines)
      if (std::find(step_ids.begin(), step_ids.end(), l.step) == step_ids.end()) step_ids.push_back(l.step);

  std::vector<FocusStep> steps;
  BucketMetrics bucket_metrics(result);
  // One FOCUS step per step and pool: a step over a fleet splits each of its pools (each a
  // charge of the bill) on its own, its lines pool by pool.
  // Under a series, one per bucket too: each bucket's lines are an allocation of what the
  // pool charged in that bucket.
  std::vector<std::pair<std::string, std::vector<const Line*>>> parts;
  for (const std::string& step_id : step_ids)
    for (const Line* l : result.lines_of(step_id)) {
      if (!l->pool) continue;  // lines that price runs have no origin charge
      if (parts.empty() || parts.back().first != step_id || parts.back().second.back()->pool != l->pool ||
          parts.back().second.back()->bucket != l->bucket)
        parts.push_back({step_id, {}});
      parts.back().second.push_back(l);
    }
  for (auto& part : parts) {
    const std::string& step_id = part.first;  // not a structured binding: clang 14 cannot capture one
    FocusStep step;
    step.id = step_id;
    step.lines = std::move(part.second);
    step.pool_id = *step.lines.front()->pool;
    step.bucket = step.lines.front()->bucket;

    const auto step_it = std::find_if(allocation.steps.begin(), allocation.steps.end(),
                                      [&](const Step& s) { return s.id == step_id; });
    const std::string strategy(step_it == allocation.steps.end() || !step_it->strategy ? "custom"
                                                                                       : step_it->strategy->name());
    step.method = strategy + ":" + step_id;
    const auto pool_it = std::find_if(allocation.pools.begin(), allocation.pools.end(),
                                      [&](const Pool& p) { return p.id == step.pool_id; });
    const Pool* pool = pool_it == allocation.pools.end() ? nullptr : &*pool_it;
    if (pool) step.origin_tags = pool->tags;

    // The origin charge: the pool's rounded cost (the lines' sum, should the pool be missing),
    // under a series its amount in the bucket.
    const std::vector<PoolCost>* pool_costs = &result.pools;
    for (const BucketPools& b : result.series)
      if (step.bucket && b.bucket.start() == step.bucket->start()) pool_costs = &b.pools;
    const auto cost_it = std::find_if(pool_costs->begin(), pool_costs->end(),
                                      [&](const PoolCost& p) { return p.id == step.pool_id; });
    if (cost_it != pool_costs->end()) {
      step.pool_cost = cost_it->cost;
    } else {
      for (const Line* l : step.lines) step.pool_cost += l->cost;
    }

    const std::vector<Rational> weights = origin_weights(step.lines, step.pool_cost);
    step.ratios = allocate_by_weights(Decimal(1), weights, Decimal::parse("0.000001"));

    if (pool && pool->origin) {
      step.origin = pool->origin.get();
      split_metrics(step,
                    step.bucket ? bucket_metrics.of(*pool->origin, step.pool_id, *step.bucket)
                                : origin_metrics(*pool->origin, step.pool_cost, result.currency),
                    weights, unit);
    } else if (const auto* from = pool ? std::get_if<FromStepSource>(&pool->source) : nullptr) {
      const auto parent = std::find_if(steps.begin(), steps.end(),
                                       [&](const FocusStep& s) { return s.id == from->step && s.bucket == step.bucket; });
      if (parent != steps.end() && parent->origin) {
        // The rows are parts of the bill's charge: they repeat its tags, and say whose part
        // of it the drilled-down pool was.
        step.origin = parent->origin;
        Tags tags = parent->origin_tags;
        for (const auto& [k, v] : step.origin_tags) tags = tags.with(k, v);
        step.origin_tags = std::move(tags);
        step.drilled_from = parent->drilled_from;
        for (const auto& [k, v] : from->tags) step.drilled_from = step.drilled_from.with(k, v);
        std::vector<std::optional<Decimal>> metrics = drilled_metrics(*parent, from->tags);
        split_metrics(step, metrics, weights, unit);
      }
    }
    steps.push_back(std::move(step));
  }

  // The header: the bills' columns in the order first seen, then apportion's own.
  std::vector<std::string> header;
  for (const FocusStep& step : steps)
    if (step.origin)
      for (const std::string& name : step.origin->schema->names)
        if (std::find(header.begin(), header.end(), name) == header.end()) header.push_back(name);
  const bool bucketed = !result.series.empty();
  if (bucketed)  // each row's charge period is its bucket
    for (std::string_view name : {"ChargePeriodStart", "ChargePeriodEnd"})
      if (std::find(header.begin(), header.end(), name) == header.end()) header.emplace_back(name);
  for (std::string_view name : kGenerated)
    if (std::find(header.begin(), header.end(), name) == header.end()) header.emplace_back(name);

  text::Buffer out;
  for (std::size_t k = 0; k < header.size(); ++k) {
    if (k) out.push_back(',');
    text::put_csv_field(out, header[k]);
  }
  text::put(out, "\r\n");

  for (const FocusStep& step : steps) {
    const std::string origin_tags_json =
        tags_json(std::vector<Tags::Pair>(step.origin_tags.begin(), step.origin_tags.end()));
    const std::string category = step.pool_cost.signum() < 0 ? "Credit" : "Usage";

    // Where each header column's cell comes from for this step's rows, settled once.
    std::vector<ColumnSource> sources;
    for (const std::string& name : header) sources.push_back(source_of(name, step.origin, step.bucket.has_value()));

    // The step's denominator, where a line shows it: weight / share.
    std::optional<Rational> denominator;
    for (const Line* l : step.lines)
      if (l->weight && l->share && *l->share != 0) {
        denominator = *l->weight / *l->share;
        break;
      }

    for (std::size_t i = 0; i < step.lines.size(); ++i) {
      const Line& l = *step.lines[i];
      const bool unallocated = l.kind == LineKind::unallocated;
      text::Buffer details;
      text::put(details, "{\"Elements\":[{\"AllocatedRatio\":");
      text::put_rounded(details, step.ratios[i].to_rational(), 6, true);
      if (l.weight) {
        text::put(details, ",\"UsageUnit\":\"weight\",\"UsageQuantity\":");
        text::put_rounded(details, *l.weight, 6, true);
      }
      if (l.share) {
        text::put(details, ",\"x_Share\":");
        text::put_rounded(details, *l.share, 6, false);
      }
      if (l.split_cost) text::put_format(details, ",\"x_SplitCost\":{}", format_amount(*l.split_cost, unit));
      if (l.unused_cost) text::put_format(details, ",\"x_UnusedCost\":{}", format_amount(*l.unused_cost, unit));
      text::put_format(details, "}}],\"x_OriginCost\":{}", format_amount(step.pool_cost, unit));
      if (denominator) {
        text::put(details, ",\"x_Denominator\":");
        text::put_rounded(details, *denominator, 6, true);
      }
      details.push_back('}');

      // AllocatedTags leaves out pairs the origin's Tags already hold.
      std::vector<Tags::Pair> allocated_tags;
      if (!unallocated) {
        Tags line_tags = step.drilled_from;
        for (const auto& [k, v] : l.tags) line_tags = line_tags.with(k, v);
        for (const auto& pair : line_tags)
          if (step.origin_tags.get(pair.first) != std::string_view(pair.second)) allocated_tags.push_back(pair);
      }

      // apportion's own cells, in kGenerated's order.
      const std::string generated[] = {currency,
                                       category,
                                       step.pool_id,
                                       origin_tags_json,
                                       format_amount(l.cost, unit),
                                       format_amount(l.cost, unit),
                                       step.method,
                                       details,
                                       unallocated ? "" : resource_id(l.tags),
                                       unallocated ? "" : resource_name(l.tags),
                                       tags_json(allocated_tags),
                                       step.id,
                                       std::string(to_string(l.kind)),
                                       step.pool_id};
      static_assert(std::size(generated) == std::size(kGenerated));
      for (std::size_t k = 0; k < header.size(); ++k) {
        if (k) out.push_back(',');
        const ColumnSource& source = sources[k];
        if (source.from == ColumnSource::generated) {
          text::put_csv_field(out, generated[source.index]);
          continue;
        }
        if (source.from == ColumnSource::bucket_start || source.from == ColumnSource::bucket_end) {
          text::put_instant(out, source.from == ColumnSource::bucket_start ? step.bucket->start() : step.bucket->end());
          continue;
        }
        if (source.from == ColumnSource::none) continue;
        const std::size_t c = source.index;
        const OriginSchema::Kind kind = step.origin->schema->kinds[c];
        if (kind == OriginSchema::Kind::dimension ||
            (kind == OriginSchema::Kind::price && step.origin->currency == result.currency)) {
          text::put_csv_field(out, step.origin->value(c).value_or(""));
        } else if (const auto& part = step.metric_parts[i][c]) {
          text::put(out, kind == OriginSchema::Kind::cost ? format_amount(*part, step.metric_units[c]) : part->to_string());
        }
      }
      text::put(out, "\r\n");
    }
  }
  return out;
}

APPORTION_END_NAMESPACE
