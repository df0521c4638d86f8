// The kube-state-metrics ingest format: GPU requests per pod (whole GPUs, time-sliced
// replicas and MIG slices) from one text scrape or a query_range answer, with the pod's
// labels as tags.

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "formats.hpp"
#include "prometheus.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

namespace {

using prometheus::Sample;
using prometheus::Series;

constexpr std::string_view requests_metric = "kube_pod_container_resource_requests";
constexpr std::string_view labels_metric = "kube_pod_labels";

struct KsmOptions {
  Rational interval = 0;  // a text scrape: seconds it stands for
  Rational max_gap = 0;   // a range query: seconds beyond which a gap counts as no data
  Rational replicas = 1;
  Rational mig_slices = 7;
  std::optional<std::string> pool;
};

Rational positive_integer(ObjectReader& options, const char* key) {
  const Decimal d = read_non_negative(*options.optional(key), options.path(key));
  const Rational r = d.to_rational();
  if (d.is_zero() || boost::multiprecision::denominator(r) != 1)
    throw SpecError(options.path(key), "must be a positive whole number");
  return r;
}

std::string label(const Series& s, const char* key) {
  const auto v = s.labels.get(key);
  if (!v || v->empty()) throw ParseError(std::string("series has no ") + key + " label");
  return std::string(*v);
}

// The share of a GPU one unit of `resource` stands for, or nullopt for a resource that is
// not a GPU (cpu, memory, ...).
std::optional<Rational> gpu_share(std::string_view resource, const KsmOptions& o) {
  if (resource == "nvidia_com_gpu" || resource == "nvidia_com_gpu_shared") return Rational(1) / o.replicas;
  constexpr std::string_view mig = "nvidia_com_mig_";
  if (resource.substr(0, mig.size()) != mig) return std::nullopt;
  const std::string_view profile = resource.substr(mig.size());  // "1g_10gb"
  std::size_t i = 0;
  BigInt slices = 0;
  while (i < profile.size() && profile[i] >= '0' && profile[i] <= '9') slices = slices * 10 + (profile[i++] - '0');
  if (i == 0 || i + 1 >= profile.size() || profile[i] != 'g' || profile[i + 1] != '_' || slices == 0)
    throw ParseError("unknown MIG resource \"" + std::string(resource) + "\" (expected nvidia_com_mig_Ng_XXgb)");
  const Rational share(slices, BigInt(1));
  if (share > o.mig_slices)
    throw ParseError("MIG resource \"" + std::string(resource) + "\" has more slices than mig_slices (" +
                     boost::multiprecision::numerator(o.mig_slices).str() + ")");
  return share / o.mig_slices;
}

struct Pod {
  std::string ns, name;
  Rational gpus = 0;         // a range query: the largest request at any sample
  Rational gpu_seconds = 0;  // a range query: integrated over the samples
  std::string origin;
  std::vector<Tags::Pair> labels;  // from kube_pod_labels, label_ stripped
  std::string labels_where;        // where kube_pod_labels was read, "" when not yet
  std::optional<Instant> labels_at;  // a range query: the last sample of that series
};


IngestResult parse_kube_state_metrics(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  KsmOptions o;
  if (options.optional("interval")) {
    const Decimal d = read_non_negative(*options.optional("interval"), options.path("interval"));
    if (d.is_zero()) throw SpecError(options.path("interval"), "must be positive");
    o.interval = d.to_rational();
  }
  const bool has_interval = o.interval > 0;
  if (options.optional("replicas")) o.replicas = positive_integer(options, "replicas");
  if (options.optional("mig_slices")) o.mig_slices = positive_integer(options, "mig_slices");
  if (options.optional("max_gap")) {
    const Decimal d = read_non_negative(*options.optional("max_gap"), options.path("max_gap"));
    if (d.is_zero()) throw SpecError(options.path("max_gap"), "must be positive");
    o.max_gap = d.to_rational();
  }
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  options.finish();  // a misspelt option is reported before any row is read
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && text[first] == '{';
  if (json && has_interval) throw SpecError(options.path("interval"), "applies only to a text scrape");
  if (json && o.max_gap == 0)
    throw SpecError(options.path("max_gap"), "is required for a range query (seconds between samples beyond which a gap counts as no data)");
  if (!json && o.max_gap > 0) throw SpecError(options.path("max_gap"), "applies only to a range query");
  if (!json && !has_interval) throw SpecError(options.path("interval"), "is required (seconds the scrape stands for)");

  IngestResult result;
  const auto on_error = [&rows, &result](const std::string& where, const std::string& what) {
    rows.skip(result, where, what);
  };
  const prometheus::Exposition exposition =
      json ? prometheus::parse_api_json(text, source, on_error) : prometheus::parse_text(text, source, on_error);
  if (json && exposition.result_type != "matrix")
    throw SpecError(source, "kube-state-metrics needs a range query (resultType matrix) or a text scrape, got \"" +
                                exposition.result_type + "\"");

  std::map<std::pair<std::string, std::string>, Pod> pods;
  std::vector<std::pair<std::string, std::string>> order;  // pods with GPU requests, as first seen
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      if (s.name != requests_metric && s.name != labels_metric) continue;
      try {
        const std::string ns = label(s, "namespace");
        const std::string name = label(s, "pod");
        if (s.name == labels_metric) {
          Pod& pod = pods[{ns, name}];
          // A range query holds one series per label set a pod had: the latest one wins.
          std::optional<Instant> at;
          for (const Sample& sample : s.samples)
            if (sample.timestamp && (!at || *sample.timestamp > *at)) at = sample.timestamp;
          if (!pod.labels_where.empty()) {
            if (!json || !at || !pod.labels_at || *at == *pod.labels_at)
              throw ParseError("pod " + ns + "/" + name + " has kube_pod_labels twice (first at " + pod.labels_where + ")");
            if (*at < *pod.labels_at) continue;
          }
          pod.labels_at = at;
          std::vector<Tags::Pair> pairs;
          for (const auto& [k, v] : s.labels) {
            if (k.substr(0, 6) != "label_" || k.size() == 6 || v.empty()) continue;
            const std::string key = k.substr(6);
            if (key == "namespace" || key == "pod")
              throw ParseError("pod label \"" + key + "\" clashes with the tag of the same name");
            pairs.emplace_back(key, v);
          }
          pod.labels = std::move(pairs);
          pod.labels_where = s.where;
          continue;
        }
        const auto share = gpu_share(label(s, "resource"), o);
        if (!share) continue;
        std::vector<const Sample*> samples;
        for (std::size_t i = 0; i < s.samples.size(); ++i) {
          const std::string problem = s.samples[i].problem();
          if (problem.empty()) samples.push_back(&s.samples[i]);
          else rows.skip(result, prometheus::sample_where(s, i), problem);
        }
        if (samples.empty()) continue;
        Rational gpus = 0, gpu_seconds = 0;
        for (std::size_t i = 0; i < samples.size(); ++i) {
          const Rational held = samples[i]->value.to_rational() * *share;
          gpus = std::max(gpus, held);
          // A scrape has one sample per series, standing for `interval`.
          gpu_seconds += held * (json ? prometheus::held_seconds(samples, i, o.max_gap) : o.interval);
        }
        auto [it, added] = pods.try_emplace({ns, name});
        Pod& pod = it->second;
        if (pod.origin.empty()) {
          pod.ns = ns;
          pod.name = name;
          pod.origin = s.where;
          order.emplace_back(ns, name);
        }
        pod.gpus += gpus;
        pod.gpu_seconds += gpu_seconds;
      } catch (const ParseError& e) {
        rows.skip(result, s.where, e.what());
      }
    }

  const Decimal unit = Decimal::from_raw(1);
  for (const auto& key : order) {
    const Pod& pod = pods.at(key);
    rows.row(result, pod.origin, [&] {
      std::vector<Tags::Pair> pairs = pod.labels;
      pairs.emplace_back("namespace", pod.ns);
      pairs.emplace_back("pod", pod.name);
      Record r;
      r.tags = Tags(std::move(pairs));
      r.pool = o.pool;
      r.origin = pod.origin;
      r.measures["gpus"] = Decimal::from_rational(pod.gpus, unit);
      r.measures["gpu_seconds"] = Decimal::from_rational(pod.gpu_seconds, unit);
      result.records.push_back(std::move(r));
    });
  }
  return result;
}

}  // namespace

void register_kube_state_metrics(IngestRegistry& registry) {
  registry.add("kube-state-metrics", parse_kube_state_metrics);
}

}  // namespace ingest
APPORTION_END_NAMESPACE
