// The prometheus-text and prometheus-json ingest formats: one record per series.

#include <map>
#include <optional>
#include <set>
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

struct SeriesOptions {
  std::string measure = "value";
  std::set<std::string, std::less<>> metrics;  // empty: every metric
  std::optional<std::set<std::string, std::less<>>> labels;
  std::optional<std::string> pool;
};

SeriesOptions read_series_options(ObjectReader& options) {
  SeriesOptions o;
  if (const Value* v = options.optional("measure")) {
    o.measure = read_string(*v, options.path("measure"));
    if (o.measure.empty()) throw SpecError(options.path("measure"), "must not be empty");
  }
  if (const Value* v = options.optional("metric"))
    for (std::string& n : read_names(*v, options.path("metric"))) o.metrics.insert(std::move(n));
  if (const Value* v = options.optional("labels")) {
    o.labels.emplace();
    for (std::string& n : read_names(*v, options.path("labels"))) o.labels->insert(std::move(n));
  }
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  return o;
}

bool wanted(const SeriesOptions& o, const std::string& family, const Series& s) {
  return o.metrics.empty() || o.metrics.contains(s.name) || o.metrics.contains(family);
}

// The record of a series, without measures.
Record series_record(const SeriesOptions& o, const Series& s) {
  std::vector<Tags::Pair> pairs;
  for (const auto& [k, v] : s.labels) {
    if (v.empty() || (o.labels && !o.labels->contains(k))) continue;  // empty is absent, as in Prometheus
    if (k == "metric") throw ParseError("label \"metric\" clashes with the tag that holds the metric name");
    pairs.emplace_back(k, v);
  }
  if (!s.name.empty()) pairs.emplace_back("metric", s.name);
  Record r;
  r.tags = Tags(std::move(pairs));
  r.pool = o.pool;
  r.origin = s.where;
  return r;
}

// The series' usable samples: a bad one is an error, or dropped and counted with skip_invalid.
std::vector<const Sample*> usable_samples(const Series& s, const RowErrors& rows, IngestResult& result) {
  std::vector<const Sample*> out;
  for (std::size_t i = 0; i < s.samples.size(); ++i) {
    const std::string problem = s.samples[i].problem();
    if (problem.empty()) out.push_back(&s.samples[i]);
    else rows.skip(result, prometheus::sample_where(s, i), problem);
  }
  return out;
}

prometheus::ErrorHandler handler(const RowErrors& rows, IngestResult& result) {
  return [&rows, &result](const std::string& where, const std::string& what) { rows.skip(result, where, what); };
}

void add_record(IngestResult& result, const RowErrors& rows, const SeriesOptions& o, const Series& s, Decimal value) {
  try {
    Record r = series_record(o, s);
    r.measures[o.measure] = value;
    result.records.push_back(std::move(r));
  } catch (const ParseError& e) {
    rows.skip(result, s.where, e.what());
  }
}

IngestResult parse_prometheus_text(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const SeriesOptions o = read_series_options(options);
  options.finish();  // a misspelt option is reported before any row is read
  IngestResult result;
  const Exposition exposition = prometheus::parse_text(text, source, handler(rows, result));
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      if (!wanted(o, family.name, s)) continue;
      const auto samples = usable_samples(s, rows, result);
      if (!samples.empty()) add_record(result, rows, o, s, samples.back()->value);
    }
  return result;
}

enum class Aggregate { last, sum, integrate };

// Σ value_i × (t_{i+1} − t_i) in seconds over consecutive samples whose gap is at most
// max_gap; exact, rounded half-even to 12 fractional digits at the end.
Decimal integrate(const std::vector<const Sample*>& samples, const Rational& max_gap) {
  Rational total = 0;
  for (std::size_t i = 0; i + 1 < samples.size(); ++i)
    total += samples[i]->value.to_rational() * prometheus::held_seconds(samples, i, max_gap);
  return Decimal::from_rational(total, Decimal::from_raw(1));
}

