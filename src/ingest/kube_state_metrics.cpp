// The kube-state-metrics ingest format: GPU requests per pod (whole GPUs, time-sliced
// replicas and MIG slices) from one text scrape or a query_range answer, with the pod's
// labels as tags. A request is held only while the pod's phase holds it, one pod name is
// one timeline across the uids it had, and time-slicing replicas are per node.

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
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
constexpr std::string_view phase_metric = "kube_pod_status_phase";
constexpr std::string_view node_labels_metric = "kube_node_labels";
constexpr std::string_view capacity_metric = "kube_node_status_capacity";
constexpr std::string_view allocatable_metric = "kube_node_status_allocatable";

struct KsmOptions {
  Rational interval = 0;  // a text scrape: seconds it stands for
  Rational max_gap = 0;   // a range query: seconds beyond which a gap counts as no data
  std::optional<Rational> replicas;               // nodes without replicas of their own
  std::map<std::string, Rational> node_replicas;  // per node; wins over the node's label
  Rational mig_slices = 7;
  std::optional<std::set<std::string>> nodes;  // only requests on these nodes
  std::optional<std::string> pool;
};


// `replicas`: a number for every node without a label of its own, or per node as an object
// ({"gpu-node-1": 4}) or, on the command line, as "gpu-node-1=4,gpu-node-2=1".
void read_replicas(const Value& v, const std::string& path, KsmOptions& o) {
  if (v.is(Value::Type::object)) {
    for (const auto& [node, n] : v.members()) o.node_replicas[node] = read_positive_whole(n, path_join(path, node));
  } else if (v.is(Value::Type::string) && v.text().find('=') != std::string::npos) {
    for (const std::string& item : read_names(v, path)) {
      const std::size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        throw SpecError(path, "\"" + item + "\" is not NODE=REPLICAS");
      const std::string node = item.substr(0, eq);
      o.node_replicas[node] = read_positive_whole(Value::string(item.substr(eq + 1)), path_join(path, node));
    }
  } else {
    o.replicas = read_positive_whole(v, path);
  }
}

// Every label read here is kube-state-metrics' own, so each is read as Prometheus stores it
// when the scrape's target labels clash (exported_namespace, exported_pod, exported_container
// beside the kube-state-metrics pod's namespace, pod and container): prometheus::scraped_label.
std::string label(const Series& s, const char* key) {
  const auto v = prometheus::scraped_label(s.labels, key);
  if (!v || v->empty()) throw ParseError(std::string("series has no ") + key + " label");
  return *v;
}

// A label that may be absent: Prometheus drops empty labels, so absent and "" are one.
std::string optional_label(const Series& s, const char* key) {
  return prometheus::scraped_label(s.labels, key).value_or("");
}

// The series of a labels metric that describes an object: a range query holds one series
// per label set the object had in the window, and the one with the latest sample wins.
struct LatestSeries {
  const Series* series = nullptr;
  std::optional<Instant> at;
};

// The Kubernetes labels a labels series carries (label_*), without the scrape's own
// (instance, job, uid): two kube-state-metrics replicas scraped tell the same labels twice.
std::vector<Tags::Pair> kubernetes_labels(const Series& s) {
  std::vector<Tags::Pair> out;
  for (const auto& pair : s.labels)
    if (pair.first.starts_with("label_")) out.push_back(pair);
  return out;
}

void take_latest(LatestSeries& held, const Series& s, bool json, const std::string& what) {
  std::optional<Instant> at;
  for (const Sample& sample : s.samples)
    if (sample.timestamp && (!at || *sample.timestamp > *at)) at = sample.timestamp;
  if (held.series) {
    if (!json || !at || !held.at || *at == *held.at) {
      if (kubernetes_labels(s) == kubernetes_labels(*held.series)) return;
      throw ParseError(what + " has " + s.name + " twice (first at " + held.series->where + ")");
    }
    if (*at < *held.at) return;
  }
  held = {&s, at};
}

