#include "apportion/strategies.hpp"

APPORTION_BEGIN_NAMESPACE

Rational uncached_prompt_tokens(const Record& r) {
  const Decimal prompt = r.measure("tokens_prompt");
  const Decimal cached = r.measure("tokens_cached");
  if (cached > prompt)
    throw SpecError(r.origin + ".measures.tokens_cached", "must not exceed tokens_prompt (" + cached.to_string() +
                                                              " > " + prompt.to_string() + ")");
  return (prompt - cached).to_rational();
}

StepOutput PerTenant::run(const StepInput& input) const {
  GroupedWeights g;
  Rational cached_weight = 0;
  const Rational wp = options_.token_weights.prompt.to_rational();
  const Rational wg = options_.token_weights.generation.to_rational();
  for (const Record* r : input.records) {
    Rational w;
    if (options_.weight == Weight::requests) {
      w = r->measure("requests").to_rational();
    } else {
      const Rational uncached = uncached_prompt_tokens(*r);
      const Rational generation = r->measure("tokens_generation").to_rational();
      const Rational cached = r->measure("tokens_cached").to_rational();
      w = uncached * wp + generation * wg;
      if (options_.cached == Cached::tenant) w += cached * wp;
      if (options_.cached == Cached::separate) cached_weight += cached * wp;
    }
    g.add(input, *r, w);
  }
  std::vector<WeightedLine> lines = g.lines(input);
  if (cached_weight > 0)
    lines.push_back({LineKind::overhead, grouping::marker_tags(input.group_by, "__prefix_cache__"), cached_weight, 0});
  return split_by_weight(input, std::move(lines), g.total + cached_weight);
}

APPORTION_END_NAMESPACE