IngestResult parse_prometheus_json(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const SeriesOptions o = read_series_options(options);
  Aggregate aggregate = Aggregate::last;
  if (const Value* v = options.optional("aggregate")) {
    const std::string a = read_string(*v, options.path("aggregate"));
    if (a == "last") aggregate = Aggregate::last;
    else if (a == "sum") aggregate = Aggregate::sum;
    else if (a == "integrate") aggregate = Aggregate::integrate;
    else throw SpecError(options.path("aggregate"), "must be \"last\", \"sum\" or \"integrate\" (got \"" + a + "\")");
  }
  std::optional<Rational> max_gap;
  if (const Value* v = options.optional("max_gap")) {
    if (aggregate != Aggregate::integrate)
      throw SpecError(options.path("max_gap"), "applies only to \"aggregate\": \"integrate\"");
    const Decimal gap = read_non_negative(*v, options.path("max_gap"));
    if (gap.is_zero()) throw SpecError(options.path("max_gap"), "must be positive");
    max_gap = gap.to_rational();
  }
  if (aggregate == Aggregate::integrate && !max_gap)
    throw SpecError(options.path("max_gap"),
                    "is required with \"aggregate\": \"integrate\" (seconds between samples beyond which a gap counts "
                    "as no data)");
  options.finish();  // a misspelt option is reported before any row is read
  IngestResult result;
  const Exposition exposition = prometheus::parse_api_json(text, source, handler(rows, result));
  if (aggregate == Aggregate::integrate && exposition.result_type != "matrix")
    throw SpecError(options.path("aggregate"), "\"integrate\" needs a range query (resultType matrix), got \"" +
                                                   exposition.result_type + "\"");
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      if (!wanted(o, family.name, s)) continue;
      const auto samples = usable_samples(s, rows, result);
      if (samples.empty()) continue;
      Decimal value;
      try {
        switch (aggregate) {
          case Aggregate::last: value = samples.back()->value; break;
          case Aggregate::sum:
            for (const Sample* p : samples) value += p->value;
            break;
          case Aggregate::integrate: value = integrate(samples, *max_gap); break;
        }
      } catch (const OverflowError& e) {
        rows.skip(result, s.where, e.what());
        continue;
      }
      add_record(result, rows, o, s, value);
    }
  return result;
}

// ---- dcgm ------------------------------------------------------------------------------

// The first of `keys` present on the series (even empty) wins.
std::optional<std::string> first_label(const Tags& labels, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (const auto v = labels.get(k)) return std::string(*v);
  return std::nullopt;
}

// The share of a physical GPU a series stands for: 1, or slices/7 (A100, H100, H200) or
// slices/4 (A30) for a MIG instance with profile `Ng.XXgb`.
Rational gpu_fraction(const Tags& labels) {
  const auto profile = labels.get("GPU_I_PROFILE");
  if (!profile || profile->empty()) return Rational(1);
  std::size_t i = 0;
  BigInt slices = 0;
  while (i < profile->size() && (*profile)[i] >= '0' && (*profile)[i] <= '9') slices = slices * 10 + ((*profile)[i++] - '0');
  if (i == 0 || i + 1 >= profile->size() || (*profile)[i] != 'g' || (*profile)[i + 1] != '.' || slices == 0)
    throw ParseError("unknown MIG profile \"" + std::string(*profile) + "\" (expected Ng.XXgb)");
  const std::string model(labels.get("modelName").value_or(""));
  int total = 0;
  if (model.find("A100") != std::string::npos || model.find("H100") != std::string::npos ||
      model.find("H200") != std::string::npos)
    total = 7;
  else if (model.find("A30") != std::string::npos)
    total = 4;
  else
    throw ParseError("MIG slices of GPU model \"" + model + "\" are not known (A100, H100, H200: 7; A30: 4)");
  if (slices > total) throw ParseError("MIG profile \"" + std::string(*profile) + "\" has more slices than a " + model);
  return Rational(slices, BigInt(total));
}

struct DcgmSeries {
  const Series* series;
  Tags tags;        // the record's tags
  std::string gpu;  // UUID plus MIG instance: what time-slicing shares
  bool allocated;
  Rational fraction;
  std::vector<const Sample*> samples;
  std::vector<Rational> held;  // seconds each sample holds the GPU
};

struct DcgmTotals {
  Rational gpu_seconds = 0;
  Rational utilization_sum = 0;
  std::size_t samples = 0;
  std::string origin;
};

