// The prometheus-text and prometheus-json ingest formats (one record per series) and dcgm
// (GPU-seconds per pod and GPU from the NVIDIA DCGM exporter).

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apportion/allocate.hpp"
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
      ++result.rows;
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
    max_gap = read_seconds(*v, options.path("max_gap")).to_rational();
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
      ++result.rows;
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

enum class Scale { percent, ratio };

std::string scale_text(Scale s) { return s == Scale::percent ? "a percentage (0 to 100)" : "a ratio (0 to 1)"; }

// The utilisation fields whose scale is known, so that none is guessed. dcgm-exporter's
// etc/default-counters.csv gives the DEV_*_UTIL fields "in %"; DCGM's dcgmlib/dcgm_fields.h
// defines every PROF_*_ACTIVE field and SM_OCCUPANCY as a ratio (of time, cycles or warps).
// Other fields (PROF_PCIE_TX_BYTES is bytes per second) are no utilisation.
constexpr std::pair<std::string_view, Scale> known_scales[] = {
    {"DCGM_FI_DEV_GPU_UTIL", Scale::percent},
    {"DCGM_FI_DEV_MEM_COPY_UTIL", Scale::percent},
    {"DCGM_FI_DEV_ENC_UTIL", Scale::percent},
    {"DCGM_FI_DEV_DEC_UTIL", Scale::percent},
    {"DCGM_FI_PROF_GR_ENGINE_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_SM_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_SM_OCCUPANCY", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_DRAM_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_FP64_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_FP32_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_FP16_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_IMMA_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_HMMA_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_INT_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC0_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC1_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC2_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC3_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC4_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC5_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC6_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC7_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG0_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG1_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG2_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG3_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG4_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG5_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG6_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG7_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVOFA0_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVOFA1_ACTIVE", Scale::ratio},
};

std::optional<Scale> known_scale(std::string_view metric) {
  for (const auto& [name, scale] : known_scales)
    if (name == metric) return scale;
  return std::nullopt;
}

// Slices of a whole GPU (what N counts in a MIG profile Ng.XXgb), by model: NVIDIA's MIG User
// Guide, "Supported GPUs" (Max Number of Instances); A800, H800, B300 and GB300, which it does
// not list, from the profiles NVIDIA/mig-parted's deployments/systemd/config-default.yaml
// gives them. A model matches when its modelName (the driver's name) holds all of an entry's
// words, split at spaces and dashes (dcgm-exporter's --replace-blanks-in-model-name writes
// "NVIDIA-H100-80GB-HBM3"), so H20 is not an H200.
struct MigModel {
  std::array<std::string_view, 3> words;  // unused ones empty
  int slices;
};
constexpr MigModel mig_models[] = {
    {{"A100"}, 7},  {{"A800"}, 7},  {{"A30"}, 4},   {{"H100"}, 7},  {{"H800"}, 7},
    {{"H20"}, 7},   {{"H200"}, 7},  {{"GH200"}, 7}, {{"B200"}, 7},  {{"GB200"}, 7},
    {{"B300"}, 7},  {{"GB300"}, 7}, {{"PRO", "6000", "Blackwell"}, 4},
    {{"PRO", "5000", "Blackwell"}, 2}, {{"PRO", "4500", "Blackwell"}, 2},
};

std::optional<int> known_mig_slices(std::string_view model) {
  std::vector<std::string_view> words;
  for (std::size_t i = 0; i < model.size();) {
    const std::size_t end = std::min(model.find_first_of(" -", i), model.size());
    if (end > i) words.push_back(model.substr(i, end - i));
    i = end + 1;
  }
  for (const MigModel& m : mig_models) {
    bool all = true;
    for (std::string_view w : m.words)
      if (!w.empty() && std::find(words.begin(), words.end(), w) == words.end()) all = false;
    if (all) return m.slices;
  }
  return std::nullopt;
}

struct DcgmOptions {
  std::string metric = "DCGM_FI_PROF_GR_ENGINE_ACTIVE";
  Scale scale = Scale::ratio;
  std::optional<std::string> pool;
  std::optional<Rational> interval, max_gap;
  std::optional<Rational> mig_slices;  // for a MIG model mig_models does not know
};

DcgmOptions read_dcgm_options(ObjectReader& options) {
  DcgmOptions o;
  if (const Value* v = options.optional("metric")) o.metric = read_string(*v, options.path("metric"));
  std::optional<Scale> scale;
  if (const Value* v = options.optional("scale")) {
    const std::string s = read_string(*v, options.path("scale"));
    if (s == "percent") scale = Scale::percent;
    else if (s == "ratio") scale = Scale::ratio;
    else throw SpecError(options.path("scale"), "must be \"percent\" (0 to 100) or \"ratio\" (0 to 1) (got \"" + s + "\")");
  }
  const std::optional<Scale> known = known_scale(o.metric);
  if (known && scale && *known != *scale)
    throw SpecError(options.path("scale"), o.metric + " is " + scale_text(*known) + ", not " + scale_text(*scale));
  if (!known && !scale)
    throw SpecError(options.path("metric"), "the scale of " + o.metric +
                                                " is not known: give scale \"percent\" (0 to 100) or \"ratio\" (0 to 1) "
                                                "if it is a utilisation");
  o.scale = known ? *known : *scale;
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  if (const Value* v = options.optional("interval")) o.interval = read_seconds(*v, options.path("interval")).to_rational();
  if (const Value* v = options.optional("max_gap")) o.max_gap = read_seconds(*v, options.path("max_gap")).to_rational();
  if (const Value* v = options.optional("mig_slices")) o.mig_slices = read_positive_whole(*v, options.path("mig_slices"));
  return o;
}

// The share of a physical GPU a series stands for: 1, or N / the model's slices for a MIG
// instance with profile `Ng.XXgb`.
Rational gpu_fraction(const Tags& labels, const DcgmOptions& o) {
  const auto profile = labels.get("GPU_I_PROFILE");
  if (!profile || profile->empty()) return Rational(1);
  std::size_t i = 0;
  BigInt slices = 0;
  while (i < profile->size() && (*profile)[i] >= '0' && (*profile)[i] <= '9') slices = slices * 10 + ((*profile)[i++] - '0');
  if (i == 0 || i + 1 >= profile->size() || (*profile)[i] != 'g' || (*profile)[i + 1] != '.' || slices == 0)
    throw ParseError("unknown MIG profile \"" + std::string(*profile) + "\" (expected Ng.XXgb)");
  const std::string model(labels.get("modelName").value_or(""));
  const std::optional<int> known = known_mig_slices(model);
  if (!known && !o.mig_slices)
    throw ParseError("MIG slices of GPU model \"" + model + "\" are not known: give mig_slices, the slices in a whole GPU");
  const Rational total = known ? Rational(*known) : *o.mig_slices;
  if (Rational(slices) > total)
    throw ParseError("MIG profile \"" + std::string(*profile) + "\" has more slices than a " + model + " (" +
                     boost::multiprecision::numerator(total).str() + ")");
  return Rational(slices) / total;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// What to do about MIG instances without a series of `metric`.
std::string mig_hint(const std::string& metric) {
  if (metric == "DCGM_FI_PROF_GR_ENGINE_ACTIVE")
    return "check that dcgm-exporter collects DCGM_FI_PROF_GR_ENGINE_ACTIVE (a profiling metric) for every instance";
  return "set metric to DCGM_FI_PROF_GR_ENGINE_ACTIVE, which dcgm-exporter writes for MIG instances";
}

struct DcgmRecord {
  Tags tags;
  std::string origin;
  std::string card;  // the physical GPU (UUID): its records are rounded together
  bool allocated = false;
  Rational fraction;  // of the physical GPU
  Rational utilization_sum = 0;
  std::size_t samples = 0;
  // Ticks (nanoseconds, or intervals of a scrape) held, by how many records held them together.
  std::map<std::size_t, int128> ticks_by_sharers;
};

// A stretch of ticks [start, end) a series holds its GPU (or MIG instance) for.
struct Run {
  std::int64_t start, end;
  std::size_t record;
};

// Splits the ticks of one GPU or MIG instance among the records whose runs hold them: each
// stretch evenly among the allocated records holding it, or, when none does, among the idle
// ones; a stretch nobody holds is not observed and goes to nobody.
void share_ticks(const std::vector<Run>& runs, std::vector<DcgmRecord>& records) {
  struct Event {
    std::int64_t at;
    std::size_t record;
    int delta;
  };
  std::vector<Event> events;
  events.reserve(2 * runs.size());
  for (const Run& r : runs) {
    events.push_back({r.start, r.record, 1});
    events.push_back({r.end, r.record, -1});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
  std::map<std::size_t, int> holding;  // record -> its runs holding the GPU now
  std::vector<std::size_t> holders;
  for (std::size_t e = 0; e < events.size();) {
    const std::int64_t at = events[e].at;
    for (; e < events.size() && events[e].at == at; ++e)
      if ((holding[events[e].record] += events[e].delta) == 0) holding.erase(events[e].record);
    if (e == events.size() || holding.empty()) continue;
    bool allocated = false;
    for (const auto& [r, n] : holding) allocated = allocated || records[r].allocated;
    holders.clear();
    for (const auto& [r, n] : holding)
      if (records[r].allocated == allocated) holders.push_back(r);
    for (std::size_t r : holders) records[r].ticks_by_sharers[holders.size()] += events[e].at - at;
  }
}

IngestResult parse_dcgm(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const DcgmOptions o = read_dcgm_options(options);
  options.finish();  // a misspelt option is reported before any row is read
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && text[first] == '{';
  if (json && !o.max_gap)
    throw SpecError(options.path("max_gap"), "is required for a range query (seconds between samples beyond which a gap counts as no data)");
  if (json && o.interval) throw SpecError(options.path("interval"), "applies only to a text scrape");
  if (!json && !o.interval) throw SpecError(options.path("interval"), "is required for a text scrape (seconds each sample stands for)");
  if (!json && o.max_gap) throw SpecError(options.path("max_gap"), "applies only to a range query");

  IngestResult result;
  const Exposition exposition =
      json ? prometheus::parse_api_json(text, source, handler(rows, result)) : prometheus::parse_text(text, source, handler(rows, result));
  if (json && exposition.result_type != "matrix")
    throw SpecError(source, "dcgm needs a range query (resultType matrix) or a text scrape, got \"" + exposition.result_type + "\"");

  // The series of the metric, and the MIG instances every series of the file shows (any
  // field, such as DCGM_FI_DEV_FB_USED), to find a MIG card the metric leaves out.
  struct Chosen {
    const Series* series;
    std::string uuid;  // "" when the series has none (an error, once it is read)
    std::string instance;
    bool skip = false;
  };
  struct MigCard {
    std::string model;
    std::vector<std::pair<std::string, std::string>> instances;  // (GPU_I_ID, where first seen), in file order
  };
  std::vector<Chosen> chosen;
  std::map<std::string, MigCard> mig_cards;   // UUID -> the instances the file shows
  std::set<std::string> utilisation_metrics;  // other metrics with a known scale
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      ++result.rows;
      const std::string uuid = first_label(s.labels, {"UUID", "uuid"}).value_or("");
      const std::string instance(s.labels.get("GPU_I_ID").value_or(""));
      if (!uuid.empty() && !instance.empty()) {
        MigCard& card = mig_cards[uuid];
        card.model = s.labels.get("modelName").value_or("");
        if (std::none_of(card.instances.begin(), card.instances.end(), [&](const auto& i) { return i.first == instance; }))
          card.instances.emplace_back(instance, s.where);
      }
      if (s.name == o.metric || (json && s.name.empty())) chosen.push_back({&s, uuid, instance});
      else if (known_scale(s.name)) utilisation_metrics.insert(s.name);
    }
  if (chosen.empty() && result.rows > 0) {
    const std::vector<std::string> others(utilisation_metrics.begin(), utilisation_metrics.end());
    throw SpecError(source, "no " + o.metric + " series" +
                                (others.empty() ? std::string(", nor any other DCGM utilisation metric")
                                                : "; the file has " + joined(others) + ": set metric to the one to read"));
  }

  // A MIG card must be read through its instances, all of them: a series of the card without
  // GPU_I_ID would count it whole beside them, and an instance without a series would go
  // unseen, its time idle.
  std::map<std::string, std::set<std::string>> chosen_instances;  // UUID -> instances of the metric
  for (const Chosen& c : chosen)
    if (!c.uuid.empty() && !c.instance.empty()) chosen_instances[c.uuid].insert(c.instance);
  for (Chosen& c : chosen) {
    const auto card = mig_cards.find(c.uuid);
    if (c.uuid.empty() || !c.instance.empty() || card == mig_cards.end()) continue;
    c.skip = true;
    rows.skip(result, c.series->where,
              "GPU " + c.uuid + " is in MIG mode (instance " + card->second.instances[0].first + " at " +
                  card->second.instances[0].second + ") but this " + o.metric +
                  " series has no GPU_I_ID: it would count the whole GPU beside its instances");
  }
  for (const auto& [uuid, card] : mig_cards) {
    std::vector<std::string> missing;
    std::string where;
    for (const auto& [instance, at] : card.instances)
      if (!chosen_instances[uuid].contains(instance)) {
        if (missing.empty()) where = at;
        missing.push_back(instance);
      }
    if (missing.empty()) continue;
    const bool many = missing.size() > 1;
    rows.skip(result, where,
              "GPU " + uuid + " (" + card.model + "): MIG instance" + (many ? "s " : " ") + joined(missing) +
                  (many ? " have" : " has") + " no " + o.metric + " series, so " + (many ? "their" : "its") +
                  " time would go unseen; " + mig_hint(o.metric));
  }

  const int scale = o.scale == Scale::percent ? 100 : 1;
  std::vector<DcgmRecord> records;
  std::map<Tags, std::size_t> index;
  std::map<std::string, std::vector<Run>> slices;  // UUID/instance -> the runs holding it
  for (const Chosen& c : chosen) {
    if (c.skip) continue;
    const Series& s = *c.series;
    rows.row(result, s.where, [&] {
      if (c.uuid.empty()) throw ParseError("series has no UUID label");
      const Rational fraction = gpu_fraction(s.labels, o);
      const std::string pod = first_label(s.labels, {"exported_pod", "pod", "pod_name"}).value_or("");
      const std::string ns = first_label(s.labels, {"exported_namespace", "namespace", "pod_namespace"}).value_or("");
      const std::string container = first_label(s.labels, {"exported_container", "container", "container_name"}).value_or("");
      std::vector<Tags::Pair> pairs;
      pairs.reserve(8);
      pairs.emplace_back("gpu", c.uuid);
      if (!c.instance.empty()) {
        pairs.emplace_back("mig_instance", c.instance);
        pairs.emplace_back("mig_profile", std::string(s.labels.get("GPU_I_PROFILE").value_or("")));
      }
      if (const auto host = first_label(s.labels, {"Hostname", "hostname"})) pairs.emplace_back("node", *host);
      if (const auto model = s.labels.get("modelName")) pairs.emplace_back("gpu_model", std::string(*model));
      if (!pod.empty()) {
        if (!ns.empty()) pairs.emplace_back("namespace", ns);
        pairs.emplace_back("pod", pod);
        if (!container.empty()) pairs.emplace_back("container", container);
      }
      std::vector<const Sample*> samples;
      for (std::size_t i = 0; i < s.samples.size(); ++i) {
        std::string problem = s.samples[i].problem();
        if (problem.empty() && s.samples[i].value > Decimal(scale))
          problem = o.metric + " " + s.samples[i].value.to_string() + " is above " + std::to_string(scale) + " (" +
                    (o.scale == Scale::percent ? "a percentage" : "a ratio") + ")";
        if (problem.empty()) samples.push_back(&s.samples[i]);
        else rows.skip(result, prometheus::sample_where(s, i), problem);
      }
      if (samples.empty()) return;
      Tags tags(std::move(pairs));
      const auto [it, added] = index.try_emplace(tags, records.size());
      if (added) {
        DcgmRecord r;
        r.tags = std::move(tags);
        r.origin = s.where;
        r.card = c.uuid;
        r.allocated = !pod.empty();
        r.fraction = fraction;
        records.push_back(std::move(r));
      }
      const std::size_t record = it->second;
      for (const Sample* p : samples) records[record].utilization_sum += p->value.to_rational();
      records[record].samples += samples.size();
      std::vector<Run>& runs = slices[c.uuid + "/" + c.instance];
      if (!json) {
        runs.push_back({0, 1, record});  // a scrape: every series at one time, for `interval`
        return;
      }
      // A sample holds its GPU until the next one, if within max_gap (held_seconds); the
      // last holds nothing, closing the range. Consecutive holds make one run.
      for (std::size_t i = 0; i + 1 < samples.size(); ++i) {
        if (prometheus::held_seconds(samples, i, *o.max_gap) == 0) continue;
        const std::int64_t start = samples[i]->timestamp->unix_nanos(), end = samples[i + 1]->timestamp->unix_nanos();
        if (!runs.empty() && runs.back().record == record && runs.back().end == start) runs.back().end = end;
        else runs.push_back({start, end, record});
      }
    });
  }
  for (const auto& slice : slices) share_ticks(slice.second, records);

  // Each record's exact seconds on its GPU; a GPU's records are rounded together, by the one
  // largest-remainder rule, so they sum exactly to the GPU's observed seconds, rounded once.
  const Decimal unit = Decimal::from_raw(1);
  const Rational tick = json ? Rational(1, 1'000'000'000) : *o.interval;
  std::map<std::string, std::vector<std::size_t>> cards;  // UUID -> its records
  std::vector<Rational> exact(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    for (const auto& [sharers, ticks] : records[i].ticks_by_sharers)
      exact[i] += Rational(BigInt(ticks), BigInt(sharers));
    exact[i] *= records[i].fraction * tick;
    cards[records[i].card].push_back(i);
  }
  std::vector<Decimal> seconds(records.size());
  for (const auto& card : cards) {
    const std::vector<std::size_t>& members = card.second;
    std::vector<Rational> parts;
    Rational total = 0;
    for (std::size_t i : members) {
      parts.push_back(exact[i]);
      total += exact[i];
    }
    if (total == 0) continue;
    const std::vector<Decimal> split =
        allocate_by_weights(Decimal::from_rational(total, unit), parts, unit,
                            [&](std::size_t a, std::size_t b) { return records[members[a]].tags < records[members[b]].tags; });
    for (std::size_t k = 0; k < members.size(); ++k) seconds[members[k]] = split[k];
  }
  for (std::size_t i = 0; i < records.size(); ++i) {
    DcgmRecord& d = records[i];
    Record r;
    r.tags = std::move(d.tags);
    r.pool = o.pool;
    r.origin = std::move(d.origin);
    r.measures[d.allocated ? "gpu_seconds" : "idle_gpu_seconds"] = seconds[i];
    r.measures["utilization"] =
        Decimal::from_rational(d.utilization_sum / (scale * static_cast<long long>(d.samples)), unit);
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
