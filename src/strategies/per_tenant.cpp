#include "apportion/strategies.hpp"

#include <algorithm>

APPORTION_BEGIN_NAMESPACE

Rational uncached_prompt_tokens(const Record& r) {
  const Decimal prompt = r.measure("tokens_prompt");
  const Decimal cached = r.measure("tokens_cached");
  if (cached > prompt)
    throw SpecError(r.origin + ".measures.tokens_cached", "must not exceed tokens_prompt (" + cached.to_string() +
                                                              " > " + prompt.to_string() + ")");
  Rational uncached = (prompt - cached).to_rational();
  if (r.portioned()) uncached = uncached * BigInt(r.portion_part) / BigInt(r.portion_whole);
  return uncached;
}

namespace {

// What a record's tokens cost at the catalog's list price, LiteLLM's way: prompt tokens
// served from the cache at the cache_read rate, tokens written to it at cache_write, the rest
// of the prompt at input and the generation at output; a request of more than 200,000 prompt
// tokens at the *_above_200k rates where the SKU has them. The rates are those in force at
// the record's start (the latest without one).
Rational list_price(const StepInput& input, const Record& r, const PerTenant::Options& o) {
  const auto model = r.tags.get(o.model_tag);
  if (!model)
    throw SpecError(r.origin, "has no \"" + o.model_tag + "\" tag to find its list price by (" + input.step_path +
                                  " weighs by \"list_price\")");
  if (!input.catalog)
    throw SpecError(input.step_path + ".weight", "\"list_price\" needs a catalog (a litellm-prices input or the spec's catalog)");
  const std::string sku_id = o.sku_prefix + std::string(*model);
  const Sku* sku = input.catalog->find(sku_id);
  if (!sku)
    throw SpecError(r.origin, "model \"" + std::string(*model) + "\" has no SKU \"" + sku_id + "\" in the catalog (" +
                                  input.step_path + " weighs by \"list_price\")");
  if (sku->unit != PriceUnit::token && sku->unit != PriceUnit::million_tokens)
    throw SpecError(r.origin, "SKU \"" + sku_id + "\" is priced per " + std::string(to_string(sku->unit)) +
                                  ", not per token (" + input.step_path + " weighs by \"list_price\")");
  const Decimal prompt = r.measure("tokens_prompt");
  const Decimal cached = r.measure("tokens_cached");
  const Decimal written = r.measure("tokens_cache_write");
  if (cached + written > prompt)
    throw SpecError(r.origin + ".measures", "tokens_cached (" + cached.to_string() + ") and tokens_cache_write (" +
                                                written.to_string() + ") exceed tokens_prompt (" + prompt.to_string() + ")");
  const std::vector<std::string> tiers = sku->tiers();
  const auto has = [&](const std::string& tier) { return std::find(tiers.begin(), tiers.end(), tier) != tiers.end(); };
  const bool above = prompt > Decimal(200'000) && has("input_above_200k");
  const Rational per_unit = sku->unit == PriceUnit::million_tokens ? Rational(1, 1'000'000) : Rational(1);
  const auto cost = [&](const Decimal& tokens, const std::string& tier, const char* what) -> Rational {
    if (tokens.is_zero()) return 0;
    const std::string used = above && has(tier + "_above_200k") ? tier + "_above_200k" : tier;
    try {
      const Decimal rate = r.start ? input.catalog->rate_at(sku_id, used, *r.start) : input.catalog->latest_rate(sku_id, used);
      return tokens.to_rational() * rate.to_rational() * per_unit;
    } catch (const PriceNotFound& e) {
      throw SpecError(r.origin, std::string(e.what()) + " for its " + tokens.to_string() + " " + what + " tokens (" +
                                    input.step_path + " weighs by \"list_price\")");
    }
  };
  Rational price = cost(prompt - cached - written, "input", "uncached prompt") + cost(cached, "cache_read", "cached") +
                   cost(written, "cache_write", "cache-write") + cost(r.measure("tokens_generation"), "output", "generation");
  // Under a series, the bucket's part of the record: its tokens at the same rates.
  if (r.portioned()) price = price * BigInt(r.portion_part) / BigInt(r.portion_whole);
  return price;
}

}  // namespace

// Weights linear in the token measures read sums; a list price needs each record's model
// and start (the rates then, the 200k threshold a request at a time).
RecordNeeds PerTenant::record_needs() const {
  if (options_.weight == Weight::list_price) return {};
  if (options_.weight == Weight::requests) return {{}, {"requests"}, false};
  return {{}, {"tokens_prompt", "tokens_cached", "tokens_generation"}, false};
}

StepOutput PerTenant::run(const StepInput& input) const {
  GroupedWeights g;
  Rational cached_weight = 0;
  const Rational wp = options_.token_weights.prompt.to_rational();
  const Rational wg = options_.token_weights.generation.to_rational();
  for (const Record* r : input.records) {
    Rational w;
    if (options_.weight == Weight::requests) {
      w = r->exact_measure("requests");
    } else if (options_.weight == Weight::list_price) {
      w = list_price(input, *r, options_);
    } else {
      const Rational uncached = uncached_prompt_tokens(*r);
      const Rational generation = r->exact_measure("tokens_generation");
      const Rational cached = r->exact_measure("tokens_cached");
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