IngestResult parse_dcgm(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  std::string metric = "DCGM_FI_DEV_GPU_UTIL";
  if (const Value* v = options.optional("metric")) metric = read_string(*v, options.path("metric"));
  std::optional<std::string> pool;
  if (const Value* v = options.optional("pool")) pool = read_string(*v, options.path("pool"));
  const auto positive = [&](const char* key) -> std::optional<Rational> {
    const Value* v = options.optional(key);
    if (!v) return std::nullopt;
    const Decimal d = read_non_negative(*v, options.path(key));
    if (d.is_zero()) throw SpecError(options.path(key), "must be positive");
    return d.to_rational();
  };
  const std::optional<Rational> interval = positive("interval");
  const std::optional<Rational> max_gap = positive("max_gap");
  options.finish();  // a misspelt option is reported before any row is read
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && text[first] == '{';
  if (json && !max_gap)
    throw SpecError(options.path("max_gap"), "is required for a range query (seconds between samples beyond which a gap counts as no data)");
  if (json && interval) throw SpecError(options.path("interval"), "applies only to a text scrape");
  if (!json && !interval) throw SpecError(options.path("interval"), "is required for a text scrape (seconds each sample stands for)");
  if (!json && max_gap) throw SpecError(options.path("max_gap"), "applies only to a range query");

  IngestResult result;
  const Exposition exposition =
      json ? prometheus::parse_api_json(text, source, handler(rows, result)) : prometheus::parse_text(text, source, handler(rows, result));
  if (json && exposition.result_type != "matrix")
    throw SpecError(source, "dcgm needs a range query (resultType matrix) or a text scrape, got \"" + exposition.result_type + "\"");

  std::vector<DcgmSeries> list;
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      if (s.name != metric && !(json && s.name.empty())) continue;
      try {
        DcgmSeries d{&s, {}, {}, false, gpu_fraction(s.labels), {}, {}};
        const auto uuid = s.labels.get("UUID");
        if (!uuid || uuid->empty()) throw ParseError("series has no UUID label");
        const std::string pod = first_label(s.labels, {"exported_pod", "pod", "pod_name"}).value_or("");
        const std::string ns = first_label(s.labels, {"exported_namespace", "namespace", "pod_namespace"}).value_or("");
        const std::string container = first_label(s.labels, {"exported_container", "container", "container_name"}).value_or("");
        std::vector<Tags::Pair> pairs;
        pairs.reserve(8);
        pairs.emplace_back("gpu", std::string(*uuid));
        d.gpu = std::string(*uuid);
        if (const auto id = s.labels.get("GPU_I_ID"); id && !id->empty()) {
          pairs.emplace_back("mig_instance", std::string(*id));
          pairs.emplace_back("mig_profile", std::string(s.labels.get("GPU_I_PROFILE").value_or("")));
          d.gpu.append(1, '/').append(*id);
        }
        if (const auto host = s.labels.get("Hostname")) pairs.emplace_back("node", std::string(*host));
        if (const auto model = s.labels.get("modelName")) pairs.emplace_back("gpu_model", std::string(*model));
        d.allocated = !pod.empty();
        if (d.allocated) {
          if (!ns.empty()) pairs.emplace_back("namespace", ns);
          pairs.emplace_back("pod", pod);
          if (!container.empty()) pairs.emplace_back("container", container);
        }
        d.tags = Tags(std::move(pairs));
        for (std::size_t i = 0; i < s.samples.size(); ++i) {
          std::string problem = s.samples[i].problem();
          if (problem.empty() && s.samples[i].value > Decimal(100))
            problem = "utilization " + s.samples[i].value.to_string() + " is above 100";
          if (problem.empty()) d.samples.push_back(&s.samples[i]);
          else rows.skip(result, prometheus::sample_where(s, i), problem);
        }
        for (std::size_t i = 0; i < d.samples.size(); ++i) {
          d.held.push_back(json ? prometheus::held_seconds(d.samples, i, *max_gap) : *interval);
        }
        if (!d.samples.empty()) list.push_back(std::move(d));
      } catch (const ParseError& e) {
        rows.skip(result, s.where, e.what());
      } catch (const SpecError&) {
        throw;
      } catch (const std::invalid_argument& e) {
        rows.skip(result, s.where, e.what());
      }
    }

  // Time-slicing: the pods sharing one GPU (or MIG instance) at one timestamp split it evenly.
  std::map<std::pair<std::string, std::int64_t>, std::set<Tags>> sharing;
  const auto when = [&](const Sample* p) { return json ? p->timestamp->unix_nanos() : std::int64_t{0}; };
  for (const DcgmSeries& d : list)
    if (d.allocated)
      for (const Sample* p : d.samples) sharing[{d.gpu, when(p)}].insert(d.tags);
  std::map<Tags, DcgmTotals> totals;
  std::vector<Tags> order;
  for (const DcgmSeries& d : list) {
    auto [it, added] = totals.try_emplace(d.tags);
    if (added) {
      it->second.origin = d.series->where;
      order.push_back(d.tags);
    }
    for (std::size_t i = 0; i < d.samples.size(); ++i) {
      Rational seconds = d.fraction * d.held[i];
      if (d.allocated) seconds /= static_cast<long long>(sharing[{d.gpu, when(d.samples[i])}].size());
      it->second.gpu_seconds += seconds;
      it->second.utilization_sum += d.samples[i]->value.to_rational();
      ++it->second.samples;
    }
  }
  const Decimal unit = Decimal::from_raw(1);
  for (const Tags& tags : order) {
    const DcgmTotals& t = totals.at(tags);
    Record r;
    r.tags = tags;
    r.pool = pool;
    r.origin = t.origin;
    r.measures[tags.contains("pod") ? "gpu_seconds" : "idle_gpu_seconds"] = Decimal::from_rational(t.gpu_seconds, unit);
    r.measures["utilization"] = Decimal::from_rational(t.utilization_sum / (100 * static_cast<long long>(t.samples)), unit);
    result.records.push_back(std::move(r));
  }
  return result;
}

}  // namespace

void register_prometheus(IngestRegistry& registry) {
  registry.add("prometheus-text", parse_prometheus_text);
  registry.add("prometheus-json", parse_prometheus_json);
  registry.add("dcgm", parse_dcgm);
}

}  // namespace ingest
APPORTION_END_NAMESPACE
