#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

RecordNeeds PerToken::record_needs() const {
  return {options_.rate_by, {"tokens_prompt", "tokens_cached", "tokens_generation"}, false};
}

StepOutput PerToken::run(const StepInput& input) const {
  struct Tokens {
    Rational prompt, cached, generation, weight;
  };
  Tokens total;
  for (const Record* r : input.records) {
    total.prompt += r->exact_measure("tokens_prompt");
    total.cached += r->exact_measure("tokens_cached");
    total.generation += r->exact_measure("tokens_generation");
  }
  const Rational uncached_total = total.prompt - total.cached;
  const Rational wp = options_.token_weights.prompt.to_rational();
  const Rational wg = options_.token_weights.generation.to_rational();
  const auto weight_of = [&](const Record& r) {
    const Rational uncached = uncached_prompt_tokens(r);
    const Rational generation = r.exact_measure("tokens_generation");
    if (!options_.phases) return uncached * wp + generation * wg;
    // Phase-aware: each phase's share of GPU time, spread by the record's part of it.
    Rational w = 0;
    if (uncached_total > 0) w += options_.phases->prompt.to_rational() * uncached / uncached_total;
    if (total.generation > 0) w += options_.phases->generation.to_rational() * generation / total.generation;
    return w;
  };

  GroupedWeights g;
  std::map<Tags, Tokens> rate_groups;
  for (const Record* r : input.records) {
    const Rational w = weight_of(*r);
    g.add(input, *r, w);
    Tokens& t = rate_groups[grouping::key_of(*r, options_.rate_by)
                                .value_or(grouping::marker_tags(options_.rate_by, grouping::unallocated_value))];
    t.prompt += r->exact_measure("tokens_prompt");
    t.cached += r->exact_measure("tokens_cached");
    t.generation += r->exact_measure("tokens_generation");
    t.weight += w;
  }
  StepOutput out = split_by_weight(input, g.lines(input), g.total);
  if (g.total == 0) return out;

  const Rational pool = input.pool_cost->to_rational();
  const Rational million = 1'000'000;
  const auto rate = [&](const Rational& r) { return Decimal::from_rational(r, options_.unit_precision); };
  for (const auto& [tags, t] : rate_groups) {
    if (t.prompt + t.generation == 0) continue;
    UnitCost u;
    u.tags = tags;
    u.unit_precision = options_.unit_precision;
    const Rational cost = pool * t.weight / g.total;
    u.per_million.emplace_back("blended", rate(cost / (t.prompt + t.generation) * million));
    if (options_.phases) {
      if (uncached_total > 0)
        u.per_million.emplace_back("prompt", rate(pool * options_.phases->prompt.to_rational() / uncached_total * million));
      if (total.generation > 0)
        u.per_million.emplace_back("generation",
                                   rate(pool * options_.phases->generation.to_rational() / total.generation * million));
    }
    out.unit_costs.push_back(std::move(u));
  }
  return out;
}

APPORTION_END_NAMESPACE
