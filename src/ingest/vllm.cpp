// The vllm ingest format: token and request counters of vLLM servers, from a Prometheus
// `query_range` answer, turned into one record per model (plus chosen labels) holding the
// counters' increase over the queried window.

#include <algorithm>
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

using Measures = std::map<std::string, Decimal>;

struct Group {
  std::string origin;
  std::vector<Measures> measures;  // one for the window; under a series, one per bucket
};

// Prometheus increase() without extrapolation: the sum of the rises between consecutive
// samples; after a drop (a counter reset) the new value is the rise from zero. Under a
// series each rise goes, whole, to the bucket holding the time it was seen by, (t1, t2]:
// counts stay whole tokens, and a sample at midnight closes the day before.
void add_increase(const std::vector<const Sample*>& samples, const std::vector<Interval>* buckets, const char* measure,
                  Group& group) {
  if (!buckets) group.measures[0][measure] += Decimal();  // a counter that did not rise is 0, not absent
  for (std::size_t i = 1; i < samples.size(); ++i) {
    const Decimal prev = samples[i - 1]->value, cur = samples[i]->value;
    const Decimal rise = cur >= prev ? cur - prev : cur;
    std::size_t b = 0;
    if (buckets) {
      const auto holding = bucket_holding(*buckets, Instant::from_unix_nanos(samples[i]->timestamp->unix_nanos() - 1));
      if (!holding) continue;  // outside the series
      b = *holding;
    }
    group.measures[b][measure] += rise;
  }
}

struct VllmOptions {
  std::vector<std::string> labels;  // kept as tags beside model
  std::optional<std::string> pool;
};

VllmOptions read_vllm_options(ObjectReader& options) {
  VllmOptions o;
  if (const Value* v = options.optional("labels")) {
    o.labels = read_names(*v, options.path("labels"));
    for (const std::string& l : o.labels)
      if (l == "model" || l == "model_name")
        throw SpecError(options.path("labels"), "\"" + l + "\" is always kept (as the tag model); name other labels");
  }
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  options.finish();  // a misspelt option is reported before any row is read
  return o;
}

// Reads the answer's series one at a time, each into its model's counters as it comes; the
// records are made in finish(), once the answer is read.
class VllmReader {
 public:
  VllmReader(const VllmOptions& o, const RowErrors& rows, const std::string& source)
      : o_(o), rows_(rows), source_(source), buckets_(current_buckets()) {}

  // What the parser says is wrong with a series' text, told at once.
  prometheus::ErrorHandler parse_errors() {
    return [this](const std::string& where, const std::string& what) { rows_.skip(result_, where, what); };
  }
  // Errors of reading a series kept until finish(), after the answer's own (streaming).
  void hold() { rows_.hold(); }

  void add(const Series& s) {
    ++result_.rows;
    rows_.row(result_, s.where, [&] {
      if (s.name.empty()) throw ParseError("series has no __name__; cannot tell which vLLM counter it is");
      const char* measure = measure_of(s.name);
      if (!measure) return;  // other vLLM metrics (gauges, histograms, prefix_cache_queries) are not read
      const auto model = s.labels.get("model_name");
      if (!model || model->empty()) throw ParseError("series has no model_name label");
      std::vector<Tags::Pair> pairs{{"model", std::string(*model)}};
      for (const std::string& l : o_.labels)
        if (const auto v = s.labels.get(l); v && !v->empty()) pairs.emplace_back(l, std::string(*v));
      std::vector<const Sample*> samples;
      for (std::size_t i = 0; i < s.samples.size(); ++i) {
        const std::string problem = s.samples[i].problem("counter value");
        if (problem.empty()) samples.push_back(&s.samples[i]);
        else rows_.skip(result_, prometheus::sample_where(s, i), problem);
      }
      Tags tags(std::move(pairs));
      auto [it, added] = groups_.try_emplace(tags);
      if (added) {
        it->second.origin = s.where;
        it->second.measures.resize(buckets_ ? buckets_->size() : 1);
        order_.push_back(tags);
      }
      add_increase(samples, buckets_, measure, it->second);
    });
  }