// The time-slicing replicas a node's labels give per resource ("nvidia_com_gpu",
// "nvidia_com_mig_1g_10gb"): NVIDIA's GPU feature discovery labels a node
// nvidia.com/<resource>.replicas, which kube-state-metrics exports on kube_node_labels as
// label_nvidia_com_<resource>_replicas when allowlisted. 0 means sharing is off: 1.
std::map<std::string, Rational, std::less<>> replicas_labels(const Series& s) {
  constexpr std::string_view prefix = "label_", suffix = "_replicas";
  std::map<std::string, Rational, std::less<>> out;
  for (const auto& [k, v] : s.labels) {
    if (!k.starts_with("label_nvidia_com_") || !k.ends_with(suffix)) continue;
    if (v.empty() || v.size() > 6 || v.find_first_not_of("0123456789") != std::string::npos)
      throw ParseError(k + " \"" + v + "\" is not a whole number");
    const int n = std::stoi(v);
    out[k.substr(prefix.size(), k.size() - prefix.size() - suffix.size())] = Rational(std::max(n, 1));
  }
  return out;
}

// One request at one sample time, in GPUs, and the node holding it.
struct Point {
  Rational gpus = 0;
  std::string node;
};
// By sample time; a text scrape has one point, at Instant().
using Timeline = std::map<Instant, Point>;

// A pod name has at most one live pod, so two uids (or two kube-state-metrics replicas)
// reporting at one time tell one request twice: the larger is kept, never the sum.
void hold(Timeline& timeline, Instant at, Point p) {
  const auto [it, added] = timeline.try_emplace(at, p);
  if (!added && (p.gpus > it->second.gpus || (p.gpus == it->second.gpus && p.node < it->second.node)))
    it->second = std::move(p);
}

struct Held {
  Rational peak = 0, seconds = 0;
};

