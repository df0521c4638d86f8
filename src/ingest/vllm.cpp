// The vllm ingest format: token and request counters of vLLM servers, from a Prometheus
// `query_range` answer, turned into one record per model (plus chosen labels) holding the
// counters' increase over the queried window.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "formats.hpp"
#include "prometheus.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

namespace {

using prometheus::Exposition;
using prometheus::Sample;
using prometheus::Series;

// The vLLM counter a series is, as the measure it feeds; nullptr for a metric not read.
const char* measure_of(const std::string& name) {
  if (name == "vllm:prompt_tokens_total") return "tokens_prompt";
  if (name == "vllm:generation_tokens_total") return "tokens_generation";
  if (name == "vllm:prefix_cache_hits_total") return "tokens_cached";
  if (name == "vllm:request_success_total") return "requests";
  return nullptr;
}

// Prometheus increase() without extrapolation: the sum of the rises between consecutive
// samples; after a drop (a counter reset) the new value is the rise from zero.
Decimal increase(const std::vector<const Sample*>& samples) {
  Decimal total;
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const Decimal prev = samples[i - 1]->value, cur = samples[i]->value;
    total += cur >= prev ? cur - prev : cur;
  }
  return total;
}

struct Group {
  std::string origin;
  std::map<std::string, Decimal> measures;
};

IngestResult parse_vllm(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  std::vector<std::string> labels;
  if (const Value* v = options.optional("labels")) {
    labels = read_names(*v, options.path("labels"));
    for (const std::string& l : labels)
      if (l == "model" || l == "model_name")
        throw SpecError(options.path("labels"), "\"" + l + "\" is always kept (as the tag model); name other labels");
  }
  std::optional<std::string> pool;
  if (const Value* v = options.optional("pool")) pool = read_string(*v, options.path("pool"));
  options.finish();  // a misspelt option is reported before any row is read

  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{')
    throw SpecError(source, "vllm reads a Prometheus query_range JSON answer (counters need samples at two times), "
                            "not a text scrape");
  IngestResult result;
  const Exposition exposition = prometheus::parse_api_json(
      text, source, [&rows, &result](const std::string& where, const std::string& what) { rows.skip(result, where, what); });
  result.warnings = exposition.warnings;
  if (exposition.result_type != "matrix")
    throw SpecError(source, "vllm needs a range query (resultType matrix), got \"" + exposition.result_type + "\"");

  std::map<Tags, Group> groups;
  std::vector<Tags> order;
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      ++result.rows;
      rows.row(result, s.where, [&] {
        if (s.name.empty()) throw ParseError("series has no __name__; cannot tell which vLLM counter it is");
        const char* measure = measure_of(s.name);
        if (!measure) return;  // other vLLM metrics (gauges, histograms, prefix_cache_queries) are not read
        const auto model = s.labels.get("model_name");
        if (!model || model->empty()) throw ParseError("series has no model_name label");
        std::vector<Tags::Pair> pairs{{"model", std::string(*model)}};
        for (const std::string& l : labels)
          if (const auto v = s.labels.get(l); v && !v->empty()) pairs.emplace_back(l, std::string(*v));
        std::vector<const Sample*> samples;
        for (std::size_t i = 0; i < s.samples.size(); ++i) {
          const std::string problem = s.samples[i].problem("counter value");
          if (problem.empty()) samples.push_back(&s.samples[i]);
          else rows.skip(result, prometheus::sample_where(s, i), problem);
        }
        const Decimal rise = increase(samples);
        Tags tags(std::move(pairs));
        auto [it, added] = groups.try_emplace(tags);
        if (added) {
          it->second.origin = s.where;
          order.push_back(tags);
        }
        it->second.measures[measure] += rise;
      });
    }

  for (const Tags& tags : order) {
    const Group& g = groups.at(tags);
    const auto cached = g.measures.find("tokens_cached");
    if (cached != g.measures.end()) {
      const auto prompt = g.measures.find("tokens_prompt");
      const Decimal prompt_tokens = prompt == g.measures.end() ? Decimal() : prompt->second;
      if (cached->second > prompt_tokens) {
        rows.skip(result, g.origin,
                  "prefix-cache hits (" + cached->second.to_string() + " tokens) exceed prompt tokens (" +
                      prompt_tokens.to_string() + ") for model " + std::string(tags.get("model").value_or("")));
        continue;
      }
    }
    Record r;
    r.tags = tags;
    r.pool = pool;
    r.origin = g.origin;
    for (const auto& [k, v] : g.measures) r.measures[k] = v;
    result.records.push_back(std::move(r));
  }
  return result;
}

}  // namespace

void register_vllm(IngestRegistry& registry) { registry.add("vllm", parse_vllm); }

}  // namespace ingest
APPORTION_END_NAMESPACE