  // `head`: the answer's type and warnings; `told`: what the parser found wrong, when the
  // answer was streamed (read whole, it was told as it was found).
  IngestResult finish(const Exposition& head, const prometheus::ToldErrors& told) {
    rows_.tell(result_, told);
    result_.warnings = head.warnings;
    if (head.result_type != "matrix")
      throw SpecError(source_, "vllm needs a range query (resultType matrix), got \"" + head.result_type + "\"");
    rows_.release(result_);
    for (const Tags& tags : order_) {
      const Group& g = groups_.at(tags);
      const auto refused = [&](const Measures& m) {
        const auto cached = m.find("tokens_cached");
        if (cached == m.end()) return false;
        const auto prompt = m.find("tokens_prompt");
        const Decimal prompt_tokens = prompt == m.end() ? Decimal() : prompt->second;
        if (cached->second <= prompt_tokens) return false;
        rows_.skip(result_, g.origin,
                   "prefix-cache hits (" + cached->second.to_string() + " tokens) exceed prompt tokens (" +
                       prompt_tokens.to_string() + ") for model " + std::string(tags.get("model").value_or("")));
        return true;
      };
      if (std::any_of(g.measures.begin(), g.measures.end(), refused)) continue;
      for (std::size_t b = 0; b < g.measures.size(); ++b) {
        if (buckets_ && g.measures[b].empty()) continue;  // nothing seen in that bucket
        Record r;
        r.tags = tags;
        r.pool = o_.pool;
        r.origin = g.origin;
        for (const auto& [k, v] : g.measures[b]) r.measures[k] = v;
        if (buckets_) r.start = (*buckets_)[b].start(), r.end = (*buckets_)[b].end();
        result_.records.push_back(std::move(r));
      }
    }
    return std::move(result_);
  }

 private:
  const VllmOptions& o_;
  RowErrors rows_;
  const std::string& source_;
  const std::vector<Interval>* buckets_;  // under a series, each bucket's increase is its own record
  IngestResult result_;
  std::map<Tags, Group> groups_;
  std::vector<Tags> order_;
};

IngestResult read_vllm_text(std::string_view text, const VllmOptions& o, const RowErrors& rows, const std::string& source) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{')
    throw SpecError(source, "vllm reads a Prometheus query_range JSON answer (counters need samples at two times), "
                            "not a text scrape");
  VllmReader reader(o, rows, source);
  const Exposition exposition = prometheus::parse_api_json(text, source, reader.parse_errors());
  if (exposition.result_type == "matrix")
    for (const Series* s : prometheus::answer_order(exposition)) reader.add(*s);
  return reader.finish(exposition, {});
}

IngestResult parse_vllm(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  return read_vllm_text(text, read_vllm_options(options), rows, source);
}

// A range answer read a series at a time (a month of a live vLLM endpoint is never held
// whole), with the same records and errors as read whole.
IngestResult parse_vllm_stream(std::istream& in, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const VllmOptions o = read_vllm_options(options);
  return prometheus::stream_or_whole(
      in,
      [&](std::istream& answer) -> std::optional<IngestResult> {
        VllmReader reader(o, rows, source);
        reader.hold();
        return prometheus::read_series(
            answer, source, [&](const Series& s) { reader.add(s); },
            [&](const Exposition& head, const prometheus::ToldErrors& told) { return reader.finish(head, told); });
      },
      [&](std::string_view text) { return read_vllm_text(text, o, rows, source); });
}

}  // namespace

void register_vllm(IngestRegistry& registry) {
  registry.add("vllm", parse_vllm);
  registry.add_stream("vllm", parse_vllm_stream);
  // Live: the counters measure_of reads.
  registry.add_live("vllm", {LiveSource::Api::prometheus_range, [](ObjectReader&) -> std::optional<std::string> {
                               return "{__name__=~\"vllm:(prompt_tokens|generation_tokens|prefix_cache_hits|request_success)_total\"}";
                             }});
}

}  // namespace ingest
APPORTION_END_NAMESPACE