// Integrates a timeline: a scrape's point stands for `interval`, a range's points for the
// time to the next (prometheus::held_seconds). Adds each node's GPU-seconds to `per_node`,
// and the timeline's gaps to `gaps` when given. Under a series (`buckets`, a range only),
// also each bucket's peak and GPU-seconds into `by_bucket`: a point's peak in the bucket
// holding it, its time cut at the buckets' boundaries.
Held integrate(const Timeline& timeline, bool json, const KsmOptions& o, std::map<std::string, Rational>& per_node,
               prometheus::GapCheck* gaps = nullptr, const std::vector<Interval>* buckets = nullptr,
               std::vector<Held>* by_bucket = nullptr) {
  std::vector<Sample> times(timeline.size());
  std::vector<const Sample*> samples;
  std::size_t i = 0;
  for (const auto& entry : timeline) times[i++].timestamp = entry.first;
  for (const Sample& s : times) samples.push_back(&s);
  if (json && gaps) gaps->add(samples);
  Held h;
  i = 0;
  for (const auto& entry : timeline) {
    const Point& p = entry.second;
    const Rational held = json ? prometheus::held_seconds(samples, i, o.max_gap) : o.interval;
    const Rational gpu_seconds = p.gpus * held;
    h.peak = std::max(h.peak, p.gpus);
    h.seconds += gpu_seconds;
    if (!p.node.empty() && gpu_seconds > 0) per_node[p.node] += gpu_seconds;
    if (buckets && json) {
      if (const auto b = bucket_holding(*buckets, entry.first)) (*by_bucket)[*b].peak = std::max((*by_bucket)[*b].peak, p.gpus);
      if (held > 0)
        for_each_overlap(*buckets, Interval(entry.first, *samples[i + 1]->timestamp), [&](std::size_t b, std::int64_t ns) {
          (*by_bucket)[b].seconds += p.gpus * Rational(BigInt(ns), BigInt(1'000'000'000));
        });
    }
    ++i;
  }
  return h;
}

// The phase a pod's uid was in at each sample time where one series said so.
using Phases = std::map<Instant, std::string>;

// The phase at `at`: the latest one known at or before it; null when none is.
const std::string* phase_at(const Phases& phases, Instant at) {
  const auto it = phases.upper_bound(at);
  return it == phases.begin() ? nullptr : &std::prev(it)->second;
}

// Pending (once scheduled), Running and Unknown hold their requests: the scheduler counts
// every pod that is not Succeeded or Failed against its node, and an Unknown pod's node
// has only stopped reporting, its GPUs are not free. No phase known: held, as reported.
bool holds(const std::string* phase, bool scheduled) {
  if (!phase) return true;
  if (*phase == "Succeeded" || *phase == "Failed") return false;
  return *phase != "Pending" || scheduled;
}

struct Pod {
  std::string ns, name, origin;
  std::map<std::pair<std::string, std::string>, Timeline> requests;  // (container, resource)
  bool unphased = false;  // a uid with requests but no kube_pod_status_phase
};

std::string gpu_seconds_text(const Rational& r) { return Decimal::from_rational(r, Decimal::from_raw(1)).to_string(); }

KsmOptions read_ksm_options(ObjectReader& options) {
  KsmOptions o;
  if (const Value* v = options.optional("interval")) o.interval = read_seconds(*v, options.path("interval")).to_rational();
  if (const Value* v = options.optional("replicas")) read_replicas(*v, options.path("replicas"), o);
  if (options.optional("mig_slices")) o.mig_slices = read_positive_whole(*options.optional("mig_slices"), options.path("mig_slices"));
  if (const Value* v = options.optional("max_gap")) o.max_gap = read_seconds(*v, options.path("max_gap")).to_rational();
  if (const Value* v = options.optional("nodes")) {
    const std::vector<std::string> names = read_names(*v, options.path("nodes"));
    if (names.empty()) throw SpecError(options.path("nodes"), "must name at least one node");
    o.nodes.emplace(names.begin(), names.end());
  }
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  options.finish();  // a misspelt option is reported before any row is read
  return o;
}

// The options a range answer (`json`) or a text scrape needs, and those it must not have.
void check_form(const KsmOptions& o, bool json, ObjectReader& options) {
  const bool has_interval = o.interval > 0;
  if (json && has_interval) throw SpecError(options.path("interval"), "applies only to a text scrape");
  if (json && o.max_gap == 0)
    throw SpecError(options.path("max_gap"), "is required for a range query (seconds between samples beyond which a gap counts as no data)");
  if (!json && o.max_gap > 0) throw SpecError(options.path("max_gap"), "applies only to a range query");
  if (!json && !has_interval) throw SpecError(options.path("interval"), "is required (seconds the scrape stands for)");
}

// A resource that is a GPU or a share of one (gpu_share below gives it a value).
bool gpu_resource(std::string_view resource) {
  if (resource.ends_with("_shared")) resource.remove_suffix(7);
  return resource == "nvidia_com_gpu" || resource.starts_with("nvidia_com_mig_");
}

IngestResult read_exposition(const KsmOptions& o, bool json, IngestResult result, const prometheus::Exposition& exposition,
                             const RowErrors& rows, const std::string& source);

IngestResult parse_kube_state_metrics(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const KsmOptions o = read_ksm_options(options);
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && text[first] == '{';
  check_form(o, json, options);
  IngestResult result;
  const prometheus::ErrorHandler on_error = [&rows, &result](const std::string& where, const std::string& what) {
    rows.skip(result, where, what);
  };
  const prometheus::Exposition exposition =
      json ? prometheus::parse_api_json(text, source, on_error) : prometheus::parse_text(text, source, on_error);
  return read_exposition(o, json, std::move(result), exposition, rows, source);
}

// A range answer read a series at a time, keeping only what can count: the series of the
// metrics read, without requests and node resources that are no GPU (cpu, memory: most of
// an answer) or on nodes not selected, and a phase series all of whose samples are 0 (not
// that phase) without its samples. The same records and errors as read whole: a series
// left out is one reading would pass over, and its family keeps its place.
IngestResult parse_kube_state_metrics_stream(std::istream& in, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const KsmOptions o = read_ksm_options(options);
  const auto selected = [&o](const std::string& node) { return !o.nodes || o.nodes->contains(node); };
  const auto present = [](const Series& s, const char* key) { return !optional_label(s, key).empty(); };
  return prometheus::stream_or_whole(
      in,
      [&](std::istream& answer) -> std::optional<IngestResult> {
        prometheus::Exposition kept;
        std::map<std::string, std::size_t> family_index;
        std::size_t left_out = 0;
        const auto keep_series = [&](const Series& s) {
          const auto [at, added] = family_index.try_emplace(s.name, kept.families.size());
          if (added) kept.families.push_back({s.name, prometheus::MetricType::untyped, {}, {}});
          const bool request = s.name == requests_metric;
          const bool node_resource = s.name == capacity_metric || s.name == allocatable_metric;
          bool keep = request || node_resource || s.name == labels_metric || s.name == node_labels_metric ||
                      s.name == phase_metric;
          if (request && present(s, "namespace") && present(s, "pod") && present(s, "resource"))
            keep = selected(optional_label(s, "node")) && gpu_resource(optional_label(s, "resource"));
          if (request && !selected(optional_label(s, "node"))) keep = false;
          if (node_resource && present(s, "node") && present(s, "resource"))
            keep = selected(optional_label(s, "node")) && gpu_resource(optional_label(s, "resource"));
          if (!keep) {
            ++left_out;
            return;
          }
          Series& held = kept.families[at->second].series.emplace_back(s);
          if (s.name == phase_metric &&
              std::all_of(s.samples.begin(), s.samples.end(),
                          [](const Sample& x) { return x.problem().empty() && x.value.is_zero(); }))
            held.samples.clear();
        };
        return prometheus::read_series(
            answer, source, keep_series, [&](const prometheus::Exposition& head, const prometheus::ToldErrors& told) {
              check_form(o, true, options);
              kept.result_type = head.result_type;
              kept.warnings = head.warnings;
              IngestResult result;
              result.rows = left_out;
              rows.tell(result, told);
              return read_exposition(o, true, std::move(result), kept, rows, source);
            });
      },
      [&](std::string_view text) { return parse_kube_state_metrics(text, options, source); });
}

IngestResult read_exposition(const KsmOptions& o, bool json, IngestResult result, const prometheus::Exposition& exposition,
                             const RowErrors& rows, const std::string& source) {
  const prometheus::ErrorHandler on_error = [&rows, &result](const std::string& where, const std::string& what) {
    rows.skip(result, where, what);
  };
  result.warnings = exposition.warnings;
  if (json && exposition.result_type != "matrix")
    throw SpecError(source, "kube-state-metrics needs a range query (resultType matrix) or a text scrape, got \"" +
                                exposition.result_type + "\"");
  const auto selected = [&o](const std::string& node) { return !o.nodes || o.nodes->contains(node); };
  const auto time_of = [json](const Sample& sample) { return json && sample.timestamp ? *sample.timestamp : Instant(); };

  // First what describes pods and nodes, so requests can be read in any order after it.
  std::map<std::tuple<std::string, std::string, std::string>, Phases> phases;  // (namespace, pod, uid)
  std::map<std::pair<std::string, std::string>, LatestSeries> pod_labels;
  std::map<std::string, LatestSeries> node_labels;
  std::vector<const Series*> requests, capacity, allocatable;
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      ++result.rows;
      try {
        if (s.name == requests_metric) requests.push_back(&s);
        else if (s.name == capacity_metric) capacity.push_back(&s);
        else if (s.name == allocatable_metric) allocatable.push_back(&s);
        else if (s.name == labels_metric) {
          const std::string ns = label(s, "namespace"), name = label(s, "pod");
          take_latest(pod_labels[{ns, name}], s, json, "pod " + ns + "/" + name);
        } else if (s.name == node_labels_metric) {
          const std::string node = label(s, "node");
          if (selected(node)) take_latest(node_labels[node], s, json, "node " + node);
        } else if (s.name == phase_metric) {
          const std::string ns = label(s, "namespace"), name = label(s, "pod"), phase = label(s, "phase");
          if (phase != "Pending" && phase != "Running" && phase != "Succeeded" && phase != "Failed" && phase != "Unknown")
            throw ParseError("unknown pod phase \"" + phase + "\" (expected Pending, Running, Succeeded, Failed or Unknown)");
          Phases& of = phases[{ns, name, optional_label(s, "uid")}];
          for (const Sample* sample : prometheus::usable_samples(s, on_error)) {
            if (sample->value.is_zero()) continue;  // one series per phase: 1 marks the current one
            const auto [it, added] = of.try_emplace(time_of(*sample), phase);
            if (!added && it->second != phase)
              throw ParseError("pod " + ns + "/" + name + " is " + it->second + " and " + phase + " at once");
          }
        }
      } catch (const ParseError& e) {
        rows.skip(result, s.where, e.what());
      }
    }
  std::map<std::string, std::map<std::string, Rational, std::less<>>> labelled;  // node -> resource -> replicas
  for (const auto& [node, latest] : node_labels) {
    try {
      labelled[node] = replicas_labels(*latest.series);
    } catch (const ParseError& e) {
      rows.skip(result, latest.series->where, e.what());
    }
  }
  const auto label_replicas = [&labelled](const std::string& node, std::string_view resource) -> std::optional<Rational> {
    const auto n = labelled.find(node);
    if (n == labelled.end()) return std::nullopt;
    const auto r = n->second.find(resource);
    if (r == n->second.end()) return std::nullopt;
    return r->second;
  };

  std::set<std::string> shared_unknown;  // nodes with time-sliced requests and no replicas known
  std::set<std::string> scalar_nodes;    // nodes whose requests took the scalar replicas
  // The share of a GPU one unit of `resource` on `node` stands for, or nullopt for a
  // resource that is not a GPU (cpu, memory, ...). The device plugin's renamed time-sliced
  // resources end in _shared and take the replicas of the resource they rename.
  const auto gpu_share = [&](std::string_view resource, const std::string& node,
                             bool request) -> std::optional<Rational> {
    constexpr std::string_view shared = "_shared", gpu = "nvidia_com_gpu", mig = "nvidia_com_mig_";
    const bool renamed = resource.ends_with(shared);
    const std::string_view base = renamed ? resource.substr(0, resource.size() - shared.size()) : resource;
    if (base == gpu) {
      if (const auto it = o.node_replicas.find(node); it != o.node_replicas.end()) return 1 / it->second;
      if (const auto r = label_replicas(node, gpu)) return 1 / *r;
      if (o.replicas) {
        if (request && !node.empty()) scalar_nodes.insert(node);
        return 1 / *o.replicas;
      }
      if (renamed && request) shared_unknown.insert(node);
      return Rational(1);
    }
    if (!base.starts_with(mig)) return std::nullopt;
    const std::optional<Rational> share = prometheus::mig_profile_slices(base.substr(mig.size()), '_');  // "1g_10gb"
    if (!share) throw ParseError("unknown MIG resource \"" + std::string(resource) + "\" (expected nvidia_com_mig_Ng_XXgb)");
    if (*share > o.mig_slices)
      throw ParseError("MIG resource \"" + std::string(resource) + "\" has more slices than mig_slices (" +
                       boost::multiprecision::numerator(o.mig_slices).str() + ")");
    // A time-sliced MIG slice has replicas only from its node's label: `replicas` is for whole GPUs.
    return *share / o.mig_slices / label_replicas(node, base).value_or(Rational(1));
  };

  std::map<std::pair<std::string, std::string>, Pod> pods;
  std::vector<std::pair<std::string, std::string>> order;  // pods with GPU requests, as first seen
  std::set<std::string> request_nodes;                      // the nodes of the GPU requests
  for (const Series* series : requests) {
    const Series& s = *series;
    try {
      const std::string node = optional_label(s, "node");
      if (!selected(node)) continue;
      const std::string ns = label(s, "namespace"), name = label(s, "pod"), resource = label(s, "resource");
      const auto share = gpu_share(resource, node, true);
      if (!share) continue;
      if (!node.empty()) request_nodes.insert(node);
      const auto phase = phases.find({ns, name, optional_label(s, "uid")});
      std::vector<std::pair<Instant, Point>> points;
      for (const Sample* sample : prometheus::usable_samples(s, on_error)) {
        const Instant at = time_of(*sample);
        const bool held = phase == phases.end() || holds(phase_at(phase->second, at), !node.empty());
        points.emplace_back(at, Point{held ? sample->value.to_rational() * *share : Rational(0), node});
      }
      if (points.empty()) continue;
      auto [it, added] = pods.try_emplace({ns, name});
      Pod& pod = it->second;
      if (added) {
        pod.ns = ns;
        pod.name = name;
        pod.origin = s.where;
        order.emplace_back(ns, name);
      }
      pod.unphased = pod.unphased || phase == phases.end();
      Timeline& timeline = pod.requests[{optional_label(s, "container"), resource}];
      for (auto& [at, p] : points) hold(timeline, at, std::move(p));
    } catch (const ParseError& e) {
      rows.skip(result, s.where, e.what());
    }
  }

  const Decimal unit = Decimal::from_raw(1);
  std::map<std::string, Rational> requested;  // node -> GPU-seconds held on it
  prometheus::GapCheck gaps(o.max_gap);
  std::size_t unphased = 0;
  // Under a series, a range's requests go to the buckets they were held in: one record per
  // pod and bucket, over the bucket.
  const std::vector<Interval>* buckets = json ? current_buckets() : nullptr;
  for (const auto& key : order) {
    Pod& pod = pods.at(key);
    Rational gpus = 0, gpu_seconds = 0;
    std::vector<Held> by_bucket(buckets ? buckets->size() : 0), pod_buckets(by_bucket.size());
    for (const auto& entry : pod.requests) {
      std::fill(by_bucket.begin(), by_bucket.end(), Held{});
      const Held h = integrate(entry.second, json, o, requested, &gaps, buckets, &by_bucket);
      gpus += h.peak;
      gpu_seconds += h.seconds;
      for (std::size_t b = 0; b < by_bucket.size(); ++b) {
        pod_buckets[b].peak += by_bucket[b].peak;
        pod_buckets[b].seconds += by_bucket[b].seconds;
      }
    }
    if (gpus == 0) continue;  // finished (or unscheduled) throughout: it held no GPU
    if (pod.unphased) ++unphased;
    rows.row(result, pod.origin, [&] {
      std::vector<Tags::Pair> pairs;
      if (const auto labels = pod_labels.find(key); labels != pod_labels.end())
        for (const auto& [k, v] : labels->second.series->labels) {
          if (k.substr(0, 6) != "label_" || k.size() == 6 || v.empty()) continue;
          // A pod label named like a tag of ours keeps its prefix rather than clash.
          const std::string name = k.substr(6);
          pairs.emplace_back(name == "namespace" || name == "pod" ? k : name, v);
        }
      pairs.emplace_back("namespace", pod.ns);
      pairs.emplace_back("pod", pod.name);
      Record r;
      r.tags = Tags(std::move(pairs));
      r.pool = o.pool;
      r.origin = pod.origin;
      const auto add = [&](const Held& h, const Interval* bucket) {
        Record& out = result.records.emplace_back(r);
        out.measures["gpus"] = Decimal::from_rational(h.peak, unit);
        out.measures["gpu_seconds"] = Decimal::from_rational(h.seconds, unit);
        if (bucket) out.start = bucket->start(), out.end = bucket->end();
      };
      if (!buckets) return add({gpus, gpu_seconds}, nullptr);
      for (std::size_t b = 0; b < pod_buckets.size(); ++b)
        if (pod_buckets[b].peak > 0) add(pod_buckets[b], &(*buckets)[b]);
    });
  }

  // What the nodes could hold, converted to GPUs as the requests are.
  const auto node_seconds = [&](const std::vector<const Series*>& series) {
    std::map<std::pair<std::string, std::string>, Timeline> timelines;  // (node, resource)
    for (const Series* s : series) {
      try {
        const std::string node = label(*s, "node"), resource = label(*s, "resource");
        if (!selected(node) || !requested.contains(node)) continue;
        const auto share = gpu_share(resource, node, false);
        if (!share) continue;
        Timeline& timeline = timelines[{node, resource}];
        for (const Sample* sample : prometheus::usable_samples(*s, on_error))
          hold(timeline, time_of(*sample), Point{sample->value.to_rational() * *share, node});
      } catch (const ParseError& e) {
        rows.skip(result, s->where, e.what());
      }
    }
    std::map<std::string, Rational> seconds;
    for (const auto& entry : timelines) {
      seconds.try_emplace(entry.first.first, 0);
      integrate(entry.second, json, o, seconds);
    }
    return seconds;
  };
  const std::map<std::string, Rational> capacities = node_seconds(capacity), allocatables = node_seconds(allocatable);

  const std::string at = source + ": ";
  if (const auto warning = gaps.warning(source)) result.warnings.push_back(*warning);
  for (const auto& [node, seconds] : requested) {
    const bool by_capacity = capacities.contains(node);  // else allocatable, when present
    const std::map<std::string, Rational>& limits = by_capacity ? capacities : allocatables;
    const auto limit = limits.find(node);
    if (limit == limits.end() || seconds <= limit->second) continue;
    result.warnings.push_back(
        at + "node " + node + ": pods request " + gpu_seconds_text(seconds) + " GPU-seconds, more than its " +
        (by_capacity ? "capacity" : "allocatable") + " of " + gpu_seconds_text(limit->second) + " (" +
        std::string(by_capacity ? capacity_metric : allocatable_metric) +
        "); likely finished (Succeeded or Failed) pods exported without kube_pod_status_phase, or node series "
        "covering less time than the pods'");
  }
  for (const std::string& node : shared_unknown)
    result.warnings.push_back(at + "node " + node +
                              ": time-sliced requests (nvidia_com_gpu_shared) with no replicas known for the node, "
                              "each counted as a whole GPU; give replicas, or allowlist nvidia.com/gpu.replicas in "
                              "kube-state-metrics' node labels");
  // A version-1 number still applies to every node without a label or entry of its own, and
  // kube-state-metrics exports no node labels unless allowlisted: among several nodes it may
  // divide a dedicated node's GPUs too, so the nodes it was applied to are told.
  if (!scalar_nodes.empty() && request_nodes.size() > 1) {
    const std::string n = boost::multiprecision::numerator(*o.replicas).str();
    std::string names, map, flag;
    for (const std::string& node : scalar_nodes) {
      names += (names.empty() ? "" : ", ") + node;
      map += (map.empty() ? "{\"" : ", \"") + node + "\": " + n;
      flag += (flag.empty() ? "" : ",") + node + "=" + n;
    }
    const bool one = scalar_nodes.size() == 1;
    result.warnings.push_back(at + "replicas " + n + " applied to node" + (one ? " " : "s ") + names + ", which " +
                              (one ? "has" : "have") + " no nvidia.com/gpu.replicas label or replicas entry of " +
                              (one ? "its" : "their") + " own, among GPU requests on " +
                              std::to_string(request_nodes.size()) + " nodes: on a node that is not time-sliced each GPU is "
                              "billed as 1/" + n + "; give replicas per node for the ones that are, e.g. " + map +
                              "} (on the command line " + flag + ")");
  }
  for (const auto& [node, replicas] : o.node_replicas) {
    if (!requested.contains(node)) {
      result.warnings.push_back(at + "node " + node + ": named by replicas but holds no GPU requests in the file");
      continue;
    }
    const auto label = label_replicas(node, "nvidia_com_gpu");
    if (label && *label != replicas)
      result.warnings.push_back(at + "node " + node + ": replicas " + boost::multiprecision::numerator(replicas).str() +
                                " differs from its label nvidia.com/gpu.replicas=" +
                                boost::multiprecision::numerator(*label).str() + "; " +
                                boost::multiprecision::numerator(replicas).str() + " used");
  }
  if (unphased > 0 && !phases.empty())
    result.warnings.push_back(at + std::to_string(unphased) + " of " + std::to_string(result.records.size()) +
                              " pods with GPU requests have no kube_pod_status_phase series: their requests count "
                              "for every sample, finished or not");
  return result;
}

}  // namespace

void register_kube_state_metrics(IngestRegistry& registry) {
  registry.add("kube-state-metrics", parse_kube_state_metrics);
  registry.add_stream("kube-state-metrics", parse_kube_state_metrics_stream);
  // Live: every metric the format reads (docs/ingest.md, kube-state-metrics).
  registry.add_live("kube-state-metrics", {LiveSource::Api::prometheus_range, [](ObjectReader&) -> std::optional<std::string> {
                                             return "{__name__=~\"" + std::string(requests_metric) + "|" +
                                                    std::string(labels_metric) + "|" + std::string(phase_metric) + "|" +
                                                    std::string(node_labels_metric) + "|" + std::string(capacity_metric) +
                                                    "|" + std::string(allocatable_metric) + "\"}";
                                           }});
}

}  // namespace ingest
APPORTION_END_NAMESPACE
